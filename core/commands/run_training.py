"""The body shared by ``finetune-encoder`` and ``train``: resolve the data, train each class."""

from __future__ import annotations

import argparse
import signal
import threading

from core.commands.training_args import TrainingBar, config_from_args, log, preprocess_config_from_args
from core.progress import TextProgress
from core.train.datasource import resolve_cache
from core.train.distributed import init_from_env, is_main_process, shutdown
from core.train.stages import train_class


def run_training(args: argparse.Namespace, model: str) -> int:
    cfg = config_from_args(args, model)
    device = init_from_env(cfg.device)
    stop = threading.Event()
    # Ctrl+C: stop at the end of the current iteration and save a checkpoint (--resume continues)
    old = signal.signal(signal.SIGINT, lambda *_: (log("\nstopping after this iteration..."), stop.set()))
    try:
        main = is_main_process()
        bar = None if (args.quiet or not main) else TextProgress("preprocess")
        cache = resolve_cache(args.data, args.classes, preprocess_config_from_args(args),
                              progress=bar, log=log if main else None)
        if bar:
            bar.close()
        failed = []
        for cls in args.classes:
            run_dir = args.out / cls
            tbar = TrainingBar(f"{model} {cls}", args.quiet or not main)
            try:
                out = train_class(cache, cls, cfg, run_dir, resume=args.resume, progress=tbar,
                                  cancel=stop.is_set, log=log if main else (lambda m: None), device=device)
            finally:
                tbar.close()
            if main:
                log(f"{cls}: {out.status} after {out.iterations} iterations -> {out.run_dir}")
            if out.status != "finished":
                failed.append(cls)
            if stop.is_set():
                break
        return 0 if not failed and not stop.is_set() else 3
    finally:
        signal.signal(signal.SIGINT, old)
        shutdown()

"""Table 2 on the default demo data set, on the CPU, with the tiny random-init encoder.

Renders the default demo set (``make-demo``: default counts, seed 0, 1024x1024), preprocesses it
into an h5 cache, then per class (LC, SC, OD):

1. multi-task fine-tuning of the tiny encoder (reconstruction + patch classification on the
   train dents),
2. Dinomaly with the frozen (random) encoder, and Dinomaly with the fine-tuned encoder,
3. the seven metrics of both on the test split,

and prints them in the paper's Table 2 layout (rows LC, SC, OD, mean; one block per encoder),
with the settings and the wall time, and writes them as JSON. Sized to finish well within 30 minutes
on an idle 2-core CPU (rendering and preprocessing included; load from other work slows it)::

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/demo_quality.py --json demo_quality.json

``--dent-size 0.02,0.05 --dent-contrast 0.3,0.6`` (with another ``--work``) renders the same set
with clearer dents, to see what the pipeline does when the dents are plainly visible.

The encoder has RANDOM weights: the figures show that the pipeline learns, not how well a
pre-trained encoder inspects real bearings.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.commands.evaluate import KEYS, format_table, mean_row  # noqa: E402
from core.config import from_dict, to_dict  # noqa: E402
from core.io.atomic import atomic_write_json  # noqa: E402
from core.train.stages import TrainConfig, evaluate_run, train_class  # noqa: E402

CLASSES = ("LC", "SC", "OD")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--work", type=Path, default=Path("/tmp/bearing_demo_quality"),
                   help="folder for the demo data, cache and runs (default /tmp/bearing_demo_quality)")
    p.add_argument("--json", type=Path, help="write the tables and settings as JSON here "
                   "(default WORK/demo_quality.json)")
    p.add_argument("--reuse", action="store_true",
                   help="reuse WORK/demo and WORK/cache_<size>.h5 when present, whatever dents they were "
                        "rendered with (runs are always redone)")
    p.add_argument("--classes", default=",".join(CLASSES), help="comma-separated classes (default all)")
    p.add_argument("--cache-size", type=int, default=336, help="side of the cached ROI inputs (px)")
    p.add_argument("--image-size", type=int, default=336, help="model input side (px, multiple of 14)")
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--iters", type=int, default=300, help="Dinomaly iterations per class and encoder")
    p.add_argument("--warmup", type=int, default=37, help="Dinomaly warm-up iterations")
    p.add_argument("--epochs", type=int, default=40, help="fine-tuning epochs")
    p.add_argument("--reconstruction-epochs", type=int, default=16,
                   help="fine-tuning epochs of reconstruction only at the start")
    p.add_argument("--alternate-every", type=int, default=4)
    p.add_argument("--ft-lr", type=float, default=1e-3, help="fine-tuning peak learning rate")
    p.add_argument("--patch-rule", choices=("fraction", "any", "centre"), default="any",
                   help="how dent masks become patch labels")
    p.add_argument("--patch-threshold", type=float, default=0.1)
    p.add_argument("--patch-class-balance", action=argparse.BooleanOptionalAction, default=True,
                   help="class-balanced patch cross entropy in fine-tuning (dent patches are <1%% of a "
                        "batch; default on here, off in the paper's defaults)")
    p.add_argument("--dent-size", default="", metavar="LO,HI",
                   help="render the demo with this dent size range instead of the presets (a check "
                        "with clearer dents; the aim is about the presets)")
    p.add_argument("--dent-contrast", default="", metavar="LO,HI", help="likewise for the dent contrast")
    p.add_argument("--top-fraction", type=float, default=0.001,
                   help="Dinomaly image score: mean of this top share of map pixels")
    p.add_argument("--blur-sigma", type=float, default=4.0, help="Dinomaly anomaly-map blur (px)")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def prepare_data(args: argparse.Namespace, log) -> Path:
    """Render the default demo set and preprocess it (reused with --reuse)."""
    from core.cli import main as cli_main
    from core.synth.dataset import render_demo

    demo = args.work / "demo"
    cache = args.work / f"cache_{args.cache_size}.h5"
    if not (args.reuse and (demo / "geometry.json").is_file()):
        from core.commands.make_demo import dent_params, parse_range

        as_range = lambda text: parse_range(text) if text else None  # noqa: E731
        dents = dent_params(as_range(args.dent_size), as_range(args.dent_contrast))
        t = time.perf_counter()
        render_demo(demo, seed=0, size=(1024, 1024), counts="default", overwrite=True, dents=dents)
        log(f"rendered the demo set ({'preset' if dents is None else 'overridden'} dents) in "
            f"{time.perf_counter() - t:.0f} s -> {demo}")
    if not (args.reuse and cache.is_file()):
        t = time.perf_counter()
        rc = cli_main(["preprocess", str(demo), "--out", str(cache), "--size", str(args.cache_size), "--quiet"])
        if rc != 0:
            raise SystemExit(f"preprocessing failed ({rc})")
        log(f"preprocessed in {time.perf_counter() - t:.0f} s -> {cache}")
    return cache


def train_config(args: argparse.Namespace, model: str, encoder_run: str = "") -> TrainConfig:
    cfg = from_dict(TrainConfig, {
        "model": model, "encoder": {"backbone": "tiny", "weights": "random"}, "encoder_run": encoder_run,
        "batch_size": args.batch_size, "epochs": args.epochs, "seed": args.seed, "device": "cpu",
        "checkpoint_every": 0,
        "optim": {"total_iters": args.iters, "warmup_iters": args.warmup},
        "dinomaly": {"image_size": args.image_size, "top_fraction": args.top_fraction,
                     "blur_sigma": args.blur_sigma},
        "finetune": {"image_size": args.image_size, "reconstruction_epochs": args.reconstruction_epochs,
                     "alternate_every": args.alternate_every,
                     "patch_labels": {"rule": args.patch_rule, "threshold": args.patch_threshold},
                     "patch_class_balance": args.patch_class_balance},
    })
    return replace(cfg, finetune_optim=replace(cfg.finetune_optim, lr=args.ft_lr, final_lr=args.ft_lr / 10))


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    args.work.mkdir(parents=True, exist_ok=True)
    log = lambda m: print(f"[{time.perf_counter() - t0:6.0f} s] {m}", flush=True)  # noqa: E731
    classes = [c.strip().upper() for c in args.classes.split(",") if c.strip()]
    load = os.getloadavg()
    cache = prepare_data(args, log)
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    log("settings: " + json.dumps(settings))

    tables: dict[str, dict[str, dict]] = {"frozen": {}, "fine-tuned": {}}
    timings: dict[str, dict[str, float]] = {}
    runs = args.work / "runs"
    shutil.rmtree(runs, ignore_errors=True)          # runs are always redone (help of --reuse)
    quiet = lambda m: None  # noqa: E731
    for cls in classes:
        timings[cls] = {}
        t = time.perf_counter()
        ft = train_class(cache, cls, train_config(args, "finetune"), runs / "finetune" / cls, log=quiet)
        timings[cls]["finetune_s"] = time.perf_counter() - t
        log(f"{cls}: fine-tuned the encoder ({ft.iterations} iterations) in {timings[cls]['finetune_s']:.0f} s")
        for variant, enc in (("frozen", ""), ("fine-tuned", str(ft.run_dir))):
            folder = runs / f"dinomaly_{variant}" / cls
            t = time.perf_counter()
            train_class(cache, cls, train_config(args, "dinomaly", enc), folder, log=quiet)
            res = evaluate_run(folder, cache, split="test", device="cpu")
            timings[cls][f"dinomaly_{variant}_s"] = time.perf_counter() - t
            tables[variant][cls] = res["metrics"]
            log(f"{cls}: Dinomaly, {variant} encoder: I-AUROC {res['metrics']['I-AUROC']:.4f} "
                f"P-AUROC {res['metrics']['P-AUROC']:.4f} ({timings[cls][f'dinomaly_{variant}_s']:.0f} s)")

    wall = time.perf_counter() - t0
    which = "the default demo set" if not (args.dent_size or args.dent_contrast) else \
        f"the demo set with dents {args.dent_size or 'preset'} (size) / {args.dent_contrast or 'preset'} (contrast)"
    print(f"\nTable 2 layout: Dinomaly on {which} (test split), tiny RANDOM-init encoder, CPU")
    for variant in ("frozen", "fine-tuned"):
        tables[variant]["mean"] = mean_row(tables[variant])
        print(f"\nDinomaly, {variant} encoder")
        print(format_table(tables[variant]))
    print(f"\nwall time {wall / 60:.1f} min (rendering and preprocessing included); load average at start "
          f"{load[0]:.2f} (1 min), at end {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs")
    out = args.json or args.work / "demo_quality.json"
    atomic_write_json(out, {"settings": settings, "metrics": tables, "keys": list(KEYS),
                            "timings_s": timings, "wall_s": wall, "random_weights": True,
                            "finetune_config": to_dict(train_config(args, "finetune"))})
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

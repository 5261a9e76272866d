"""Options shared by the training commands (finetune-encoder, train) and how they become a TrainConfig."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from core.config import load_json
from core.errors import BearingError
from core.io.dataset import CLASSES
from core.models import BACKBONES, EncoderConfig
from core.preprocess.pipeline import PreprocessConfig
from core.progress import TextProgress
from core.train.engine import ProgressEvent
from core.train.stages import TrainConfig


def parse_classes(text: str) -> tuple[str, ...]:
    out = tuple(c.strip().upper() for c in text.split(",") if c.strip())
    bad = [c for c in out if c not in CLASSES]
    if bad or not out:
        raise argparse.ArgumentTypeError(f"classes must be a comma list of {', '.join(CLASSES)}, not {text!r}")
    return out


def add_training_arguments(p: argparse.ArgumentParser, finetune: bool) -> None:
    p.add_argument("data", type=Path, metavar="DATA",
                   help="data set root (preprocessed on the fly and cached) or an h5 cache from 'preprocess'")
    p.add_argument("--out", type=Path, required=True, metavar="RUN_DIR",
                   help="run folder to create (one sub-folder per class)")
    p.add_argument("--classes", type=parse_classes, default=CLASSES, metavar="LC,SC,OD",
                   help="classes to train, one model each (default: all three)")
    p.add_argument("--backbone", default=None, metavar="NAME",
                   help=f"encoder: {', '.join(BACKBONES)} (default {EncoderConfig().backbone})")
    p.add_argument("--weights", default=None, metavar="FILE|random|pretrained",
                   help="encoder weights: a local .safetensors/.pth file, 'random' (tests/demos only), "
                        "or 'pretrained' (timm's cache; default)")
    if finetune:
        p.add_argument("--epochs", type=int, default=None, metavar="N",
                       help=f"fine-tuning epochs (default {TrainConfig().epochs})")
    else:
        p.add_argument("--iters", type=int, default=None, metavar="N",
                       help=f"training iterations (default {TrainConfig().optim.total_iters})")
    p.add_argument("--image-size", type=int, default=None, metavar="N",
                   help="model input side in px (default 448 Dinomaly / fine-tuning, 256 ViTAD)")
    p.add_argument("--batch-size", type=int, default=None, metavar="N", help="batch size (default 16)")
    p.add_argument("--lr", type=float, default=None, help="peak learning rate")
    p.add_argument("--device", default=None, help="auto (default), cpu, cuda or cuda:K")
    p.add_argument("--seed", type=int, default=None, help="random seed (default 0)")
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted or cancelled run in RUN_DIR from its last checkpoint "
                        "(with the settings saved in the run)")
    p.add_argument("--config", type=Path, metavar="FILE",
                   help="a TrainConfig JSON to start from (the options above override it)")
    p.add_argument("--preprocess-config", type=Path, metavar="FILE",
                   help="preprocessing config JSON used when DATA is a data set root")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def config_from_args(args: argparse.Namespace, model: str) -> TrainConfig:
    cfg = load_json(TrainConfig, args.config) if args.config else TrainConfig()
    cfg = replace(cfg, model=model)
    enc = cfg.encoder
    if args.backbone:
        enc = replace(enc, backbone=args.backbone)
    if args.weights:
        enc = replace(enc, weights=args.weights)
    if enc.backbone == "tiny" and enc.weights == "pretrained":
        enc = replace(enc, weights="random")
    if enc.backbone not in BACKBONES:
        raise BearingError(f"unknown backbone {enc.backbone!r}; choose one of {', '.join(BACKBONES)}")
    cfg = replace(cfg, encoder=enc)
    for name in ("batch_size", "seed", "device", "epochs"):
        v = getattr(args, name.replace("-", "_"), None)
        if v is not None:
            cfg = replace(cfg, **{name: v})
    if getattr(args, "iters", None) is not None:
        cfg = replace(cfg, optim=replace(cfg.optim, total_iters=args.iters,
                                         warmup_iters=min(cfg.optim.warmup_iters, max(args.iters // 10, 1))))
    if args.lr is not None:
        key = "finetune_optim" if model == "finetune" else "optim"
        cfg = replace(cfg, **{key: replace(getattr(cfg, key), lr=args.lr)})
    if args.image_size is not None:
        cfg = replace(cfg, **{model: replace(cfg.model_config(), image_size=args.image_size)})
    if getattr(args, "encoder", None):
        cfg = replace(cfg, encoder_run=str(args.encoder))
    return cfg


def preprocess_config_from_args(args: argparse.Namespace) -> PreprocessConfig | None:
    return load_json(PreprocessConfig, args.preprocess_config) if args.preprocess_config else None


class TrainingBar:
    """The CLI's progress bar for training events (loss, lr, ETA on one line)."""

    def __init__(self, label: str, quiet: bool) -> None:
        self.bar = None if quiet else TextProgress(label)

    def __call__(self, ev: ProgressEvent) -> None:
        if self.bar is None:
            return
        losses = " ".join(f"{k} {v:.4g}" for k, v in ev.losses.items() if k != "hard_mining_p")
        eta = f"eta {int(ev.eta_s // 60)}:{int(ev.eta_s % 60):02d}" if ev.eta_s == ev.eta_s else ""
        phase = f"[{ev.phase}] " if ev.phase else ""
        self.bar(ev.iteration, ev.total, f"{phase}{losses} lr {ev.lr:.2e} {eta}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)

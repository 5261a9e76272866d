"""``bearing-inspect train``: train a Dinomaly or ViTAD detector per class."""

from __future__ import annotations

import argparse
from pathlib import Path

from core.commands.run_training import run_training
from core.commands.training_args import add_training_arguments

NAME = "train"
HELP = "train a Dinomaly or ViTAD detector per class (pre-trained or fine-tuned encoder)"
DESCRIPTION = """\
Train an anomaly detector on the good training samples of each class: Dinomaly (448 px) or
ViTAD (256 px; 252 with a patch-14 encoder), StableAdamW 2e-3 -> 2e-4 with 100 warm-up iterations,
1,750 iterations, batch 16, rotation +-15 deg for LC/SC (the paper's settings). --encoder RUN_DIR
uses the encoder fine-tuned by 'finetune-encoder' instead of the pre-trained one."""
EPILOG = """\
examples:
  bearing-inspect train demo_data --model dinomaly --out runs/dino --weights dinov2_vits14_reg4_pretrain.pth
  bearing-inspect train demo_data --model dinomaly --out runs/dino-ft --encoder runs/ft
  bearing-inspect train cache.h5 --model vitad --out runs/vitad --backbone tiny --iters 200 --device cpu
  torchrun --nproc_per_node=4 -m core.cli train data --model dinomaly --out runs/dino   (4 GPUs)
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", choices=("dinomaly", "vitad"), default="dinomaly",
                   help="detector to train (default dinomaly)")
    p.add_argument("--encoder", type=Path, default=None, metavar="RUN_DIR",
                   help="a finetune-encoder run folder (or encoder.safetensors) to use as the encoder")
    add_training_arguments(p, finetune=False)


def run(args: argparse.Namespace) -> int:
    return run_training(args, args.model)

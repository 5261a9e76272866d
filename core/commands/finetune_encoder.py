"""``bearing-inspect finetune-encoder``: multi-task fine-tuning of the ViT encoder."""

from __future__ import annotations

import argparse

from core.commands.run_training import run_training
from core.commands.training_args import add_training_arguments

NAME = "finetune-encoder"
HELP = "fine-tune the encoder (reconstruction + patch classification), one per class"
DESCRIPTION = """\
Multi-task fine-tuning of the pre-trained ViT encoder (the paper's method): 20 epochs of
reconstruction on the good training samples, then reconstruction and patch classification (on the
training dents and their masks) alternate every 5 epochs. Writes RUN_DIR/<CLASS>/encoder.safetensors,
which 'train --encoder RUN_DIR' uses in place of the pre-trained encoder."""
EPILOG = """\
examples:
  bearing-inspect finetune-encoder demo_data --out runs/ft --weights dinov2_vits14_reg4_pretrain.pth
  bearing-inspect finetune-encoder cache.h5 --out runs/ft-tiny --backbone tiny --epochs 30 --device cpu
  torchrun --nproc_per_node=4 -m core.cli finetune-encoder data --out runs/ft   (4 GPUs)
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_training_arguments(p, finetune=True)


def run(args: argparse.Namespace) -> int:
    return run_training(args, "finetune")

"""``bearing-inspect evaluate``: the paper's seven metrics for a trained run, per class and mean."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from core.commands.training_args import log
from core.errors import BearingError
from core.io.atomic import atomic_write_json
from core.progress import TextProgress
from core.train.datasource import resolve_cache
from core.train.runs import RUN_FILE, Run
from core.train.stages import evaluate_run

NAME = "evaluate"
HELP = "compute I-/P-AUROC, AP, F1-max and P-AUPRO of a trained run (Table 2 layout)"
DESCRIPTION = """\
Score every sample of the chosen split with the run's detector(s) and print the paper's Table 2
layout: one row per class and the mean. Also stores RUN/<CLASS>/metrics.json with the F1-optimal
image threshold that 'inspect' uses for OK/NG."""
EPILOG = """\
examples:
  bearing-inspect evaluate runs/dino demo_data
  bearing-inspect evaluate runs/dino cache.h5 --json metrics.json
"""
KEYS = ("I-AUROC", "I-AP", "I-F1", "P-AUROC", "P-AP", "P-F1", "P-AUPRO")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", type=Path, metavar="RUN_DIR", help="a run folder from 'train' (all classes or one)")
    p.add_argument("data", type=Path, metavar="DATA", help="data set root or h5 cache")
    p.add_argument("--split", default="test", help="split to evaluate (default test)")
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the table as JSON")
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda or cuda:K")
    p.add_argument("--batch-size", type=int, default=8, help="images per forward pass (default 8)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def class_runs(folder: Path) -> dict[str, Run]:
    """The per-class runs of a run folder (the folder itself if it is one class's run)."""
    if (folder / RUN_FILE).exists():
        run = Run(folder)
        return {run.load_record().cls: run}
    runs = {}
    for sub in sorted(folder.iterdir()) if folder.is_dir() else []:
        if (sub / RUN_FILE).exists():
            runs[Run(sub).load_record().cls] = Run(sub)
    if not runs:
        raise BearingError(f"{folder}: no trained run here (expected run.json, or class folders with one)")
    return runs


def format_table(table: dict[str, dict[str, float]]) -> str:
    head = f"{'class':<6}" + "".join(f"{k:>9}" for k in KEYS)
    lines = [head, "-" * len(head)]
    for row, vals in table.items():
        cells = "".join(f"{vals.get(k, float('nan')):>9.4f}" for k in KEYS)
        lines.append(f"{row:<6}{cells}")
    return "\n".join(lines)


def mean_row(table: dict[str, dict[str, float]]) -> dict[str, float]:
    out = {}
    for k in KEYS:
        vals = [v[k] for v in table.values() if k in v and not math.isnan(v[k])]
        out[k] = sum(vals) / len(vals) if vals else float("nan")
    return out


def run(args: argparse.Namespace) -> int:
    runs = class_runs(args.run)
    cache = resolve_cache(args.data, list(runs), log=log)
    table: dict[str, dict[str, float]] = {}
    warn = False
    for cls, r in runs.items():
        bar = None if args.quiet else TextProgress(f"evaluate {cls}")
        try:
            res = evaluate_run(r.folder, cache, split=args.split, device=args.device,
                               batch_size=args.batch_size, progress=bar)
        finally:
            if bar:
                bar.close()
        table[cls] = res["metrics"]
        warn = warn or res["random_weights"]
    table["mean"] = mean_row(table)
    print(format_table(table))
    if warn:
        print("note: an encoder with RANDOM weights was used; these numbers say nothing about real inspection")
    if args.json:
        atomic_write_json(args.json, table)
    return 0

"""``bearing-inspect inspect``: score every sample of a folder with a trained run, streaming.

Output folder::

    DIR/results.csv     sample, class, score, decision, threshold, reason; one row per sample
                        found, sorted by sample (natural order); decision OK | NG | unreadable |
                        ROI-failed | no-model
    DIR/overlays/<sample>.png   heat map over level 0 for every scored sample (not with --no-overlays)
    DIR/summary.json    counts, run, thresholds, skipped files and why, status

Streaming: one sample's images and map are in memory at a time. Each process appends its rows to
``DIR/.results.rankR.csv.part`` as it goes (flushed per row); at the end rank 0 merges the sorted
parts (a k-way merge, also streaming) into ``results.csv`` through an atomic rename and removes
the parts, so a reader never sees a half-written results.csv. Ctrl+C stops after the current
sample and still writes results.csv and summary.json (status "interrupted") for what was done.
Under ``torchrun --nproc_per_node=N`` rank R takes the samples [R::N] of the sorted list.
"""

from __future__ import annotations

import argparse
import csv
import heapq
import re
import sys
from contextlib import ExitStack
from pathlib import Path

from core.errors import BearingError
from core.inference import Inspector, class_run_folders
from core.inference.batch import COLUMNS, DECISIONS, batch_summary, inspect_sample  # noqa: F401 (re-export)
from core.io.atomic import atomic_path, atomic_write_json
from core.io.dataset import CLASSES, LayoutParams, scan_folder
from core.io.images import quiet_opencv
from core.progress import TextProgress

NAME = "inspect"
HELP = "score every sample in a folder with a trained run: results.csv, overlay PNGs, summary.json"
DESCRIPTION = """\
Find every sample below FOLDER (any depth; file names <sample>_<level>.<ext> or --pattern), run
the class's preprocessing and detector from RUN, and decide OK / NG with the run's threshold
(metrics.json from 'evaluate') or --threshold. The class is --class, or a folder named LC, SC or
OD on the sample's path. Unreadable files and samples without an ROI get their own rows; memory
stays flat however large the folder is. Runs on several processes with torchrun."""
EPILOG = """\
examples:
  bearing-inspect inspect incoming/ --run runs/dino --out inspected/
  bearing-inspect inspect lot7/ --run runs/dino --class SC --threshold 0.42 --out lot7_out --no-overlays
  torchrun --nproc_per_node=4 -m core.cli inspect big/ --run-dir runs/dino --out big_out
"""
RESULTS_FILE = "results.csv"
SUMMARY_FILE = "summary.json"
OVERLAY_DIR = "overlays"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("folder", type=Path, metavar="FOLDER", help="folder of images (any depth)")
    p.add_argument("--run", "--run-dir", dest="run", type=Path, required=True, metavar="RUN",
                   help="a detector run folder from 'train' (all classes or one class); under torchrun "
                        "write --run-dir (torchrun reads --run as its own --run-path)")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    p.add_argument("--class", dest="cls", choices=CLASSES,
                   help="class of every sample (default: a folder named LC, SC or OD on the path)")
    p.add_argument("--threshold", type=float, metavar="T",
                   help="NG when score >= T (default: the run's threshold from 'evaluate')")
    p.add_argument("--pattern", metavar="REGEX",
                   help=f"file-name pattern with groups 'sample' and 'level' (default {LayoutParams.pattern!r})")
    p.add_argument("--no-overlays", action="store_true", help="do not write overlay PNGs")
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda or cuda:K")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def natural_key(text: str) -> list:
    return [(0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", text) if t]


def csv_cell(text: str) -> str:
    # a cell starting with = + - @ is run as a formula by spreadsheet programs
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


class _Shard:
    """This process's rows, appended to a part file as they come."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._f = open(path, "w", newline="", encoding="utf-8")
        self._w = csv.writer(self._f, lineterminator="\n")

    def add(self, sample: str, cls: str, score: float | None, decision: str, threshold: float | None,
            reason: str = "") -> None:
        self._w.writerow([csv_cell(sample), cls, "" if score is None else repr(float(score)), decision,
                          "" if threshold is None else repr(float(threshold)), csv_cell(reason)])
        self._f.flush()

    def close(self) -> None:
        self._f.close()


def merge_parts(parts: list[Path], target: Path) -> dict[str, int]:
    """Merge sorted part files into ``target`` (atomically, with a header); decision counts."""
    counts = {d: 0 for d in DECISIONS}
    with ExitStack() as stack, atomic_path(target) as tmp:
        readers = [csv.reader(stack.enter_context(open(p, newline="", encoding="utf-8"))) for p in parts]
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(COLUMNS)
            for row in heapq.merge(*readers, key=lambda r: natural_key(r[0])):
                counts[row[3]] = counts.get(row[3], 0) + 1
                w.writerow(row)
    return counts


def _dist():
    from core.train.distributed import launched_by_torchrun

    if not launched_by_torchrun():
        return None
    import torch.distributed as dist

    return dist


def run(args: argparse.Namespace) -> int:
    layout = LayoutParams(pattern=args.pattern) if args.pattern else LayoutParams()
    dataset = scan_folder(args.folder, layout, cls=args.cls)
    samples = sorted(dataset.samples, key=lambda s: natural_key(csv_cell(s.key)))
    runs = class_run_folders(args.run)
    dist = _dist()
    if dist is not None:
        from core.train.distributed import init_from_env

        device = str(init_from_env(args.device))
        rank, world = dist.get_rank(), dist.get_world_size()
    else:
        device, rank, world = args.device, 0, 1
    main = rank == 0
    needed = sorted({s.cls for s in samples} & set(runs), key=CLASSES.index)
    inspectors = {c: Inspector.from_run(runs[c], c, device=device, threshold=args.threshold) for c in needed}
    if main and not samples:
        print(f"note: no samples found in {args.folder}", file=sys.stderr)
    if main and any(i.random_weights for i in inspectors.values()):
        print("note: the run's encoder has RANDOM weights; its decisions say nothing about real parts",
              file=sys.stderr)
    args.out.mkdir(parents=True, exist_ok=True)
    mine = samples[rank::world]
    shard = _Shard(args.out / f".results.rank{rank}.csv.part")
    bar = None if (args.quiet or not main) else TextProgress(NAME)
    status, done = "finished", 0
    try:
        for done, s in enumerate(mine, 1):
            with quiet_opencv():
                _inspect_one(s, inspectors, shard, None if args.no_overlays else args.out / OVERLAY_DIR)
            if bar is not None:
                bar(done, len(mine), s.key)
    except KeyboardInterrupt:
        if dist is not None:
            raise
        status = "interrupted"
        print(f"\ninterrupted after {done - 1} of {len(mine)} samples; writing what was done",
              file=sys.stderr)
    finally:
        shard.close()
        if bar is not None:
            bar.close()
    if dist is not None:
        dist.barrier()
    if main:
        parts = [args.out / f".results.rank{r}.csv.part" for r in range(world)]
        counts = merge_parts(parts, args.out / RESULTS_FILE)
        for p in parts:
            p.unlink(missing_ok=True)
        summary = batch_summary(status=status, folder=args.folder, run=args.run, samples=samples,
                                counts=counts, inspectors=inspectors, problems=dataset.problems,
                                overlays=None if args.no_overlays else OVERLAY_DIR, processes=world)
        atomic_write_json(args.out / SUMMARY_FILE, summary)
        line = ", ".join(f"{k} {v}" for k, v in counts.items() if v)
        print(f"inspected {summary['inspected']} of {len(samples)} samples ({line or 'none'}); "
              f"{len(summary['skipped'])} file(s) skipped; results in {args.out / RESULTS_FILE}")
    if dist is not None:
        from core.train.distributed import shutdown

        dist.barrier()  # nobody leaves before rank 0 has merged
        shutdown()
    return 130 if status == "interrupted" else 0


def _inspect_one(s, inspectors: dict[str, Inspector], shard: _Shard, overlay_dir: Path | None) -> None:
    r = inspect_sample(s, inspectors, overlay_dir)
    shard.add(r.sample, r.cls, r.score, r.decision, r.threshold, r.reason)


def read_results(path: Path):
    """Rows of a results.csv as dicts, one at a time (for reports)."""
    try:
        f = open(path, newline="", encoding="utf-8")
    except FileNotFoundError:
        raise BearingError(f"{path}: not found; is this an 'inspect' output folder?") from None
    with f:
        yield from csv.DictReader(f)

"""``bearing-inspect preprocess``: a data set -> the h5 cache, the geometry list and overlay PNGs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.config import load_json, to_dict
from core.errors import InputError
from core.io.atomic import atomic_write_json
from core.io.cache import CacheParams, CacheWriter
from core.io.dataset import CLASSES, scan_dataset
from core.io.images import quiet_opencv
from core.io.images import write_png
from core.preprocess.batch import preprocess_dataset
from core.preprocess.pipeline import PreprocessConfig
from core.progress import TextProgress

NAME = "preprocess"
HELP = "find each sample's ROI, crop, mask and compose it; write the h5 cache (+ geometry, overlays)"
DESCRIPTION = """\
Preprocess a data set in the standard layout (ROOT/<CLASS>/{train,test}/<group>/<sample>_<level>.png):
fit the per-class statistics on the train split where the config leaves them unset, find the ROI
of every sample (CGCM circle for LC/SC, EGGCC ellipse for OD), crop, mask and compose the three
brightness levels, and write the cache that training reads. Samples that cannot be used are
skipped and listed at the end with file and reason; the exit code is 0 when at least one sample
was processed."""
EPILOG = """\
examples:
  bearing-inspect preprocess demo_data --out cache.h5
  bearing-inspect preprocess demo_data --out cache.h5 --overlays overlays/ --geometry-json geo.json
  bearing-inspect preprocess data --out od.h5 --classes OD --config prep.json --size 448
"""


def parse_classes(text: str) -> tuple[str, ...]:
    names = tuple(c.strip().upper() for c in text.split(",") if c.strip())
    bad = [c for c in names if c not in CLASSES]
    if not names or bad:
        raise argparse.ArgumentTypeError(
            f"classes must be a comma-separated subset of {','.join(CLASSES)}, not {text!r}")
    return tuple(dict.fromkeys(names))


def parse_size(text: str) -> int:
    lo = CacheParams.__dataclass_fields__["size"].metadata["min"]
    hi = CacheParams.__dataclass_fields__["size"].metadata["max"]
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must be a whole number of pixels, not {text!r}") from None
    if not lo <= n <= hi:
        raise argparse.ArgumentTypeError(f"size must be {lo}..{hi} pixels, not {n}")
    return n


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("root", type=Path, metavar="ROOT", help="data set folder")
    parser.add_argument("--out", type=Path, required=True, metavar="CACHE.h5",
                        help="cache file to write (replaced atomically when complete)")
    parser.add_argument("--config", type=Path, metavar="FILE",
                        help="preprocessing config JSON (PreprocessConfig); default: built-in")
    parser.add_argument("--geometry-json", type=Path, metavar="FILE",
                        help="also write the found ROI shapes and crop boxes, one entry per sample")
    parser.add_argument("--overlays", type=Path, metavar="DIR",
                        help="also write DIR/<class>/<split>/<group>/<sample>.png overlays")
    parser.add_argument("--save-config", type=Path, metavar="FILE",
                        help="also write the config with the fitted statistics filled in")
    parser.add_argument("--classes", type=parse_classes, default=CLASSES, metavar="LC,SC,OD",
                        help="classes to preprocess (default: all three)")
    parser.add_argument("--size", type=parse_size, default=CacheParams().size, metavar="N",
                        help=f"side of the stored inputs and masks in pixels "
                             f"(default {CacheParams().size})")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


class _NothingProcessed(Exception):
    pass


def run(args: argparse.Namespace) -> int:
    config = load_json(PreprocessConfig, args.config) if args.config else PreprocessConfig()
    if args.out.exists() and args.out.is_dir():
        raise InputError(args.out, "is a folder", "Give a file name for the cache, e.g. cache.h5")
    dataset = scan_dataset(args.root, classes=args.classes)
    counts = {c: len(dataset.select(cls=c)) for c in args.classes}
    print(f"found {len(dataset.samples)} samples in {args.root} "
          f"({', '.join(f'{c} {n}' for c, n in counts.items())}); "
          f"{len(dataset.problems)} layout problem(s)")

    def write_overlay(sample, levels, result, mask) -> None:
        from core.preprocess.overlay import draw_overlay

        out = args.overlays / sample.cls / sample.split / sample.group / f"{sample.sample_id}.png"
        write_png(out, draw_overlay(levels[0], result, mask if mask.any() else None))

    bar = None if args.quiet else TextProgress(NAME)
    try:
        with quiet_opencv(), CacheWriter(args.out, CacheParams(size=args.size)) as writer:
            result = preprocess_dataset(
                dataset, config, CacheParams(size=args.size), progress=bar, sink=writer.add,
                on_sample=write_overlay if args.overlays else None)
            if bar is not None:
                bar.close()
            if result.n_processed == 0:
                raise _NothingProcessed
            writer.finish(to_dict(result.config), result.fingerprint)
    except _NothingProcessed:
        pass
    finally:
        if bar is not None:
            bar.close()

    skipped_keys = set(result.skipped)
    layout = [p for p in dataset.problems if p.sample_key not in skipped_keys]
    if layout:
        print(f"\ndata set layout: {len(layout)} problem(s)")
        for p in layout:
            print(f"  {p}")
    notes = [p for p in result.problems if p.sample_key is None]
    for p in notes:
        print(f"\nnote: {p}")
    if result.skipped:
        print(f"\nskipped {len(result.skipped)} sample(s):")
        for p in result.problems:
            if p.sample_key is not None:
                print(f"  {p}")
    if result.n_processed == 0:
        print(f"\nerror: no sample could be preprocessed; {args.out} was not written",
              file=sys.stderr)
        return 1

    if args.geometry_json:
        atomic_write_json(args.geometry_json, result.geometry)
    if args.save_config:
        atomic_write_json(args.save_config, to_dict(result.config))
    fitted = f"; fitted statistics of {', '.join(result.fitted)}" if result.fitted else ""
    per_class = ", ".join(f"{c} {n}" for c, n in result.processed.items())
    print(f"\npreprocessed {result.n_processed} of {len(dataset.samples)} samples ({per_class}), "
          f"skipped {len(result.skipped)}{fitted} -> {args.out}")
    extra = [f"geometry {args.geometry_json}" if args.geometry_json else "",
             f"overlays {args.overlays}" if args.overlays else "",
             f"config {args.save_config}" if args.save_config else ""]
    if any(extra):
        print("also wrote " + ", ".join(e for e in extra if e))
    return 0

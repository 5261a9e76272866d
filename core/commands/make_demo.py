"""``bearing-inspect make-demo``: render the synthetic demo data set."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.config import ConfigError, from_dict
from core.errors import InputError
from core.synth.dataset import check_size, render_demo, resolve_counts
from core.synth.dent import DentParams

NAME = "make-demo"
HELP = "render the synthetic demo data set (LC, SC, OD; good and dent; 3 levels; masks; geometry)"
DESCRIPTION = """\
Render a realistic synthetic data set in the layout the other commands read:
OUT/<CLASS>/{train,test}/{good,dent}/<sample>_<level>.png, dent masks in
OUT/<CLASS>/ground_truth/dent/<sample>_mask.png and the true ROI shapes in OUT/geometry.json.
The same seed always gives byte-identical files."""
EPILOG = """\
examples:
  bearing-inspect make-demo demo_data                       about half of the paper's Table 1
  bearing-inspect make-demo tiny --counts 0.05 --size 512x512 --seed 3
  bearing-inspect make-demo full --counts paper
  bearing-inspect make-demo easy --dent-size 0.02,0.05 --dent-contrast 0.3,0.6   clearer dents
"""


def parse_size(text: str) -> tuple[int, int]:
    """``"WxH"`` -> (W, H)."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like 1024x1024 (WxH), not {text!r}") from None
    try:
        check_size((w, h))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return w, h


def parse_counts(text: str) -> str:
    try:
        resolve_counts(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def parse_range(text: str) -> tuple[float, float]:
    """``"LO,HI"`` -> (LO, HI) with LO <= HI."""
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"give two numbers LO,HI such as 0.02,0.05, not {text!r}") from None
    if lo > hi:
        raise argparse.ArgumentTypeError(f"LO must not exceed HI in {text!r}")
    return lo, hi


def dent_params(size: tuple[float, float] | None, contrast: tuple[float, float] | None) -> DentParams | None:
    """The dent override of ``--dent-size`` / ``--dent-contrast`` (None: the class presets)."""
    if size is None and contrast is None:
        return None
    base = DentParams()
    values = {"size": list(size or base.size), "contrast": list(contrast or base.contrast)}
    try:
        return from_dict(DentParams, values)
    except ConfigError as exc:
        raise InputError(None, f"--dent-size / --dent-contrast: {exc}") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out", type=Path, metavar="OUT", help="output folder (created; must be empty)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--size", type=parse_size, default=(1024, 1024), metavar="WxH",
                        help="image size in pixels (default 1024x1024)")
    parser.add_argument("--counts", type=parse_counts, default="default",
                        metavar="default|paper|FRACTION",
                        help="samples: 'paper' = Table 1 (325 samples), 'default' = about half, "
                             "or a fraction of Table 1 such as 0.1 (at least 2 per cell)")
    parser.add_argument("--dent-size", type=parse_range, metavar="LO,HI",
                        help="dent diameter range as fractions of the image side "
                             f"(default {','.join(map(str, DentParams().size))})")
    parser.add_argument("--dent-contrast", type=parse_range, metavar="LO,HI",
                        help="dent contrast range, 0-1 (default "
                             f"{','.join(map(str, DentParams().contrast))}; higher = clearer dents)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing demo data set in OUT")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


class _ProgressBar:
    def __init__(self, stream, width: int = 30) -> None:
        self.stream, self.width = stream, width

    def __call__(self, done: int, total: int) -> None:
        filled = self.width * done // max(total, 1)
        self.stream.write(f"\r[{'#' * filled}{'.' * (self.width - filled)}] {done}/{total} samples")
        if done == total:
            self.stream.write("\n")
        self.stream.flush()


def run(args: argparse.Namespace) -> int:
    if args.seed < 0:
        raise InputError(None, f"--seed must be 0 or more, got {args.seed}")
    progress = None if args.quiet else _ProgressBar(sys.stderr)
    dents = dent_params(args.dent_size, args.dent_contrast)
    summary = render_demo(args.out, seed=args.seed, size=args.size, counts=args.counts,
                          progress=progress, overwrite=args.overwrite, dents=dents)
    print(f"wrote {summary.samples} samples ({summary.images} images, {summary.masks} masks) "
          f"to {summary.root} in {summary.seconds:.1f} s")
    return 0

"""``bearing-inspect``: the headless command line over ``core`` (one subcommand per job)."""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from core import __version__
from core.errors import BearingError

# Subcommand modules under core.commands, in the order --help lists them.
COMMAND_MODULES: list[str] = [
    "make_demo",
    "preprocess",
    "finetune_encoder",
    "train",
    "evaluate",
    "inspect", "report",
]

EPILOG = """\
examples:
  bearing-inspect make-demo demo_data            render the synthetic demo data set
  bearing-inspect preprocess demo_data --out cache.h5 --overlays overlays/
  bearing-inspect finetune-encoder demo_data --out runs/ft --weights dinov2_vits14_reg4_pretrain.pth
  bearing-inspect train demo_data --model dinomaly --out runs/dino-ft --encoder runs/ft
  bearing-inspect evaluate runs/dino-ft demo_data
Run 'bearing-inspect COMMAND --help' for each command's options and an example.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bearing-inspect",
        description="Bearing Inspector, headless: preprocess, train, evaluate, inspect, report.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for mod_name in COMMAND_MODULES:
        mod = importlib.import_module(f"core.commands.{mod_name}")
        p = sub.add_parser(
            mod.NAME, help=mod.HELP, description=getattr(mod, "DESCRIPTION", mod.HELP),
            epilog=getattr(mod, "EPILOG", None), formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):
        # a file name that is not valid text must not crash a report line
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except BearingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # unwritable folder, full disk, ...: the file and the reason, no traceback
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

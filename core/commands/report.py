"""``bearing-inspect report``: an HTML, PDF or CSV report of a training run or an inspection."""

from __future__ import annotations

import argparse
from pathlib import Path

from core.report import write_report
from core.report.build import build_report, check_report_target

NAME = "report"
HELP = "write an HTML, PDF or CSV report of a run folder or an 'inspect' output folder"
DESCRIPTION = """\
DIR is a run folder from 'train' (metrics per class and mean, ROC/PR curves, score histogram with
the threshold, the configuration) or an output folder of 'inspect' (summary, NG samples with their
overlays, every sample's decision, skipped files and why). The format follows FILE's extension:
.html (one self-contained file), .pdf or .csv."""
EPILOG = """\
examples:
  bearing-inspect report runs/dino --out dino.html
  bearing-inspect report runs/dino --out dino.pdf --data demo_data      # with PRO curves
  bearing-inspect report inspected/ --out inspected.pdf
  bearing-inspect report inspected/ --out decisions.csv
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("folder", type=Path, metavar="DIR", help="a run folder or an 'inspect' output folder")
    p.add_argument("--out", type=Path, required=True, metavar="FILE", help="report file: .html, .pdf or .csv")
    p.add_argument("--data", type=Path, metavar="DATA",
                   help="run reports: the data set root or h5 cache the run was evaluated on; the detector "
                        "runs again on it to draw the pixel-level PRO curves")
    p.add_argument("--device", default="auto", help="device for --data (auto, cpu, cuda or cuda:K)")
    p.add_argument("--max-images", type=int, default=200, metavar="N",
                   help="at most N NG overlay pictures in the report (default 200)")


def run(args: argparse.Namespace) -> int:
    check_report_target(args.out)   # before any work
    report = build_report(args.folder, max_images=max(0, args.max_images), data=args.data, device=args.device)
    path = write_report(report, args.out)
    print(f"wrote {report.kind} report {path}")
    for w in report.warnings:
        print(f"note: {w}")
    return 0

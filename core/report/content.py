"""What a report contains, independent of its format."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import BearingError

METRIC_KEYS = ("I-AUROC", "I-AP", "I-F1", "P-AUROC", "P-AP", "P-F1", "P-AUPRO")


@dataclass
class Curve:
    """One plotted curve: x/y arrays (lists of floats) and a legend label."""

    x: list[float]
    y: list[float]
    label: str = ""


@dataclass
class ReportSample:
    """One row of the sample table (an NG sample in a batch report, or any test sample)."""

    key: str
    cls: str
    score: float | None
    decision: str                  # OK | NG | ROI-failed | unreadable | ...
    reason: str = ""
    image_png: bytes | None = None  # heat-map overlay, shown for NG samples
    threshold: float | None = None  # the sample's own decision threshold (else the histogram's)


@dataclass
class Report:
    title: str
    kind: str                                           # "run" | "inspection"
    summary: dict[str, Any] = field(default_factory=dict)   # ordered key -> value lines
    warnings: list[str] = field(default_factory=list)        # e.g. "encoder has RANDOM weights"
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)  # row -> METRIC_KEYS
    curves: dict[str, list[Curve]] = field(default_factory=dict)        # "ROC", "PR", "PRO" -> curves
    histogram: dict[str, Any] | None = None  # {"good": [...], "defect": [...], "threshold": t, "band": [lo, hi]|None}
    samples: list[ReportSample] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)   # (path, reason)
    config: dict[str, Any] = field(default_factory=dict)


def write_report(report: Report, path: str | Path) -> Path:
    """Write ``report`` in the format named by ``path``'s extension (.html, .pdf, .csv), atomically."""
    path = Path(path)
    ext = path.suffix.lower()
    if ext in (".html", ".htm"):
        from core.io.atomic import atomic_write_text
        from core.report.html import render_html

        atomic_write_text(path, render_html(report))
    elif ext == ".pdf":
        from core.io.atomic import atomic_write_bytes
        from core.report.pdf import render_pdf

        atomic_write_bytes(path, render_pdf(report))
    elif ext == ".csv":
        from core.io.atomic import atomic_write_text
        from core.report.tables import samples_csv

        atomic_write_text(path, samples_csv(report))
    else:
        raise BearingError(f"{path}: unknown report format {ext or '(none)'}; use .html, .pdf or .csv")
    return path

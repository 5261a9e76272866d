"""The charts a report shows, as SVG text (shared by the HTML and PDF renderers)."""

from __future__ import annotations

from core.report.charts import line_chart, score_histogram
from core.report.content import Report

_AXES = {
    "ROC": ("false positive rate", "true positive rate", (0.0, 1.0), True),
    "PR": ("recall", "precision", (0.0, 1.0), False),
    "PRO": ("false positive rate", "per-region overlap", (0.0, 0.3), False),
}


def report_charts(report: Report) -> list[tuple[str, str]]:
    """``[(title, svg)]`` for every curve family and the score histogram in ``report``."""
    out = []
    for name, curves in report.curves.items():
        xlabel, ylabel, xlim, diag = _AXES.get(name, ("x", "y", (0.0, 1.0), False))
        series = [(c.x, c.y, c.label) for c in curves]
        out.append((name, line_chart(series, f"{name} curve", xlabel, ylabel, xlim=xlim, diagonal=diag)))
    if report.histogram:
        h = report.histogram
        band = tuple(h["band"]) if h.get("band") else None
        out.append(("Scores", score_histogram(h.get("good", []), h.get("defect", []), h.get("threshold"), band)))
    return out

"""CSV output: the sample table (sample, class, score, decision, threshold, reason)."""

from __future__ import annotations

import csv
import io

from core.report.content import METRIC_KEYS, Report

SAMPLE_COLUMNS = ("sample", "class", "score", "decision", "threshold", "reason")


def _safe_cell(v: str) -> str:
    # a cell starting with = + - @ is run as a formula by spreadsheet programs
    return "'" + v if v[:1] in ("=", "+", "-", "@") and not _is_number(v) else v


def _is_number(v: str) -> bool:
    try:
        float(v)
        return True
    except ValueError:
        return False


def samples_csv(report: Report) -> str:
    """One row per sample; with no samples (a run report) one row per metrics row instead."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    if report.samples:
        thr = report.histogram.get("threshold") if report.histogram else None
        w.writerow(SAMPLE_COLUMNS)
        for s in report.samples:
            t = s.threshold if s.threshold is not None else thr
            w.writerow([_safe_cell(s.key), s.cls, "" if s.score is None else f"{s.score:.6g}", s.decision,
                        "" if t is None else f"{t:.6g}", _safe_cell(s.reason)])
        for path, reason in report.skipped:
            w.writerow([_safe_cell(path), "", "", "skipped", "", _safe_cell(reason)])
    else:
        w.writerow(("row",) + METRIC_KEYS)
        for row, vals in report.metrics.items():
            w.writerow([_safe_cell(str(row))] + [f"{vals[k]:.6f}" if k in vals else "" for k in METRIC_KEYS])
    return buf.getvalue()

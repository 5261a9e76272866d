"""Inspecting many samples: one row per sample (every expected problem included) and the summary.

Shared by ``bearing-inspect inspect`` (streaming, torchrun) and the app's batch panel, so both give
the same decisions, reasons and ``summary.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from core.errors import InputError, ROINotFoundError
from core.inference.inspector import Inspector
from core.inference.overlay import overlay_png
from core.io.atomic import atomic_write_bytes
from core.io.dataset import Problem, Sample, load_levels

COLUMNS = ("sample", "class", "score", "decision", "threshold", "reason")
DECISIONS = ("OK", "NG", "unreadable", "ROI-failed", "no-model")


@dataclass
class InspectRow:
    """One line of results.csv."""

    sample: str
    cls: str
    score: float | None
    decision: str             # OK | NG | unreadable | ROI-failed | no-model
    threshold: float | None
    reason: str = ""


def inspect_sample(sample: Sample, inspectors: dict[str, Inspector], overlay_dir: Path | None) -> InspectRow:
    """Score one sample with its class's inspector; unreadable files and ROI failures become rows."""
    insp = inspectors.get(sample.cls)
    if insp is None:
        return InspectRow(sample.key, sample.cls, None, "no-model", None, f"the run has no {sample.cls} detector")
    try:
        levels = load_levels(sample)
    except InputError as exc:
        return InspectRow(sample.key, sample.cls, None, "unreadable", insp.threshold, str(exc))
    try:
        res = insp.score_levels(levels, path=sample.first_path)
    except ROINotFoundError as exc:
        return InspectRow(sample.key, sample.cls, None, "ROI-failed", insp.threshold, exc.reason)
    except (InputError, ValueError) as exc:   # levels of different sizes, too few levels
        return InspectRow(sample.key, sample.cls, None, "unreadable", insp.threshold, str(exc))
    if overlay_dir is not None:
        atomic_write_bytes(overlay_dir / f"{sample.key}.png", overlay_png(levels[0], res))
    return InspectRow(sample.key, sample.cls, res.score, res.decision, res.threshold)


def batch_summary(*, status: str, folder: Path, run: Path, samples: Iterable[Sample], counts: dict[str, int],
                  inspectors: dict[str, Inspector], problems: Iterable[Problem], overlays: str | None,
                  processes: int = 1) -> dict:
    """What summary.json says about a batch: counts, thresholds, skipped files and why."""
    samples = list(samples)
    keys = {s.key for s in samples}
    problems = list(problems)
    return {
        "status": status, "folder": str(Path(folder).resolve()), "run": str(Path(run).resolve()),
        "samples": len(samples), "inspected": sum(counts.values()), "counts": counts,
        "classes": {c: {"run": str(i.run_dir), "threshold": i.threshold, "threshold_source": i.threshold_source,
                        "random_weights": i.random_weights} for c, i in inspectors.items()},
        "random_weights": any(i.random_weights for i in inspectors.values()),
        "overlays": overlays, "processes": processes,
        "skipped": [{"path": str(p.path), "reason": p.problem} for p in problems if p.sample_key not in keys],
        "notes": [{"path": str(p.path), "reason": p.problem} for p in problems if p.sample_key in keys],
    }

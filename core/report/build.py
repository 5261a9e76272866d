"""Building a :class:`Report` from what is on disk: a training run folder or an inspection folder.

A run folder (one class's run, or the ``--out`` of ``train`` with class sub-folders) gives the
metrics table per class and their mean, image-level ROC and PR curves recomputed from the test
scores in each class's ``metrics.json``, the score histogram with the threshold, and the run
configuration. Pixel-level curves (PRO) need every anomaly map, which ``evaluate`` does
not store: given the data (``data``: the data set root or the h5 cache), the detector is run again
on the evaluated split to draw the PRO curves; without it the report says the PRO plot is omitted (the
table's P-metrics are exact either way).

An inspection folder (the ``--out`` of ``inspect``: summary.json + results.csv) gives the summary,
every sample row, the NG samples with their overlay PNGs, and the skipped files with the reason.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np

from core.errors import BearingError, InputError
from core.metrics import image_curves
from core.report.content import METRIC_KEYS, Curve, Report, ReportSample

SUMMARY_FILE = "summary.json"
RESULTS_FILE = "results.csv"
MAX_CURVE_POINTS = 600


def is_inspection_folder(folder: str | Path) -> bool:
    folder = Path(folder)
    return (folder / SUMMARY_FILE).is_file() and (folder / RESULTS_FILE).is_file()


def build_report(folder: str | Path, max_images: int = 200, data: str | Path | None = None,
                 device: str = "auto") -> Report:
    """The report of ``folder``: an inspection output folder or a run folder (``data``: see module)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(folder, "folder not found", "give a run folder or an 'inspect' --out folder")
    if is_inspection_folder(folder):
        return inspection_report(folder, max_images=max_images)
    return run_report(folder, data=data, device=device)


# -- training runs ---------------------------------------------------------------------------------
def _mean_row(rows: dict[str, dict[str, float]]) -> dict[str, float]:
    out = {}
    for k in METRIC_KEYS:
        vals = [float(v[k]) for v in rows.values() if k in v and v[k] is not None and math.isfinite(float(v[k]))]
        out[k] = sum(vals) / len(vals) if vals else float("nan")
    return out


def _pixel_curves(run_dir: Path, cache_path: Path, split: str, device: str):
    """Pixel curves of a run's detector on ``split`` of the cache (the maps are recomputed)."""
    from core.device import resolve_device
    from core.io.cache import open_cache
    from core.metrics import pixel_curves
    from core.models import load_model
    from core.train.data import mask_to_size
    from core.train.datasource import class_arrays
    from core.train.runs import Run
    from core.train.stages import predict_arrays

    rec = Run(run_dir).load_record()
    dev = resolve_device(device)
    model = load_model(run_dir / "model", device=dev)
    size = int(rec.config.get("image_size", model.config.image_size))
    with open_cache(cache_path) as cache:
        arrays = class_arrays(cache, rec.cls, split=split)
    _, maps = predict_arrays(model, arrays, size, dev)
    masks = mask_to_size(arrays.masks, size)[:, 0].numpy().astype(bool)
    if not masks.any() or masks.all():
        return None
    return pixel_curves(maps, masks, max_points=MAX_CURVE_POINTS)


def run_report(folder: str | Path, data: str | Path | None = None, device: str = "auto") -> Report:
    """Metrics, curves, score histogram and configuration of a run folder.

    With ``data`` (data set root or h5 cache) the pixel-level PRO curves are added.
    """
    from core.inference import class_run_folders
    from core.train.runs import Run

    folder = Path(folder)
    runs = class_run_folders(folder)
    report = Report(title=f"Training run {folder.name}", kind="run")
    report.summary["run folder"] = str(folder.resolve())
    cache = None
    if data is not None:
        from core.train.datasource import resolve_cache

        cache = resolve_cache(data, list(runs))
    hist_good: list[float] = []
    hist_defect: list[float] = []
    thresholds: dict[str, float] = {}
    for cls, sub in runs.items():
        run = Run(sub)
        rec = run.load_record()
        status = run.effective_status()
        report.summary[f"{cls} model"] = f"{rec.kind}, {status}"
        report.summary[f"{cls} encoder"] = str(rec.encoder.get("backbone", "?"))
        report.config[cls] = {"kind": rec.kind, "status": status, "encoder": rec.encoder,
                              "code_version": rec.code_version, "dataset_fingerprint": rec.dataset_fingerprint,
                              **rec.config}
        if rec.random_weights:
            report.warnings.append(f"{cls}: the encoder has RANDOM weights (no pre-training); these results "
                                   "say nothing about real inspection")
        if status != "finished":
            report.warnings.append(f"{cls}: the run is {status}, not finished")
        metrics = run.load_metrics()
        if not metrics:
            if rec.kind in ("dinomaly", "vitad"):
                report.warnings.append(f"{cls}: not evaluated yet (no metrics.json); run 'bearing-inspect "
                                       "evaluate' on the run")
            continue
        report.metrics[cls] = {k: float(v) for k, v in metrics.get("metrics", {}).items() if k in METRIC_KEYS}
        t = metrics.get("image_threshold")
        if t is not None and math.isfinite(float(t)):
            thresholds[cls] = float(t)
            report.summary[f"{cls} threshold"] = float(t)
        samples = metrics.get("samples", [])
        report.summary[f"{cls} {metrics.get('split', 'test')} samples"] = len(samples)
        scores = np.array([s["score"] for s in samples], float)
        labels = np.array([s["label"] for s in samples], int)
        if len(samples) and 0 < labels.sum() < len(labels):
            c = image_curves(scores, labels, max_points=MAX_CURVE_POINTS)
            report.curves.setdefault("ROC", []).append(Curve(c.fpr.tolist(), c.tpr.tolist(), cls))
            report.curves.setdefault("PR", []).append(Curve(c.tpr.tolist(), c.precision.tolist(), cls))
        elif len(samples):
            report.warnings.append(f"{cls}: the test split has only one kind of sample; no ROC/PR curve")
        if cache is not None:
            pc = _pixel_curves(run.folder, cache, metrics.get("split", "test"), device)
            if pc is None:
                report.warnings.append(f"{cls}: no defect pixels (or no good ones) in the masks; no PRO curve")
            else:
                report.curves.setdefault("PRO", []).append(Curve(pc.fpr.tolist(), pc.pro.tolist(), cls))
        elif (metrics.get("pixel_curves") or {}).get("pro"):  # thinned curves stored by evaluate
            stored = metrics["pixel_curves"]
            report.curves.setdefault("PRO", []).append(Curve(stored["fpr"], stored["pro"], cls))
        # with several classes, scores are put on one scale: score / the class's threshold
        scale = thresholds.get(cls) if len(runs) > 1 else None
        vals = scores / scale if scale else scores
        hist_good.extend(vals[labels == 0].tolist())
        hist_defect.extend(vals[labels == 1].tolist())
    if len(report.metrics) > 1:
        report.metrics["mean"] = _mean_row(report.metrics)
    if hist_good or hist_defect:
        if len(runs) > 1:
            report.summary["score histogram"] = "score / class threshold (1 = the threshold)"
            thr = 1.0 if thresholds else None
        else:
            thr = next(iter(thresholds.values()), None)
        report.histogram = {"good": hist_good, "defect": hist_defect, "threshold": thr, "band": None}
    if report.metrics and cache is None and "PRO" not in report.curves:
        report.summary["pixel curves"] = ("omitted: 'evaluate' does not store anomaly maps; give the data "
                                          "(report --data) to draw PRO curves. The P-metrics are exact")
    return report


# -- inspection folders ----------------------------------------------------------------------------
def _uncell(text: str) -> str:
    # results.csv defuses spreadsheet formulas with a leading apostrophe; the report writers do it again
    return text[1:] if text[:1] == "'" and text[1:2] in ("=", "+", "-", "@") else text


def inspection_report(folder: str | Path, max_images: int = 200) -> Report:
    """Summary, sample rows, NG overlays (the first ``max_images``) and skipped files of an inspection."""
    folder = Path(folder)
    try:
        summary = json.loads((folder / SUMMARY_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(folder / SUMMARY_FILE, f"unreadable ({exc})") from None
    report = Report(title=f"Inspection {folder.name}", kind="inspection")
    s = report.summary
    s["folder inspected"] = summary.get("folder", "")
    s["run"] = summary.get("run", "")
    s["status"] = summary.get("status", "")
    s["samples"] = summary.get("samples", 0)
    for decision, n in summary.get("counts", {}).items():
        s[decision] = n
    for cls, info in summary.get("classes", {}).items():
        s[f"{cls} threshold"] = float(info.get("threshold", float("nan")))
    if summary.get("status") == "interrupted":
        report.warnings.append("the inspection was interrupted: not every sample was inspected")
    if summary.get("random_weights"):
        report.warnings.append("the run's encoder has RANDOM weights (no pre-training); these decisions say "
                               "nothing about real parts")
    overlay_dir = folder / summary["overlays"] if summary.get("overlays") else None
    shown = 0
    try:
        f = open(folder / RESULTS_FILE, newline="", encoding="utf-8")
    except OSError as exc:
        raise InputError(folder / RESULTS_FILE, f"unreadable ({exc.strerror or exc})") from None
    with f:
        for row in csv.DictReader(f):
            try:
                key, cls, decision = _uncell(row["sample"]), row["class"], row["decision"]
                score = float(row["score"]) if row["score"] else None
                threshold = float(row["threshold"]) if row.get("threshold") else None
            except (KeyError, TypeError, ValueError) as exc:
                raise InputError(folder / RESULTS_FILE, f"not a results table of 'inspect' ({exc})") from None
            png = None
            if decision == "NG" and overlay_dir is not None and shown < max_images:
                p = overlay_dir / f"{key}.png"
                if p.is_file() and overlay_dir.resolve() in p.resolve().parents:
                    png = p.read_bytes()
                    shown += 1
            report.samples.append(ReportSample(key, cls, score, decision, _uncell(row.get("reason") or ""), png,
                                               threshold))
    n_ng = sum(1 for r in report.samples if r.decision == "NG")
    if n_ng > shown and overlay_dir is not None:
        report.warnings.append(f"{n_ng - shown} NG sample(s) shown without their overlay (at most {max_images} "
                               "pictures per report, or the overlay file is missing)")
    report.skipped = [(str(x.get("path", "")), str(x.get("reason", ""))) for x in summary.get("skipped", [])]
    report.config = {"inspection": {k: summary.get(k) for k in ("folder", "run", "classes", "processes")}}
    return report


def check_report_target(path: str | Path) -> None:
    ext = Path(path).suffix.lower()
    if ext not in (".html", ".htm", ".pdf", ".csv"):
        raise BearingError(f"{path}: unknown report format {ext or '(none)'}; use .html, .pdf or .csv")

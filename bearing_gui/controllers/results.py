"""Results browser: a finished run's metrics, curves, score histogram, confusion matrix at a moved
threshold, and one test sample's anomaly map, all computed here (workers for the heavy parts) and
handed to the widgets as plain arrays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bearing_gui.controllers.workers import Job, LatestOnly, global_pool
from bearing_gui.qt import QtCore

HIST_BINS = 30
METRIC_KEYS = ("I-AUROC", "I-AP", "I-F1", "P-AUROC", "P-AP", "P-F1", "P-AUPRO")


@dataclass
class RunResults:
    folder: Path                       # the class run folder
    cls: str
    kind: str
    encoder: str
    random_weights: bool
    table: dict[str, dict[str, float]]  # Table 2: class -> metrics, plus "mean"
    threshold: float                   # F1-optimal image threshold from evaluation
    keys: list[str]
    labels: np.ndarray                 # 0 good / 1 dent
    scores: np.ndarray
    roc: tuple[np.ndarray, np.ndarray]
    pr: tuple[np.ndarray, np.ndarray]   # (recall, precision)
    pro: tuple[np.ndarray, np.ndarray] | None
    pro_note: str
    optimal_point: dict[str, tuple[float, float]]  # curve name -> (x, y) at the F1-optimal threshold
    edges: np.ndarray
    good_counts: np.ndarray
    defect_counts: np.ndarray
    notes: list[str] = field(default_factory=list)


def class_table(run_root: Path) -> dict[str, dict[str, float]]:
    """Table 2: each class run under ``run_root`` with metrics, and their mean."""
    from core.inference import class_run_folders
    from core.train.runs import Run

    rows: dict[str, dict[str, float]] = {}
    try:
        folders = class_run_folders(run_root)
    except Exception:  # not a run root: only the class run itself is shown
        return rows
    for cls, folder in folders.items():
        m = (Run(folder).load_metrics() or {}).get("metrics")
        if m:
            rows[cls] = {k: float(m.get(k, math.nan)) for k in METRIC_KEYS}
    return rows


def with_mean(rows: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    out = dict(rows)
    if rows:
        out["mean"] = {k: _nanmean([r[k] for r in rows.values()]) for k in METRIC_KEYS}
    return out


def _nanmean(values) -> float:
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    return float(v.mean()) if len(v) else math.nan


def load_results(folder: str | Path, with_pro: bool = True, report=None) -> RunResults:
    """Worker side: everything the browser shows for the class run ``folder``."""
    from core.errors import BearingError
    from core.metrics import precision_recall_curve, roc_curve
    from core.train.runs import Run

    run = Run(folder)
    rec = run.load_record()
    if rec.kind not in ("dinomaly", "vitad"):
        raise BearingError(f"{run.folder}: a {rec.kind} run is an encoder, not a detector; it has no "
                           "results to browse")
    metrics = run.load_metrics()
    if not metrics:
        raise BearingError(f"{run.folder}: the run has not been evaluated yet (no metrics.json); run "
                           "'bearing-inspect evaluate' on it, or train with evaluation on")
    samples = metrics.get("samples", [])
    keys = [s["key"] for s in samples]
    labels = np.array([int(s["label"]) for s in samples], np.int64)
    scores = np.array([float(s["score"]) for s in samples], np.float64)
    own = {rec.cls: {k: float(metrics["metrics"].get(k, math.nan)) for k in METRIC_KEYS}}
    table = class_table(run.folder.parent)
    if rec.cls not in table:
        table = own
    table = with_mean(table)
    notes = []
    threshold = float(metrics.get("image_threshold", math.nan))
    both = len(set(labels.tolist())) == 2
    if both:
        fpr, tpr, th = roc_curve(scores, labels)
        prec, rec_, _ = precision_recall_curve(scores, labels)
        roc, pr = (fpr, tpr), (rec_, prec)
        i = int(np.searchsorted(-th, -threshold, side="right")) - 1 if math.isfinite(threshold) else -1
        optimal = {"ROC": (float(fpr[i]), float(tpr[i])), "PR": (float(rec_[i]), float(prec[i]))} \
            if 0 <= i < len(th) else {}
    else:
        roc = pr = (np.zeros(0), np.zeros(0))
        optimal = {}
        notes.append("the test split has only one class of samples: no ROC / PR curve")
    pro, pro_note = None, ""
    if with_pro:
        try:
            pro = _pro(run, rec, report)
            if pro is None:
                pro_note = "no defect masks"
        except (BearingError, OSError) as exc:
            pro_note = f"PRO not available: {exc}"
    else:
        pro_note = "computing the PRO curve…"
    finite = scores[np.isfinite(scores)]
    lo, hi = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
    if hi <= lo:
        hi = lo + 1e-6
    edges = np.linspace(lo, hi, HIST_BINS + 1)
    good = np.histogram(scores[labels == 0], edges)[0]
    defect = np.histogram(scores[labels == 1], edges)[0]
    enc = rec.encoder.get("backbone") or ""
    return RunResults(run.folder, rec.cls, rec.kind, enc, rec.random_weights, table, threshold, keys,
                      labels, scores, roc, pr, pro, pro_note, optimal, edges, good, defect, notes)


def _pro(run, rec, report=None):
    """The PRO curve of the run on its test split (needs the anomaly maps: predicted again)."""
    from core.io.cache import open_cache
    from core.metrics import pro_curve
    from core.models import load_model
    from core.train.data import mask_to_size
    from core.train.datasource import class_arrays
    from core.train.stages import predict_arrays

    cache = Path(rec.config.get("cache", ""))
    if not cache.is_file():
        raise FileNotFoundError(0, f"the training cache {cache} is gone")
    import torch

    model = load_model(run.folder / "model", device=torch.device("cpu"))
    size = int(rec.config.get("image_size", model.config.image_size))
    with open_cache(cache) as c:
        data = class_arrays(c, rec.cls, split="test")
    if len(data) == 0:
        return None
    _, maps = predict_arrays(model, data, size, torch.device("cpu"),
                             progress=(lambda d, n: report(d, n)) if report else None)
    masks = mask_to_size(data.masks, size)[:, 0].numpy().astype(bool)
    if not masks.any():
        return None
    fpr, pro, _ = pro_curve(maps, masks, max_points=600)
    return fpr, pro


def confusion(scores: np.ndarray, labels: np.ndarray, threshold: float,
              band: tuple[float, float] | None = None) -> dict[str, int]:
    """Counts at ``threshold`` (NG when score >= threshold); samples inside ``band`` are uncertain."""
    pred = scores >= threshold
    unsure = np.zeros(len(scores), bool) if band is None else (scores >= band[0]) & (scores <= band[1])
    sure = ~unsure
    lab = labels.astype(bool)
    return {"TP": int((pred & lab & sure).sum()), "FN": int((~pred & lab & sure).sum()),
            "FP": int((pred & ~lab & sure).sum()), "TN": int((~pred & ~lab & sure).sum()),
            "uncertain good": int((unsure & ~lab).sum()), "uncertain dent": int((unsure & lab).sum())}


def predictions(scores: np.ndarray, threshold: float, band: tuple[float, float] | None = None) -> list[str]:
    out = []
    for s in scores:
        if band is not None and band[0] <= s <= band[1]:
            out.append("uncertain")
        else:
            out.append("NG" if s >= threshold else "OK")
    return out


@dataclass
class SampleView:
    key: str
    score: float
    decision: str
    level0: np.ndarray                  # uint8 (H, W)
    gt_mask: np.ndarray | None          # bool (H, W), level-0 coordinates
    anomaly_map: np.ndarray             # float32 (H, W), level-0 coordinates (0 outside the ROI)
    crop: tuple[int, int, int, int]
    roi_image: np.ndarray               # uint8 (h, w): level 0 inside the crop box
    roi_map: np.ndarray                 # float32 (h, w)
    roi_gt: np.ndarray | None           # bool (h, w)
    map_max: float
    note: str = ""


def _crop(img: np.ndarray, crop: tuple[int, int, int, int], fill=0) -> np.ndarray:
    """``img`` inside the crop box; parts of the box outside the image are ``fill``."""
    x0, y0, x1, y1 = crop
    h, w = img.shape[:2]
    out = np.full((y1 - y0, x1 - x0) + img.shape[2:], fill, img.dtype)
    ix0, iy0, ix1, iy1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if ix1 > ix0 and iy1 > iy0:
        out[iy0 - y0:iy1 - y0, ix0 - x0:ix1 - x0] = img[iy0:iy1, ix0:ix1]
    return out


def sample_view(inspector, sample, root: Path) -> SampleView:
    """Worker side: score one sample with the run and cut its ROI views."""
    from core.errors import BearingError
    from bearing_gui.controllers.session import read_sample

    loaded = read_sample(sample, root)
    if not loaded.complete:
        raise BearingError(next(iter(loaded.errors.values())))
    res = inspector.score_levels(loaded.levels, path=sample.first_path)
    lv0 = loaded.levels[0]
    gt = loaded.mask
    return SampleView(sample.key, res.score, res.decision, lv0, gt, res.anomaly_map, res.crop,
                      _crop(lv0, res.crop), res.anomaly_map_roi * res.roi_mask,
                      None if gt is None else _crop(gt, res.crop, False),
                      float(res.anomaly_map_roi.max()), loaded.mask_error)


class ResultsController(QtCore.QObject):
    loaded = QtCore.Signal(object)            # RunResults
    load_failed = QtCore.Signal(str)
    sample_ready = QtCore.Signal(object)      # SampleView
    sample_failed = QtCore.Signal(str, str)   # key, message
    compared = QtCore.Signal(object, object)  # RunResults, RunResults
    pro_ready = QtCore.Signal(object)         # RunResults with its PRO curve (or a note why not)
    threshold_changed = QtCore.Signal()

    def __init__(self, session, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.results: RunResults | None = None
        self.threshold = math.nan
        self.band: tuple[float, float] | None = None
        self._inspector = None
        self._job: Job | None = None
        self._pro_job: Job | None = None
        self._samples = LatestOnly(self)
        self._samples.finished.connect(lambda _k, v: self.sample_ready.emit(v))
        self._samples.failed.connect(self.sample_failed.emit)
        self.with_pro = True
        self._wanted = ""

    @property
    def busy(self) -> bool:
        return self._job is not None or self._pro_job is not None or self._samples.busy

    def open(self, folder: str | Path) -> None:
        """Load the run (fast: from metrics.json), then its PRO curve (slow: predicts every map)."""
        self._wanted = str(folder)
        job = Job(lambda report, _c: load_results(folder, False, report), str(folder))
        job.signals.finished.connect(self._on_loaded)
        job.signals.failed.connect(self._on_failed)
        self._job = job
        self._signals = job.signals
        global_pool().start(job)

    def _on_loaded(self, token, results: RunResults) -> None:
        if token != self._wanted:
            return  # a run opened before the latest one: stale
        self._job = None
        self.results = results
        self._inspector = None
        self.threshold = results.threshold if math.isfinite(results.threshold) else float(
            np.median(results.scores)) if len(results.scores) else 0.0
        self.band = None
        self.loaded.emit(results)
        if self.with_pro:
            self._start_pro(results)

    def _start_pro(self, results: RunResults) -> None:
        from core.errors import BearingError
        from core.train.runs import Run

        def work(report, _cancel):
            run = Run(results.folder)
            try:
                pro = _pro(run, run.load_record(), report)
            except (BearingError, OSError) as exc:
                return None, f"PRO not available: {exc}"
            return pro, "" if pro is not None else "no defect masks"

        job = Job(work, str(results.folder))
        job.signals.finished.connect(self._on_pro)
        job.signals.failed.connect(lambda t, m: self._on_pro(t, (None, f"PRO not available: {m}")))
        self._pro_job = job
        self._pro_signals = job.signals
        global_pool().start(job)

    def _on_pro(self, token, payload) -> None:
        self._pro_job = None
        r = self.results
        if r is None or token != str(r.folder):
            return
        r.pro, r.pro_note = payload
        self.pro_ready.emit(r)

    def _on_failed(self, token, message: str) -> None:
        if token != self._wanted:
            return
        self._job = None
        self.load_failed.emit(message)

    def compare(self, a: str | Path, b: str | Path) -> None:
        """Load two runs (no PRO: the table and ROC/PR are what the comparison shows)."""
        job = Job(lambda _r, _c: (load_results(a, False), load_results(b, False)))
        job.signals.finished.connect(lambda _t, pair: self.compared.emit(*pair))
        job.signals.failed.connect(lambda _t, m: self.load_failed.emit(m))
        self._cmp_signals = job.signals
        global_pool().start(job)

    # -- threshold ----------------------------------------------------------------------------
    def set_threshold(self, value: float) -> None:
        self.threshold = float(value)
        self.threshold_changed.emit()

    def set_band(self, band: tuple[float, float] | None) -> None:
        self.band = None if band is None else (min(band), max(band))
        self.threshold_changed.emit()

    def default_band(self) -> tuple[float, float]:
        r = self.results
        span = float(r.edges[-1] - r.edges[0]) if r is not None else 1.0
        return self.threshold - 0.05 * span, self.threshold + 0.05 * span

    def confusion(self) -> dict[str, int]:
        r = self.results
        return confusion(r.scores, r.labels, self.threshold, self.band)

    def predictions(self) -> list[str]:
        return predictions(self.results.scores, self.threshold, self.band)

    def threshold_metrics(self) -> dict[str, float]:
        c = self.confusion()
        tp, fp, fn = c["TP"], c["FP"], c["FN"]
        prec = tp / (tp + fp) if tp + fp else math.nan
        rec = tp / (tp + fn) if tp + fn else math.nan
        f1 = 2 * prec * rec / (prec + rec) if prec + rec and math.isfinite(prec + rec) else math.nan
        return {"precision": prec, "recall": rec, "F1": f1}

    # -- one sample -----------------------------------------------------------------------------
    def select_sample(self, key: str) -> None:
        r = self.results
        ds = self.session.dataset
        if r is None:
            return
        sample = None if ds is None else next((s for s in ds.samples if s.key == key), None)
        if sample is None:
            self.sample_failed.emit(key, f"{key}: not in the open data set; open the data set the "
                                    "run was trained on to see its images")
            return
        root = self.session.project.dataset_root
        threshold = self.threshold
        folder = r.folder

        def job():
            from core.inference import Inspector

            if self._inspector is None or self._inspector.run_dir != folder:
                self._inspector = Inspector.from_run(folder, device="cpu", threshold=threshold)
            self._inspector.threshold = threshold
            return sample_view(self._inspector, sample, root)

        self._samples.submit(job, key)

    def wait(self, ms: int = 30000) -> None:
        self._samples.wait(ms)
        global_pool().waitForDone(ms)

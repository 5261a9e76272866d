"""ROC, precision-recall and PRO curves, and their summary numbers, from one walk over a Ranking.

Everything here consumes the operating points of :mod:`core.metrics.ranking` block by block, so the
summary numbers (AUROC, AP, F1-max with its threshold, AUPRO) are exact over every distinct score
while memory stays bounded; curves for plotting can be thinned on the way (``max_points``).

Definitions (matching scikit-learn and the MVTec AD evaluation):

- AUROC: trapezoid area under (FPR, TPR), starting at (0, 0); ties form one operating point.
- AP: step-wise average precision ``sum_n (R_n - R_{n-1}) P_n`` (``average_precision_score``).
- F1-max: the largest ``2 TP / (2 TP + FP + FN)`` over all thresholds, and the threshold reaching it
  (the highest such threshold when several do); a sample is anomalous when ``score >= threshold``.
- AUPRO: PRO (mean over all ground-truth regions of the fraction of the region detected) against FPR
  (over all defect-free pixels), points from (0, 0) to (1, 1), trapezoid up to ``fpr_limit`` with the
  point at the limit linearly interpolated, divided by ``fpr_limit``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.metrics.ranking import OperatingPoints, Ranking
from core.metrics.validation import check_fpr_limit, check_max_points


class _AUROC:
    """Trapezoid area in integer counts: sum (dFP) * (TP + TP_prev), exact in int64."""

    def __init__(self) -> None:
        self.fp, self.tp, self.twice_area = 0, 0, 0

    def add(self, p: OperatingPoints) -> None:
        fp_prev = np.concatenate(([self.fp], p.fp[:-1]))
        tp_prev = np.concatenate(([self.tp], p.tp[:-1]))
        self.twice_area += int(np.dot(p.fp - fp_prev, p.tp + tp_prev))
        self.fp, self.tp = int(p.fp[-1]), int(p.tp[-1])

    def value(self, n_pos: int, n_neg: int) -> float:
        return self.twice_area / (2.0 * n_pos * n_neg)


class _AveragePrecision:
    def __init__(self) -> None:
        self.tp, self.total = 0, 0.0

    def add(self, p: OperatingPoints) -> None:
        tp_prev = np.concatenate(([self.tp], p.tp[:-1]))
        self.total += float(np.dot(p.tp - tp_prev, p.tp / (p.tp + p.fp)))
        self.tp = int(p.tp[-1])

    def value(self, n_pos: int) -> float:
        return self.total / n_pos


class _F1Max:
    """Best F1 and the operating point reaching it (the highest threshold when several tie)."""

    def __init__(self, n_pos: int) -> None:
        self.n_pos, self.best, self.threshold = n_pos, -1.0, float("nan")
        self.point: tuple | None = None

    def add(self, p: OperatingPoints) -> None:
        f1 = 2.0 * p.tp / (p.tp + p.fp + self.n_pos)
        i = int(np.argmax(f1))
        if f1[i] > self.best:     # strict: an earlier (higher) threshold keeps a tie
            self.best, self.threshold = float(f1[i]), float(p.threshold[i])
            self.point = _point(p, i)


def _point(p: OperatingPoints, i: int) -> tuple:
    return (p.threshold[i:i + 1], p.fp[i:i + 1], p.tp[i:i + 1],
            None if p.overlap is None else p.overlap[i:i + 1])


class _AUPRO:
    """Trapezoid of PRO over FPR up to ``limit`` with the MVTec interpolation at the limit."""

    def __init__(self, limit: float, n_neg: int, n_regions: int) -> None:
        self.limit, self.n_neg, self.n_regions = limit, n_neg, n_regions
        self.x, self.y, self.area, self.done = 0.0, 0.0, 0.0, False

    def add(self, p: OperatingPoints) -> None:
        if self.done:
            return
        x = np.minimum(p.fp / self.n_neg, 1.0)
        y = np.minimum(p.overlap / self.n_regions, 1.0)
        self._add_xy(x, y)

    def _add_xy(self, x: np.ndarray, y: np.ndarray) -> None:
        m = int(np.searchsorted(x, self.limit, side="right"))   # x[:m] <= limit < x[m:]
        xs = np.concatenate(([self.x], x[:m]))
        ys = np.concatenate(([self.y], y[:m]))
        self.area += float(np.dot(0.5 * (ys[1:] + ys[:-1]), np.diff(xs)))
        self.x, self.y = float(xs[-1]), float(ys[-1])
        if m < len(x):
            self.done = True
            if self.x < self.limit:   # the limit is not itself a point: interpolate it
                x1, y1 = float(x[m]), float(y[m])
                y_at = self.y + (y1 - self.y) * (self.limit - self.x) / (x1 - self.x)
                self.area += 0.5 * (y_at + self.y) * (self.limit - self.x)

    def value(self) -> float:
        if not self.done:                         # the curve ends at (1, 1)
            self._add_xy(np.array([1.0]), np.array([1.0]))
            self.done = True
        return self.area / self.limit


class _Thinner:
    """Keeps the first point of each step of length ``2 / max_points`` along the ROC path.

    The path length FPR + TPR grows monotonically from 0 to 2, so at most about ``max_points`` points
    survive, spread evenly along the ROC curve; PR and PRO curves use the same points.
    """

    def __init__(self, max_points: int | None, n_pos: int, n_neg: int) -> None:
        self.max_points, self.n_pos, self.n_neg = max_points, n_pos, n_neg
        self.last_bin = -1

    def keep(self, p: OperatingPoints) -> np.ndarray | slice:
        if self.max_points is None:
            return slice(None)
        path = p.fp / max(self.n_neg, 1) + p.tp / max(self.n_pos, 1)
        bins = np.floor(path * (self.max_points / 2.0)).astype(np.int64)
        keep = np.empty(len(bins), dtype=bool)
        keep[0] = bins[0] != self.last_bin
        np.not_equal(bins[1:], bins[:-1], out=keep[1:])
        self.last_bin = int(bins[-1])
        return keep


@dataclass(frozen=True)
class Curves:
    """Curves and summary numbers from one ranking; every array runs from the highest threshold down.

    Arrays (float64, same length K+1): ``thresholds`` (first entry +inf: nothing is anomalous),
    ``fpr``, ``tpr`` (= recall), ``precision`` (1.0 at the first entry, by convention), ``pro``
    (PRO per threshold, pixel curves only, else ``None``). A sample is anomalous when
    ``score >= threshold``. Plot ROC as (fpr, tpr), PR as (tpr, precision), PRO as (fpr, pro).

    Summary numbers (exact, from every distinct score even when the arrays are thinned):
    ``auroc``, ``ap``, ``f1_max`` and ``f1_threshold`` (the operating point with the best F1),
    ``aupro`` (pixel curves; NaN for image curves) with its ``fpr_limit``. Undefined numbers
    (e.g. AUROC with one class present) are NaN here; :func:`core.metrics.evaluate` reports them.
    """

    thresholds: np.ndarray
    fpr: np.ndarray
    tpr: np.ndarray
    precision: np.ndarray
    pro: np.ndarray | None
    auroc: float
    ap: float
    f1_max: float
    f1_threshold: float
    aupro: float
    fpr_limit: float
    n_pos: int
    n_neg: int
    n_regions: int

    @property
    def recall(self) -> np.ndarray:
        return self.tpr


def summarize(ranking: Ranking, fpr_limit: float = 0.3, max_points: int | None = None,
              with_curves: bool = True, chunk_size: int = 1 << 18) -> Curves:
    """Walk ``ranking`` once and return its :class:`Curves` (arrays empty when not ``with_curves``).

    ``max_points``: None keeps every operating point; a number thins the arrays for plotting to
    about that many points (summary numbers stay exact). ``chunk_size``: samples per block of the
    walk (memory per block is about 100 bytes a sample; the result does not depend on it).
    """
    check_fpr_limit(fpr_limit)
    check_max_points(max_points)
    n_pos, n_neg, n_regions = ranking.n_pos, ranking.n_neg, ranking.n_regions
    nan = float("nan")
    roc = _AUROC() if n_pos and n_neg else None
    ap = _AveragePrecision() if n_pos else None
    f1 = _F1Max(n_pos) if n_pos else None
    pro = _AUPRO(fpr_limit, n_neg, n_regions) if n_regions and n_neg else None
    thinner = _Thinner(max_points, n_pos, n_neg)
    kept: list[tuple] = []
    last = None
    for p in ranking.points(chunk_size):
        for acc in (roc, ap, f1, pro):
            if acc is not None:
                acc.add(p)
        if with_curves:
            k = thinner.keep(p)
            kept.append((p.threshold[k], p.fp[k], p.tp[k], None if p.overlap is None else p.overlap[k]))
            last = _point(p, len(p.threshold) - 1)
    if with_curves:
        if max_points is not None:
            # Thinning must not lose the curve's end or the F1-optimal operating point.
            kept += [last] + ([f1.point] if f1 is not None else [])
        thr = np.concatenate([[np.inf]] + [k[0] for k in kept])
        fp = np.concatenate([[0]] + [k[1] for k in kept]).astype(np.float64)
        tp = np.concatenate([[0]] + [k[2] for k in kept]).astype(np.float64)
        ov = (None if ranking.region_area is None
              else np.concatenate([[0.0]] + [k[3] for k in kept]))
        if max_points is not None:
            order = np.argsort(-thr, kind="stable")
            order = order[np.concatenate(([True], thr[order][1:] != thr[order][:-1]))]
            thr, fp, tp = thr[order], fp[order], tp[order]
            ov = None if ov is None else ov[order]
        with np.errstate(invalid="ignore", divide="ignore"):
            fpr = fp / n_neg if n_neg else np.full_like(fp, nan)
            tpr = tp / n_pos if n_pos else np.full_like(tp, nan)
            precision = np.where(fp + tp > 0, tp / np.maximum(fp + tp, 1), 1.0)
        pro_curve = None
        if ov is not None:
            pro_curve = np.minimum(ov / n_regions, 1.0) if n_regions else np.full_like(ov, nan)
    else:
        thr = fpr = tpr = precision = np.empty(0)
        pro_curve = None if ranking.region_area is None else np.empty(0)
    return Curves(
        thresholds=thr, fpr=fpr, tpr=tpr, precision=precision, pro=pro_curve,
        auroc=roc.value(n_pos, n_neg) if roc else nan,
        ap=ap.value(n_pos) if ap else nan,
        f1_max=f1.best if f1 else nan,
        f1_threshold=f1.threshold if f1 else nan,
        aupro=pro.value() if pro else nan,
        fpr_limit=fpr_limit, n_pos=n_pos, n_neg=n_neg, n_regions=n_regions)

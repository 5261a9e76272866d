"""The seven numbers of the paper (image and pixel AUROC / AP / F1-max, pixel AUPRO) and the curves.

``evaluate`` is what training and reports call; ``image_curves`` / ``pixel_curves`` return the curves
behind the numbers for plotting, and ``roc_curve``, ``precision_recall_curve``, ``pro_curve`` and
``f1_optimal_threshold`` are small conveniences over them. Scores and maps are used as given (no
normalisation, blur or resizing): document the map resolution and mask binarisation with results.
"""

from __future__ import annotations

import numpy as np

from core.metrics.curves import Curves, summarize
from core.metrics.ranking import Ranking, rank_pixels, rank_scores
from core.metrics.validation import (as_binary_labels, as_masks, as_scores, check_finite,
                                     check_fpr_limit, check_max_points, check_same_length,
                                     check_same_shape, check_undefined_choice, report_undefined)

IMAGE_KEYS = ("I-AUROC", "I-AP", "I-F1")
PIXEL_KEYS = ("P-AUROC", "P-AP", "P-F1", "P-AUPRO")
DEFAULT_FPR_LIMIT = 0.3


def _rank_images(image_scores, image_labels) -> Ranking:
    scores = as_scores(image_scores, "image_scores", ndim=1)
    labels = as_binary_labels(image_labels, "image_labels")
    check_same_length(scores, "image_scores", labels, "image_labels")
    check_finite(scores, "image_scores")
    return rank_scores(scores, labels)


def _rank_pixels(anomaly_maps, gt_masks) -> Ranking:
    maps = as_scores(anomaly_maps, "anomaly_maps", ndim=3)
    masks = as_masks(gt_masks, "gt_masks")
    check_same_shape(maps, "anomaly_maps", masks, "gt_masks")
    return rank_pixels(maps, masks)


def _rank(scores, labels) -> Ranking:
    """Image ranking for (N,) scores and labels, pixel ranking for (N, H, W) maps and masks."""
    return _rank_pixels(scores, labels) if np.ndim(scores) == 3 else _rank_images(scores, labels)


def image_curves(image_scores, image_labels, max_points: int | None = None) -> Curves:
    """ROC and PR curves of image scores (N,) against labels (N,) of 0 = good, 1 = defect.

    Every distinct score is an operating point unless ``max_points`` thins the arrays for plotting.
    """
    return summarize(_rank_images(image_scores, image_labels), max_points=max_points)


def pixel_curves(anomaly_maps, gt_masks, fpr_limit: float = DEFAULT_FPR_LIMIT,
                 max_points: int | None = 4096) -> Curves:
    """ROC, PR and PRO curves of every pixel of ``anomaly_maps`` (N, H, W) against ``gt_masks``.

    Pixel curves have up to one point per pixel, so by default they are thinned to about
    ``max_points`` points (None keeps all); the summary numbers in the result are always exact.
    """
    check_fpr_limit(fpr_limit)
    check_max_points(max_points)
    return summarize(_rank_pixels(anomaly_maps, gt_masks), fpr_limit=fpr_limit,
                     max_points=max_points)


def roc_curve(scores, labels, max_points: int | None = None):
    """(fpr, tpr, thresholds), from the highest threshold (+inf first) down.

    ``scores``/``labels``: image scores (N,) and 0/1 labels, or maps and masks (N, H, W).
    """
    c = summarize(_rank(scores, labels), max_points=max_points)
    return c.fpr, c.tpr, c.thresholds


def precision_recall_curve(scores, labels, max_points: int | None = None):
    """(precision, recall, thresholds), from the highest threshold (+inf first, precision 1) down.

    Note the order is the reverse of scikit-learn's ``precision_recall_curve``.
    """
    c = summarize(_rank(scores, labels), max_points=max_points)
    return c.precision, c.tpr, c.thresholds


def pro_curve(anomaly_maps, gt_masks, max_points: int | None = 4096):
    """(fpr, pro, thresholds) of pixel maps (N, H, W) against masks, from (0, 0) up to (1, 1)."""
    c = pixel_curves(anomaly_maps, gt_masks, max_points=max_points)
    return c.fpr, c.pro, c.thresholds


def f1_optimal_threshold(scores, labels) -> tuple[float, float]:
    """(threshold, F1-max): calling ``score >= threshold`` anomalous gives the best F1.

    Works on image scores (N,) or maps (N, H, W). Raises ``UndefinedMetricError`` without positives.
    """
    c = summarize(_rank(scores, labels), with_curves=False)
    if c.n_pos == 0:
        report_undefined("F1-optimal threshold", "the labels contain no defect", "raise")
    return c.f1_threshold, c.f1_max


def _numbers(c: Curves, prefix: str, undefined: str) -> dict[str, float]:
    pos, neg = ("defective image", "good image") if prefix == "I" else ("defect pixel",
                                                                       "defect-free pixel")
    no_pos = f"there is no {pos} (label 1 / non-zero mask)"
    no_neg = f"there is no {neg}"
    out: dict[str, float] = {}
    if c.n_pos and c.n_neg:
        out[f"{prefix}-AUROC"] = c.auroc
    else:
        out[f"{prefix}-AUROC"] = report_undefined(f"{prefix}-AUROC", no_pos if not c.n_pos else no_neg,
                                                  undefined)
    for key, value in ((f"{prefix}-AP", c.ap), (f"{prefix}-F1", c.f1_max)):
        out[key] = value if c.n_pos else report_undefined(key, no_pos, undefined)
    if prefix == "P":
        if c.n_regions and c.n_neg:
            out["P-AUPRO"] = c.aupro
        else:
            out["P-AUPRO"] = report_undefined("P-AUPRO", no_pos if not c.n_regions else no_neg,
                                              undefined)
    return {k: float(v) for k, v in out.items()}


def image_metrics(image_scores, image_labels, undefined: str = "raise") -> dict[str, float]:
    """{"I-AUROC", "I-AP", "I-F1"} of image scores (N,) against 0/1 labels (N,)."""
    check_undefined_choice(undefined)
    c = summarize(_rank_images(image_scores, image_labels), with_curves=False)
    return _numbers(c, "I", undefined)


def pixel_metrics(anomaly_maps, gt_masks, fpr_limit: float = DEFAULT_FPR_LIMIT,
                  undefined: str = "raise") -> dict[str, float]:
    """{"P-AUROC", "P-AP", "P-F1", "P-AUPRO"} of maps (N, H, W) against masks (non-zero = defect).

    All four come from one sort of the pixel scores.
    """
    check_undefined_choice(undefined)
    check_fpr_limit(fpr_limit)
    c = summarize(_rank_pixels(anomaly_maps, gt_masks), fpr_limit=fpr_limit, with_curves=False)
    return _numbers(c, "P", undefined)


def evaluate(image_scores, image_labels, anomaly_maps, gt_masks, *,
             fpr_limit: float = DEFAULT_FPR_LIMIT, undefined: str = "raise") -> dict[str, float]:
    """The seven metrics: ``I-AUROC, I-AP, I-F1, P-AUROC, P-AP, P-F1, P-AUPRO`` as floats.

    ``image_scores`` (N,), ``image_labels`` (N,) of 0/1, ``anomaly_maps`` (N, H, W) real scores,
    ``gt_masks`` (N, H, W) with non-zero = defect. Bad input (shapes, NaN/inf scores, labels other
    than 0/1) raises ``MetricInputError``. A metric that is undefined on the data (one class only,
    no defect pixel) raises ``UndefinedMetricError`` naming it, or with ``undefined="nan"`` is NaN
    and an ``UndefinedMetricWarning`` says which and why.
    """
    check_undefined_choice(undefined)
    check_fpr_limit(fpr_limit)
    scores = as_scores(image_scores, "image_scores", ndim=1)
    maps = as_scores(anomaly_maps, "anomaly_maps", ndim=3)
    check_same_length(scores, "image_scores", maps, "anomaly_maps")
    result = image_metrics(scores, image_labels, undefined=undefined)
    result.update(pixel_metrics(maps, gt_masks, fpr_limit=fpr_limit, undefined=undefined))
    return result

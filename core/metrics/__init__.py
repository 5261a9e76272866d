"""Evaluation metrics: exact AUROC, AP, F1-max and AUPRO from one shared sort, and their curves.

Start with :func:`evaluate` (the seven numbers of the paper) or :func:`pixel_curves` /
:func:`image_curves` (arrays for plots and the F1-optimal operating point). Numpy and OpenCV only.
"""

from core.metrics.curves import Curves, summarize
from core.metrics.evaluate import (DEFAULT_FPR_LIMIT, IMAGE_KEYS, PIXEL_KEYS, evaluate,
                                   f1_optimal_threshold, image_curves, image_metrics, pixel_curves,
                                   pixel_metrics, precision_recall_curve, pro_curve, roc_curve)
from core.metrics.ranking import Ranking, rank_pixels, rank_scores
from core.metrics.validation import MetricInputError, UndefinedMetricError, UndefinedMetricWarning

__all__ = [
    "Curves", "DEFAULT_FPR_LIMIT", "IMAGE_KEYS", "MetricInputError", "PIXEL_KEYS", "Ranking",
    "UndefinedMetricError", "UndefinedMetricWarning", "evaluate", "f1_optimal_threshold",
    "image_curves", "image_metrics", "pixel_curves", "pixel_metrics", "precision_recall_curve",
    "pro_curve", "rank_pixels", "rank_scores", "roc_curve", "summarize",
]

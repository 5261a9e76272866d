"""Input checks for the metrics, and the two ways a metric can fail: bad input, or undefined on the data.

Every message names the argument and the problem (and, for non-finite scores, where the first one is),
so a caller can show it as is. Both errors are also ``ValueError`` for code that catches that.
"""

from __future__ import annotations

import warnings

import numpy as np

from core.errors import BearingError


class MetricInputError(BearingError, ValueError):
    """Arrays given to a metric have the wrong shape, dtype or values (NaN/inf scores, labels not 0/1)."""


class UndefinedMetricError(BearingError, ValueError):
    """A metric has no value on this data, e.g. AUROC when every sample has the same label."""


class UndefinedMetricWarning(UserWarning):
    """Issued instead of :class:`UndefinedMetricError` when the caller asked for NaN (``undefined="nan"``)."""


UNDEFINED_CHOICES = ("raise", "nan")


def check_undefined_choice(undefined: str) -> None:
    if undefined not in UNDEFINED_CHOICES:
        raise MetricInputError(f"undefined: {undefined!r} is not one of 'raise', 'nan'")


def check_fpr_limit(fpr_limit: float) -> None:
    if not 0.0 < fpr_limit <= 1.0:
        raise MetricInputError(f"fpr_limit: must be in (0, 1], got {fpr_limit}")


def check_max_points(max_points: int | None) -> None:
    if max_points is not None and max_points < 2:
        raise MetricInputError(f"max_points: must be at least 2 (or None for every point), got {max_points}")


def report_undefined(name: str, reason: str, undefined: str) -> float:
    """Raise, or warn and return NaN, for metric ``name`` that is undefined because of ``reason``."""
    message = f"{name} is undefined: {reason}"
    if undefined == "raise":
        raise UndefinedMetricError(message)
    warnings.warn(message, UndefinedMetricWarning, stacklevel=3)
    return float("nan")


def as_scores(values: object, name: str, ndim: int) -> np.ndarray:
    """``values`` as a real-valued array of ``ndim`` dimensions (not copied when already fitting)."""
    arr = np.asarray(values)
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.floating)
                                 or np.issubdtype(arr.dtype, np.integer)):
        raise MetricInputError(f"{name}: expected real-valued scores, got dtype {arr.dtype}")
    if arr.ndim != ndim:
        want = "(N,)" if ndim == 1 else "(N, H, W)"
        raise MetricInputError(f"{name}: expected shape {want}, got {arr.shape}"
                               + (" (squeeze the channel axis first)" if arr.ndim == ndim + 1 else ""))
    if arr.size == 0:
        raise MetricInputError(f"{name}: is empty (shape {arr.shape})")
    return arr


def check_finite(scores: np.ndarray, name: str, offset: int = 0) -> None:
    """Raise naming the first NaN/inf in ``scores``; ``offset`` is added to the leading index."""
    if not np.issubdtype(scores.dtype, np.floating):
        return
    bad = ~np.isfinite(scores)
    if bad.any():
        first = np.unravel_index(int(np.argmax(bad)), scores.shape)
        where = (f"image {first[0] + offset}, pixel (y={first[1]}, x={first[2]})" if scores.ndim == 3
                 else f"index {first[0] + offset}")
        raise MetricInputError(f"{name}: {int(bad.sum())} non-finite value(s) (NaN or inf), "
                               f"first at {where}; scores must be finite numbers")


def as_binary_labels(values: object, name: str) -> np.ndarray:
    """Image labels (N,) of 0/1 (bool, integer or float 0.0/1.0) as a bool array."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise MetricInputError(f"{name}: expected shape (N,), got {arr.shape}")
    if arr.size == 0:
        raise MetricInputError(f"{name}: is empty")
    if arr.dtype == bool:
        return arr
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise MetricInputError(f"{name}: expected 0/1 labels, got dtype {arr.dtype}")
    bad = (arr != 0) & (arr != 1)
    if bad.any():
        i = int(np.argmax(bad))
        raise MetricInputError(f"{name}: labels must be 0 (good) or 1 (defect); "
                               f"index {i} is {arr[i].item()!r}")
    return arr == 1


def as_masks(values: object, name: str) -> np.ndarray:
    """Ground-truth masks (N, H, W); any dtype, non-zero = defect. Float masks must be finite."""
    arr = np.asarray(values)
    if arr.ndim != 3:
        raise MetricInputError(f"{name}: expected shape (N, H, W), got {arr.shape}"
                               + (" (squeeze the channel axis first)" if arr.ndim == 4 else ""))
    if arr.size == 0:
        raise MetricInputError(f"{name}: is empty (shape {arr.shape})")
    if not (arr.dtype == bool or np.issubdtype(arr.dtype, np.integer)
            or np.issubdtype(arr.dtype, np.floating)):
        raise MetricInputError(f"{name}: expected a numeric or bool mask, got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.floating) and not np.isfinite(arr).all():
        raise MetricInputError(f"{name}: contains NaN or inf; masks must be 0 (good) or non-zero (defect)")
    return arr


def check_same_length(a: np.ndarray, a_name: str, b: np.ndarray, b_name: str) -> None:
    if a.shape[0] != b.shape[0]:
        raise MetricInputError(f"{a_name} has {a.shape[0]} entries but {b_name} has {b.shape[0]}; "
                               "they must describe the same images in the same order")


def check_same_shape(a: np.ndarray, a_name: str, b: np.ndarray, b_name: str) -> None:
    if a.shape != b.shape:
        raise MetricInputError(f"{a_name} has shape {a.shape} but {b_name} has shape {b.shape}; "
                               "resize the maps or masks to one resolution first")

"""The one shared sort behind every metric: samples ranked by score, with what each sample is.

A :class:`Ranking` holds all samples (images or pixels) sorted by score, each tagged with a payload:
0 for a normal sample, otherwise a positive id (1 for a defective image; the global connected-region
id for a defect pixel). Walking it from the highest score down yields the *operating points*: one per
distinct score, with the cumulative counts that ROC, PR, F1 and PRO curves are all made of.

Pixel rankings of float32-representable maps pack each pixel into one uint64
(``order_bits(score) << 32 | region_id``) and sort that array in place: the sort is a fast SIMD sort
of plain integers, and memory is 8 bytes a pixel (2x float32 maps) instead of the 16+ of an argsort.
Other scores (image scores; float64 maps with detail float32 cannot hold) use an argsort: for
20 M pixels that is about 5x slower and needs about 6x the float32 maps' size; cast maps to float32
first when that detail does not matter.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Iterator

import cv2
import numpy as np

from core.metrics.validation import MetricInputError, check_finite

_SIGN = np.uint32(0x80000000)
# Index of the high and low uint32 word inside a uint64 (native byte order).
_HI, _LO = (1, 0) if sys.byteorder == "little" else (0, 1)
_CHUNK = 1 << 18


def float32_order_bits(values: np.ndarray) -> np.ndarray:
    """uint32 keys whose unsigned order is the numeric order of the float32 ``values``.

    -0.0 and +0.0 get the same key (they are equal scores).
    """
    bits = (np.asarray(values, dtype=np.float32) + np.float32(0.0)).view(np.uint32)
    return np.where(bits & _SIGN, ~bits, bits | _SIGN)


def float32_from_order_bits(keys: np.ndarray) -> np.ndarray:
    """Inverse of :func:`float32_order_bits`."""
    keys = np.asarray(keys, dtype=np.uint32)
    return np.where(keys & _SIGN, keys & ~_SIGN, ~keys).view(np.float32)


@dataclass(frozen=True)
class OperatingPoints:
    """A block of operating points in order of decreasing threshold.

    At threshold ``t`` a sample is called anomalous when ``score >= t``. All arrays have one entry per
    distinct score:

    - ``threshold``: float64, the score itself.
    - ``fp`` / ``tp``: int64, normal / positive samples with ``score >= threshold`` (cumulative).
    - ``overlap``: float64, sum over defect regions of the fraction of the region with
      ``score >= threshold`` (PRO = overlap / number of regions); ``None`` for image rankings.
    """

    threshold: np.ndarray
    fp: np.ndarray
    tp: np.ndarray
    overlap: np.ndarray | None


class Ranking:
    """Samples sorted once by score; build with :func:`rank_scores` or :func:`rank_pixels`."""

    def __init__(self, order: np.ndarray, payload: np.ndarray, decode, n_pos: int, n_neg: int,
                 region_area: np.ndarray | None, owner: np.ndarray | None = None) -> None:
        self._order = order            # ascending sort keys (uint32 order bits or float64 scores)
        self._payload = payload        # uint32, same order: 0 normal, >0 positive (region id)
        self._decode = decode          # sort keys -> float64 thresholds
        self._owner = owner            # keeps the packed uint64 array alive behind the views
        self.n_pos = int(n_pos)
        self.n_neg = int(n_neg)
        self.region_area = region_area  # int64 (n_regions + 1,), [0] unused; None for images

    @property
    def n_samples(self) -> int:
        return self.n_pos + self.n_neg

    @property
    def n_regions(self) -> int:
        return 0 if self.region_area is None else len(self.region_area) - 1

    def points(self, chunk_size: int = _CHUNK) -> Iterator[OperatingPoints]:
        """Operating points from the highest score down, in blocks of at most ``chunk_size`` samples.

        Memory stays bounded by the block size: counts are carried from block to block, and a tie
        that crosses a block boundary is resolved by looking at the next sample.
        """
        order, payload = self._order, self._payload
        inv_area = None
        if self.region_area is not None:
            inv_area = np.zeros(len(self.region_area), dtype=np.float64)
            np.divide(1.0, self.region_area[1:], out=inv_area[1:])
        tp_carry, ov_carry, seen = 0, 0.0, 0
        end = len(order)
        while end > 0:
            start = max(0, end - chunk_size)
            keys = order[start:end][::-1]
            tags = payload[start:end][::-1]
            last = np.empty(len(keys), dtype=bool)
            np.not_equal(keys[:-1], keys[1:], out=last[:-1])
            last[-1] = start == 0 or keys[-1] != order[start - 1]
            idx = np.flatnonzero(last)
            tp = np.cumsum(tags != 0, dtype=np.int64)
            tp += tp_carry
            n = len(keys)
            fp_at = (idx + (seen + 1)) - tp[idx]
            overlap = None
            if inv_area is not None:
                ov = np.cumsum(inv_area[tags])
                ov += ov_carry
                ov_carry = float(ov[-1])
                overlap = ov[idx]
            tp_carry = int(tp[-1])
            seen += n
            if len(idx):   # a block can be one long tie that ends in the next block
                yield OperatingPoints(self._decode(keys[idx]), fp_at, tp[idx], overlap)
            end = start


def _decode_float64(keys: np.ndarray) -> np.ndarray:
    return np.asarray(keys, dtype=np.float64)


def _decode_packed(keys: np.ndarray) -> np.ndarray:
    return float32_from_order_bits(keys).astype(np.float64)


def rank_scores(scores: np.ndarray, positive: np.ndarray) -> Ranking:
    """Rank 1-D ``scores`` (finite) with bool ``positive`` labels (image level; a stable argsort)."""
    scores = np.asarray(scores, dtype=np.float64).ravel() + 0.0
    check_finite(scores, "scores")
    order = np.argsort(scores, kind="stable")
    payload = np.asarray(positive, dtype=np.uint32).ravel()[order]
    n_pos = int(np.count_nonzero(payload))
    return Ranking(scores[order], payload, _decode_float64, n_pos, len(scores) - n_pos, None)


def label_regions(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """8-connected regions of one (H, W) mask (non-zero = defect): int32 labels 1..n and n."""
    n, labels = cv2.connectedComponents((mask != 0).view(np.uint8), connectivity=8,
                                        ltype=cv2.CV_32S)
    return labels, n - 1


def _fits_float32(image: np.ndarray) -> bool:
    if image.dtype in (np.float32, np.float16):
        return True
    if image.dtype == np.float64:
        return bool(np.array_equal(image.astype(np.float32), image))
    if np.issubdtype(image.dtype, np.integer):
        return bool(np.all(np.abs(image.astype(np.int64)) <= (1 << 24)))
    return False


def rank_pixels(anomaly_maps: np.ndarray, gt_masks: np.ndarray) -> Ranking:
    """Rank every pixel of ``anomaly_maps`` (N, H, W); positives are the non-zero ``gt_masks`` pixels.

    Each pixel's payload is the global id of its 8-connected defect region (ids are unique across
    images), so the same ranking gives ROC/PR counts and per-region overlaps.
    """
    n_img = anomaly_maps.shape[0]
    per_image = anomaly_maps[0].size
    total = anomaly_maps.size
    packed = all(_fits_float32(anomaly_maps[i]) for i in range(n_img))
    areas = [np.zeros(1, dtype=np.int64)]
    n_regions = 0
    if packed:
        keys = np.empty(total, dtype=np.uint64)
        words = keys.view(np.uint32)
        hi, lo = words[_HI::2], words[_LO::2]
    else:
        scores = np.empty(total, dtype=np.float64)
        tags = np.empty(total, dtype=np.uint32)
    for i in range(n_img):
        image = anomaly_maps[i]
        check_finite(image[None], "anomaly_maps", offset=i)
        labels, n = label_regions(gt_masks[i])
        if n_regions + n >= 2 ** 32 - 1:
            raise MetricInputError("gt_masks: more than 4 billion defect regions")
        areas.append(np.bincount(labels.ravel(), minlength=n + 1)[1:].astype(np.int64))
        region = labels.ravel().astype(np.uint32)
        region[region != 0] += np.uint32(n_regions)
        n_regions += n
        part = slice(i * per_image, (i + 1) * per_image)
        if packed:
            hi[part] = float32_order_bits(image.ravel())
            lo[part] = region
        else:
            scores[part] = image.ravel().astype(np.float64) + 0.0
            tags[part] = region
    region_area = np.concatenate(areas)
    n_pos = int(region_area[1:].sum())
    if packed:
        keys.sort()
        # Strided views into the sorted keys: no copy of the 8 bytes per pixel.
        return Ranking(words[_HI::2], words[_LO::2], _decode_packed, n_pos, total - n_pos,
                       region_area, owner=keys)
    # Float64 detail float32 cannot hold: argsort (slower, ~6 bytes a pixel more than the packed path).
    # Order within a tie does not matter (a tie is one operating point), so no stable sort is needed.
    tags = tags[np.argsort(scores)]
    scores.sort()                  # in place: the same values as scores[argsort], without a copy
    return Ranking(scores, tags, _decode_float64, n_pos, total - n_pos, region_area)

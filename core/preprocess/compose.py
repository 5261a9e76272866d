"""Brightness composition: the three levels of one sample, cropped and masked -> model input.

LC and SC (layout ``"mix"``): [level 0, intermediate, level 1], where the intermediate level is the
linear blend ``(1 - w) * level0 + w * level1`` (the paper generates an intermediate of levels 0 and
1 without giving the rule; level 2 of these classes shows almost nothing and is not used).
OD (layout ``"levels"``): [level 0, level 1, level 2].
"""

from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

from core.preprocess.params import ComposeParams


def crop_padded(img: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """``img[y0:y1, x0:x1]``, the part outside the image filled with zeros (a view if inside)."""
    x0, y0, x1, y1 = box
    h, w = img.shape[:2]
    if x0 >= 0 and y0 >= 0 and x1 <= w and y1 <= h:
        return img[y0:y1, x0:x1]
    out = np.zeros((y1 - y0, x1 - x0) + img.shape[2:], img.dtype)
    sx0, sy0, sx1, sy1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if sx0 < sx1 and sy0 < sy1:
        out[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = img[sy0:sy1, sx0:sx1]
    return out


def compose_levels(levels: Sequence[np.ndarray], box: tuple[int, int, int, int],
                   roi_mask: np.ndarray | None, params: ComposeParams) -> np.ndarray:
    """The uint8 (h, w, 3) model input for crop ``box``; 0 where ``roi_mask`` is False."""
    l0, l1 = crop_padded(levels[0], box), crop_padded(levels[1], box)
    if params.layout == "mix":
        mid = cv2.addWeighted(l0, 1.0 - params.mix_weight, l1, params.mix_weight, 0.0)
        channels = [l0, mid, l1]
    else:
        channels = [l0, l1, crop_padded(levels[2], box)]
    if roi_mask is not None:
        m = roi_mask.view(np.uint8)
        channels = [cv2.bitwise_and(c, c, mask=m) for c in channels]
    return cv2.merge(channels)

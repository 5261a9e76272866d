"""An RGB picture of what preprocessing decided, for people (CLI ``--overlays`` PNGs, reports).

Drawn on level 0: every candidate (thin grey), the candidates that passed the filters (thin
blue), the chosen shape (green), c_inner / c_outer (cyan, LC/SC), the OD pre-crop (grey), the
sampled boundary points (orange) and the global reference centre (magenta cross), the crop box
(yellow), and the defect mask tinted red. Line widths scale with the image size.
"""

from __future__ import annotations

import cv2
import numpy as np

from core.preprocess.cgcm import CircleShape
from core.preprocess.pipeline import PreprocessResult

GREEN, CYAN, YELLOW, RED = (40, 220, 40), (0, 220, 255), (255, 220, 0), (255, 40, 40)
GREY, BLUE, ORANGE, MAGENTA = (150, 150, 150), (70, 110, 255), (255, 150, 0), (255, 0, 255)
_SHIFT = 4
_S = 1 << _SHIFT


def _pt(x: float, y: float) -> tuple[int, int]:
    return int(round(x * _S)), int(round(y * _S))


def _draw_shape(img: np.ndarray, shape, colour, thick: int) -> None:
    if isinstance(shape, CircleShape):
        cv2.circle(img, _pt(shape.cx, shape.cy), int(round(shape.r * _S)), colour, thick,
                   cv2.LINE_AA, _SHIFT)
    else:
        cv2.ellipse(img, _pt(shape.cx, shape.cy), _pt(shape.a, shape.b), shape.angle, 0, 360,
                    colour, thick, cv2.LINE_AA, _SHIFT)


def draw_overlay(level0: np.ndarray, result: PreprocessResult, mask: np.ndarray | None = None
                 ) -> np.ndarray:
    """RGB uint8 (H, W, 3) picture of ``result`` on ``level0``; ``mask`` (bool, level-0 coords)
    is tinted red."""
    img = cv2.cvtColor(level0, cv2.COLOR_GRAY2RGB)
    h, w = level0.shape
    thick = max(1, int(round(min(h, w) / 400)))
    if mask is not None and mask.any():
        m = mask.astype(bool)
        img[m] = (0.45 * img[m] + 0.55 * np.array(RED)).astype(np.uint8)
    ex = result.extras
    if "precrop" in ex:
        x0, y0, x1, y1 = ex["precrop"]
        cv2.rectangle(img, (x0, y0), (x1 - 1, y1 - 1), GREY, thick)
    for s in result.candidates:
        _draw_shape(img, s, GREY, 1)
    for s in result.passed:
        _draw_shape(img, s, BLUE, thick)
    if isinstance(result.shape, CircleShape):
        for key in ("c_inner", "c_outer"):
            if ex.get(key):
                cv2.circle(img, _pt(result.shape.cx, result.shape.cy), int(round(ex[key] * _S)),
                           CYAN, thick, cv2.LINE_AA, _SHIFT)
    _draw_shape(img, result.shape, GREEN, 2 * thick)
    if "boundary_points" in ex:
        for x, y in ex["boundary_points"]:
            cv2.circle(img, _pt(x, y), 2 * thick * _S, ORANGE, -1, cv2.LINE_AA, _SHIFT)
    if "global_centre" in ex:
        gx, gy = ex["global_centre"]
        size = 6 * thick
        cv2.drawMarker(img, (int(round(gx)), int(round(gy))), MAGENTA, cv2.MARKER_CROSS,
                       2 * size, thick)
    x0, y0, x1, y1 = result.crop
    cv2.rectangle(img, (x0, y0), (x1 - 1, y1 - 1), YELLOW, thick)
    return img

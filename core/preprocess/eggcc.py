"""EGGCC, Ellipse-Guided Global Center Cropping (OD side views).

1. A fixed pre-crop removes the margins (fixture bars, busy borders) before detection.
2. CGMP on the pre-crop, then one ellipse per contour (``cv2.fitEllipse``).
3. Candidates are sorted by ellipse area, descending; the first whose boundary, sampled at
   ``boundary_points`` uniform angles, lies wholly inside the pre-crop is the ROI.
4. The global reference centre is the mean ellipse centre over the OD training set (fit step).
5. The crop reaches fixed offsets up/down/left/right from the global centre (set by a person,
   e.g. by dragging handles in the GUI), the same for every image.

Everything returned is in original level-0 pixels except the stage images, which live in the
pre-crop frame whose box is reported alongside.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from core.errors import ROINotFoundError
from core.preprocess.params import EGGCCParams


@dataclass
class EllipseShape:
    """An ellipse in original level-0 pixels: semi-axes a >= b, ``angle`` of the major axis in
    degrees from +x (image coordinates, y down; a vertical ellipse has 90), in [0, 180)."""

    cx: float
    cy: float
    a: float
    b: float
    angle: float
    area: float = 0.0     # area inside the source contour, px^2
    fill: float = 0.0     # contour area / ellipse area

    def to_geometry(self) -> dict:
        return {"kind": "ellipse", "cx": float(self.cx), "cy": float(self.cy),
                "a": float(self.a), "b": float(self.b), "angle": float(self.angle)}

    def boundary(self, n: int) -> np.ndarray:
        """``n`` boundary points (n, 2) as (x, y) at uniform parameter angles."""
        t = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
        th = math.radians(self.angle)
        ca, sa = math.cos(th), math.sin(th)
        u, v = self.a * np.cos(t), self.b * np.sin(t)
        return np.stack([self.cx + u * ca - v * sa, self.cy + u * sa + v * ca], axis=1)


def precrop_box(shape: tuple[int, int], params: EGGCCParams) -> tuple[int, int, int, int]:
    """The fixed pre-crop (x0, y0, x1, y1) of an image of ``shape`` (H, W)."""
    h, w = shape
    x0, x1 = int(round(params.margin_left * w)), w - int(round(params.margin_right * w))
    y0, y1 = int(round(params.margin_top * h)), h - int(round(params.margin_bottom * h))
    return x0, y0, max(x1, x0 + 1), max(y1, y0 + 1)


def ellipse_from_rotated_rect(rect, dx: float = 0.0, dy: float = 0.0) -> EllipseShape:
    """``cv2.fitEllipse``'s ((cx, cy), (w, h), angle) as semi-axes a >= b and major-axis angle."""
    (cx, cy), (w, h), ang = rect
    if w >= h:
        a, b, major = w / 2.0, h / 2.0, ang
    else:
        a, b, major = h / 2.0, w / 2.0, ang + 90.0
    return EllipseShape(cx + dx, cy + dy, a, b, major % 180.0)


def ellipse_candidates(binary: np.ndarray, params: EGGCCParams, offset: tuple[int, int] = (0, 0)
                       ) -> tuple[list[EllipseShape], list[EllipseShape], dict]:
    """Ellipse candidates (sorted by area, descending) and those that pass; ``binary`` is the
    pre-crop frame and ``offset`` its top-left corner in the original image."""
    h, w = binary.shape
    dx, dy = offset
    contours, _ = cv2.findContours(binary, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    min_area = params.min_area * h * w
    counts = {"contours": len(contours), "area": 0, "fill": 0, "inside": 0}
    candidates: list[EllipseShape] = []
    for c in contours:
        if len(c) < 5:
            continue
        area = cv2.contourArea(c)
        if area < min_area:
            continue
        counts["area"] += 1
        e = ellipse_from_rotated_rect(cv2.fitEllipse(c), dx, dy)
        if e.a <= 0 or e.b <= 0:
            continue
        e.area, e.fill = area, area / (math.pi * e.a * e.b)
        candidates.append(e)
    candidates.sort(key=lambda e: e.a * e.b, reverse=True)
    passed: list[EllipseShape] = []
    for e in candidates:
        if e.fill < params.min_fill:
            continue
        counts["fill"] += 1
        pts = e.boundary(params.boundary_points)
        x, y = pts[:, 0] - dx, pts[:, 1] - dy
        if x.min() >= 0 and y.min() >= 0 and x.max() <= w - 1 and y.max() <= h - 1:
            counts["inside"] += 1
            passed.append(e)
    return candidates, passed, counts


def find_ellipse_roi(binary: np.ndarray, params: EGGCCParams, offset: tuple[int, int], path=None
                     ) -> tuple[EllipseShape, list[EllipseShape], list[EllipseShape], dict]:
    """The first (largest) passed ellipse; raises :class:`ROINotFoundError` otherwise."""
    candidates, passed, counts = ellipse_candidates(binary, params, offset)
    if not passed:
        raise ROINotFoundError(
            path, f"no side-surface ellipse found: {counts['contours']} contours, "
                  f"{counts['area']} above the minimum area, {counts['fill']} filling their "
                  f"ellipse, {counts['inside']} with the whole boundary inside the pre-crop")
    return passed[0], candidates, passed, counts


def global_crop_box(centre: tuple[float, float], shape: tuple[int, int], params: EGGCCParams
                    ) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1), x1/y1 exclusive, reaching the crop offsets from the reference centre."""
    h, w = shape
    gx, gy = centre
    x0 = int(math.floor(gx - params.crop_left * w))
    x1 = int(math.ceil(gx + params.crop_right * w)) + 1
    y0 = int(math.floor(gy - params.crop_up * h))
    y1 = int(math.ceil(gy + params.crop_down * h)) + 1
    return x0, y0, max(x1, x0 + 1), max(y1, y0 + 1)


def ellipse_mask(box: tuple[int, int, int, int], ellipse: EllipseShape, scale: float) -> np.ndarray:
    """Bool mask in crop coordinates: True inside ``ellipse`` scaled about its centre."""
    x0, y0, x1, y1 = box
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    shift = 4
    s = 1 << shift
    cv2.ellipse(mask, (int(round((ellipse.cx - x0) * s)), int(round((ellipse.cy - y0) * s))),
                (int(round(ellipse.a * scale * s)), int(round(ellipse.b * scale * s))),
                ellipse.angle, 0, 360, 1, -1, cv2.LINE_8, shift)
    return mask.view(bool)

"""Cluttered workshop backgrounds: fixture plates, bolt heads, washers, holes, shadows, texture.

The background is what makes ROI detection non-trivial, so it deliberately contains circles
(washers, cap screws, tapped holes, partly visible round fixtures) and straight bright edges. Every
distractor circle is kept out of the caller's *keep-out* discs, and any circle larger than
``big_radius`` is also kept ``centre_clearance`` pixels away from the image centre (with its whole
disc), which is the guarantee ``core.synth.ring`` documents for circle detection.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from core.config import param
from core.synth.texture import smooth_noise, soft_layer, streaks

_SHIFT = 4                      # cv2 sub-pixel drawing: coordinates carry 4 fractional bits
_ONE = 1 << _SHIFT


@dataclass
class ClutterParams:
    """How busy the background is; brightness values are scene radiance (level 0 maps 1.0 to 255)."""

    brightness: float = param(0.22, "mean background radiance", min=0.0, max=1.0, step=0.01)
    texture: float = param(0.22, "relative strength of large-scale background unevenness",
                           min=0.0, max=1.0, step=0.01)
    plates: tuple[int, int] = param((1, 3), "number of fixture plates (min, max)", min=0, max=10)
    bolts: tuple[int, int] = param((3, 7), "number of bolt heads / washers / cap screws (min, max)",
                                   min=0, max=30)
    holes: tuple[int, int] = param((2, 6), "number of small dark tapped holes (min, max)", min=0, max=30)
    shadows: tuple[int, int] = param((1, 3), "number of soft shadows (min, max)", min=0, max=10)
    bolt_radius: tuple[float, float] = param((0.022, 0.065), "bolt head radius range",
                                             unit="fraction of min(W,H)", min=0.005, max=0.2)


@dataclass(frozen=True)
class Circle:
    """A circle drawn into the background (for tests and for keep-out bookkeeping)."""

    cx: float
    cy: float
    r: float
    what: str


def _pts(points: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(points, np.float64) * _ONE).astype(np.int32).reshape(-1, 1, 2)


def blend(canvas: np.ndarray, alpha_u8: np.ndarray, value, box: tuple[int, int, int, int]) -> None:
    """``canvas[box] = canvas * (1 - a) + value * a`` with ``a`` an 8-bit coverage of ``box``'s size."""
    x0, y0, x1, y1 = box
    region = canvas[y0:y1, x0:x1]
    a = alpha_u8.astype(np.float32) * (1.0 / 255.0)
    if not np.isscalar(value):
        value = value[y0:y1, x0:x1] if value.shape == canvas.shape else value
    region *= 1.0 - a
    region += a * value


def _box(shape, x0, y0, x1, y1) -> tuple[int, int, int, int] | None:
    h, w = shape
    bx0, by0 = max(0, int(math.floor(x0)) - 2), max(0, int(math.floor(y0)) - 2)
    bx1, by1 = min(w, int(math.ceil(x1)) + 3), min(h, int(math.ceil(y1)) + 3)
    if bx1 <= bx0 or by1 <= by0:
        return None
    return bx0, by0, bx1, by1


def paint_polygon(canvas: np.ndarray, points: np.ndarray, value, edge: float | None = None,
                  edge_px: int = 1) -> None:
    """Fill a (sub-pixel, anti-aliased) polygon with ``value``; optionally outline it with ``edge``."""
    points = np.asarray(points, np.float64)
    box = _box(canvas.shape, *points.min(0), *points.max(0))
    if box is None:
        return
    x0, y0, x1, y1 = box
    a = np.zeros((y1 - y0, x1 - x0), np.uint8)
    local = _pts(points - [x0, y0])
    cv2.fillPoly(a, [local], 255, cv2.LINE_AA, _SHIFT)
    blend(canvas, a, value, box)
    if edge is not None:
        a[:] = 0
        cv2.polylines(a, [local], True, 255, edge_px, cv2.LINE_AA, _SHIFT)
        blend(canvas, a, edge, box)


def paint_circle(canvas: np.ndarray, cx: float, cy: float, r: float, value,
                 thickness: int = -1) -> None:
    """An anti-aliased disc (``thickness=-1``) or circle outline of radius ``r`` at (cx, cy)."""
    pad = max(0, thickness)
    box = _box(canvas.shape, cx - r - pad, cy - r - pad, cx + r + pad, cy + r + pad)
    if box is None:
        return
    x0, y0, x1, y1 = box
    a = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.circle(a, (int(round((cx - x0) * _ONE)), int(round((cy - y0) * _ONE))),
               int(round(r * _ONE)), 255, thickness, cv2.LINE_AA, _SHIFT)
    blend(canvas, a, value, box)


def _regular_polygon(cx, cy, r, n, phase) -> np.ndarray:
    t = phase + np.arange(n) * (2 * np.pi / n)
    return np.stack([cx + r * np.cos(t), cy + r * np.sin(t)], 1)


def _clear(cx, cy, r, keep_out, margin) -> bool:
    return all(math.hypot(cx - kx, cy - ky) >= r + kr + margin for kx, ky, kr in keep_out)


def _bolt(canvas, rng, cx, cy, r, base, light) -> None:
    """A hex bolt head on a washer, or a socket cap screw; faceted shading from the light direction."""
    if rng.random() < 0.55:
        paint_circle(canvas, cx, cy, r, base * rng.uniform(1.1, 1.6))                 # washer
        paint_circle(canvas, cx, cy, r, base * 2.0, thickness=1)
        hex_r = r * rng.uniform(0.62, 0.78)
        phase = rng.uniform(0, np.pi / 3)
        corners = _regular_polygon(cx, cy, hex_r, 6, phase)
        for i in range(6):                                                           # facets
            a, b = corners[i], corners[(i + 1) % 6]
            mid = math.atan2((a[1] + b[1]) / 2 - cy, (a[0] + b[0]) / 2 - cx)
            shade = 0.9 + 0.3 * math.cos(mid - light)
            paint_polygon(canvas, np.array([[cx, cy], a, b]), base * 1.5 * shade)
        paint_polygon(canvas, _regular_polygon(cx, cy, hex_r * 0.55, 6, phase), base * 1.9)
    else:
        paint_circle(canvas, cx, cy, r, base * rng.uniform(1.5, 2.3))               # cap
        paint_circle(canvas, cx, cy, r * 0.93, base * 1.2, thickness=2)
        paint_polygon(canvas, _regular_polygon(cx, cy, r * rng.uniform(0.35, 0.5), 6,
                                               rng.uniform(0, np.pi)), base * 0.25)  # socket


def render_clutter(rng: np.random.Generator, shape: tuple[int, int], params: ClutterParams,
                   keep_out: list[tuple[float, float, float]] = (), big_radius: float = math.inf,
                   centre_clearance: float = 0.0, big_circle_radius: tuple[float, float] | None = None,
                   light: float = 0.0) -> tuple[np.ndarray, list[Circle]]:
    """A float32 (H, W) background radiance image and the distractor circles drawn into it.

    ``keep_out``: discs (cx, cy, r) no distractor circle may touch. ``big_circle_radius``: if given,
    maybe add one large round fixture of that radius range, centred off the image so only an arc
    shows (it obeys ``keep_out`` and, being larger than ``big_radius``, ``centre_clearance``).
    """
    h, w = shape
    side = min(h, w)
    base = params.brightness
    img = base * (1.0 + params.texture * smooth_noise(rng, shape, 3))
    img += base * 0.08 * smooth_noise(rng, shape, 40)
    img += base * 0.06 * streaks(rng, shape, across=h // 3, along=5, horizontal=rng.random() < 0.5)
    circles: list[Circle] = []
    icx, icy = (w - 1) / 2.0, (h - 1) / 2.0

    def allowed(cx, cy, r) -> bool:
        if not _clear(cx, cy, r, keep_out, margin=0.01 * side):
            return False
        if r > big_radius and math.hypot(cx - icx, cy - icy) - r < centre_clearance:
            return False
        return all(math.hypot(cx - c.cx, cy - c.cy) >= r + c.r + 2 for c in circles)

    for _ in range(rng.integers(params.plates[0], params.plates[1] + 1)):          # fixture plates
        pw, ph = rng.uniform(0.25, 0.8) * w, rng.uniform(0.15, 0.6) * h
        px, py = rng.uniform(-0.1, 1.1) * w, rng.uniform(-0.1, 1.1) * h
        ang = rng.uniform(0, np.pi)
        c, s = math.cos(ang), math.sin(ang)
        corners = np.array([[-pw, -ph], [pw, -ph], [pw, ph], [-pw, ph]]) / 2 @ [[c, s], [-s, c]]
        value = base * rng.uniform(0.7, 1.6) * (1.0 + 0.1 * smooth_noise(rng, shape, 6))
        paint_polygon(img, corners + [px, py], value, edge=base * rng.uniform(1.6, 2.6),
                      edge_px=max(1, side // 400))

    if big_circle_radius is not None and rng.random() < 0.6:                       # round fixture
        for _ in range(40):
            r = rng.uniform(*big_circle_radius)
            t = rng.uniform(0, 2 * np.pi)
            d = math.hypot(w, h) / 2 + rng.uniform(-0.35, 0.05) * r
            cx, cy = icx + d * math.cos(t), icy + d * math.sin(t)
            if allowed(cx, cy, r):
                paint_circle(img, cx, cy, r, base * rng.uniform(1.3, 1.9))
                paint_circle(img, cx, cy, r, base * 2.6, thickness=max(1, side // 300))
                paint_circle(img, cx, cy, r * rng.uniform(0.8, 0.9), base * 0.8, thickness=2)
                circles.append(Circle(cx, cy, r, "fixture"))
                break

    for what, count, rr in (("bolt", params.bolts, params.bolt_radius),
                            ("hole", params.holes, (0.006, 0.016))):
        n = rng.integers(count[0], count[1] + 1)
        for _ in range(n):
            for _try in range(30):
                r = rng.uniform(*rr) * side
                cx, cy = rng.uniform(r, w - r), rng.uniform(r, h - r)
                if allowed(cx, cy, r * 1.05):
                    break
            else:
                continue
            if what == "bolt":
                _bolt(img, rng, cx, cy, r, base, light)
            else:
                paint_circle(img, cx, cy, r * 1.25, base * 1.6, thickness=1)
                paint_circle(img, cx, cy, r, base * 0.2)
            circles.append(Circle(cx, cy, r, what))

    def draw_shadows(canvas, scale):
        for _ in range(rng.integers(params.shadows[0], params.shadows[1] + 1)):
            n = rng.integers(3, 7)
            pc = np.array([rng.uniform(0, w), rng.uniform(0, h)])
            pts = pc + rng.normal(0, 0.18 * side, (n, 2))
            hull = cv2.convexHull(np.round(pts * scale).astype(np.int32))
            cv2.fillConvexPoly(canvas, hull, float(rng.uniform(0.25, 0.6)))

    img *= 1.0 - soft_layer(shape, draw_shadows, blur_px=0.04 * side)
    return img, circles

"""Surface dents: irregular shallow depressions with an exact footprint mask.

A dent is a random star-shaped polygon (irregular blob, random aspect and rotation) whose depth
rises from zero at the rim to its maximum inside. It changes the local *radiance* (so every
brightness level shows it, scaled by that level's exposure) in two ways: the dent floor scatters
light (darker, or for some dents brighter), and its walls catch the light on one side and shade
it on the other. The change is confined to the footprint, so the footprint is the exact mask.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from core.config import param

_SHIFT = 4


@dataclass
class DentParams:
    """Size, look and number of dents in a defective sample."""

    size: tuple[float, float] = param((0.005, 0.03), "dent footprint diameter range (min, max)",
                                      unit="fraction of min(W,H)", min=0.001, max=0.2)
    min_px: float = param(3.0, "smallest footprint diameter, whatever the image size", unit="px",
                          min=1.0, max=50.0)
    contrast: tuple[float, float] = param((0.05, 0.4), "relative radiance change at the dent's "
                                          "deepest point (low = subtle; drawn log-uniformly)",
                                          min=0.0, max=1.0)
    bright_fraction: float = param(0.25, "share of dents that look brighter than the surface",
                                   min=0.0, max=1.0)
    count: tuple[int, int] = param((1, 3), "dents per defective sample (min, max); one is likeliest",
                                   min=1, max=10)


def dent_count(rng: np.random.Generator, params: DentParams) -> int:
    """1 most often, sometimes more (up to ``params.count[1]``)."""
    lo, hi = params.count
    n = lo
    while n < hi and rng.random() < 0.3:
        n += 1
    return n


def dent_diameter(rng: np.random.Generator, params: DentParams, side: int) -> float:
    """A footprint diameter in pixels, log-uniform in the size range (small dents are common)."""
    lo, hi = params.size
    d = math.exp(rng.uniform(math.log(lo), math.log(hi))) * side
    return max(params.min_px, d)


def _blob(rng: np.random.Generator, radius: float) -> np.ndarray:
    """Vertices (N, 2) of an irregular blob centred on 0 whose farthest point is exactly ``radius``."""
    n = int(rng.integers(9, 15))
    t = np.sort(rng.uniform(0, 2 * np.pi, n)) if rng.random() < 0.3 else \
        np.arange(n) * (2 * np.pi / n) + rng.uniform(-0.15, 0.15, n)
    wobble = rng.uniform(-1, 1, n)
    wobble = (wobble + np.roll(wobble, 1) + np.roll(wobble, -1)) / 3        # smooth outline
    rad = 1.0 + 0.45 * wobble
    pts = np.stack([rad * np.cos(t), rad * np.sin(t) * rng.uniform(0.45, 1.0)], 1)
    ang = rng.uniform(0, np.pi)
    c, s = math.cos(ang), math.sin(ang)
    pts = pts @ np.array([[c, s], [-s, c]])
    return pts * (radius / np.linalg.norm(pts, axis=1).max())


def stamp_dent(radiance: np.ndarray, mask: np.ndarray, cx: float, cy: float, diameter: float,
               rng: np.random.Generator, params: DentParams, light: float) -> None:
    """Dent ``radiance`` in place around (cx, cy) and mark its footprint in ``mask`` (bool).

    The footprint lies within ``diameter / 2`` (+ 1 px of rasterisation) of (cx, cy). ``light`` is the
    direction the light comes from (radians); the wall facing it turns brighter.
    """
    h, w = radiance.shape
    radius = diameter / 2.0
    pad = int(math.ceil(radius)) + 2
    x0, y0 = max(0, int(math.floor(cx)) - pad), max(0, int(math.floor(cy)) - pad)
    x1, y1 = min(w, int(math.floor(cx)) + pad + 1), min(h, int(math.floor(cy)) + pad + 1)
    foot = np.zeros((y1 - y0, x1 - x0), np.uint8)
    pts = _blob(rng, radius) + [cx - x0, cy - y0]
    cv2.fillPoly(foot, [np.round(pts * (1 << _SHIFT)).astype(np.int32).reshape(-1, 1, 2)], 1,
                 cv2.LINE_8, _SHIFT)
    if not foot.any():                          # a blob thinner than a pixel: keep its centre
        foot[min(int(round(cy)) - y0, foot.shape[0] - 1), min(int(round(cx)) - x0, foot.shape[1] - 1)] = 1
    dist = cv2.distanceTransform(foot, cv2.DIST_L2, 3)
    depth = (dist / dist.max()) ** 0.6                      # > 0 on every footprint pixel
    gy, gx = np.gradient(cv2.GaussianBlur(depth, (0, 0), max(0.6, radius * 0.25)))
    wall = -(gx * math.cos(light) + gy * math.sin(light))   # wall facing the light gets brighter
    wall /= max(float(np.abs(wall).max()), 1e-6)
    lo, hi = params.contrast
    strength = math.exp(rng.uniform(math.log(max(lo, 1e-3)), math.log(max(hi, 1e-3))))
    sign = 1.0 if rng.random() < params.bright_fraction else -1.0
    # The floor term is at least 0.35 * strength on every footprint pixel, so the change reaches
    # the rim of the mask; the walls add a light/shade pair on top.
    effect = strength * (sign * (0.35 + 0.5 * depth) + 0.4 * wall)
    on = foot.astype(bool)
    effect[~on] = 0.0
    radiance[y0:y1, x0:x1] *= np.clip(1.0 + effect, 0.2, 3.0)
    mask[y0:y1, x0:x1] |= on

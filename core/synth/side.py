"""OD side views of an inner ring: a vertically elongated lit surface between fixture bars.

The picture: a busy background (plates, bolts, holes, shadows), the ring's outer surface as a
vertical band with cylindrical shading and horizontal grinding marks, the lit elliptical patch on
it (the region of interest), and two bright vertical fixture bars at the left and right edges.

Geometry guarantees (preprocessing and its tests rely on these; keep them stable):

- The lit surface is an ellipse with a vertical major axis (``angle`` = 90 exactly):
  ``a`` = 0.40 H and ``b`` = 0.20 W, both x (1 +- 3 %) (one common scale factor, plus +-1 %
  aspect jitter); centre = image centre ((W-1)/2, (H-1)/2) + up to +-3 % of W (x) and H (y).
  So the whole ellipse always lies inside the image.
- Fixture bars are vertical bright bands from the top to the bottom of the image, each touching
  its side of the image and no wider than 10 % of W (4.5-8.5 %).
- On level 0 the ellipse interior is much brighter than the ring body and the background around
  it (only the bars and a few small bolt heads come close), with a sharp (anti-aliased, ~0.6 px
  PSF) boundary, so CLAHE + blur + Otsu separates it once the side margins are cropped.
- Overall brightness varies from sample to sample (background +-20 %, lit surface +-10 %), as the
  paper reports for OD.
- Dents lie inside the ellipse, at normalised radius <= 0.75 (their whole footprint).
- Values in the geometry dict are rounded to 0.01 px and the image is rendered from them.

Levels (``core.synth.levels``): 0 = gain 1, clearest contrast; 1 = gain 1.2 with veiling glare
(brighter); 2 = gain 0.45, darker but still informative.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from core.config import param
from core.synth.clutter import ClutterParams, paint_circle, render_clutter
from core.synth.dent import DentParams, dent_count, dent_diameter, stamp_dent
from core.synth.levels import Exposure, expose
from core.synth.sample import SynthSample
from core.synth.texture import camera_optics, coverage, pixel_grid, smooth_noise, streaks


def _default_levels() -> tuple[Exposure, Exposure, Exposure]:
    return (Exposure(),                                                    # clearest contrast
            Exposure(gain=1.2, flare=0.3, lift=0.05),                      # brighter, glare
            Exposure(gain=0.45, read_noise=1.2))                           # darker, still usable


@dataclass
class SideParams:
    """Appearance and geometry of an OD side-view image (see the module docstring)."""

    a_frac: float = param(0.40, "semi-major (vertical) axis of the lit ellipse",
                          unit="fraction of H", min=0.1, max=0.48, group="geometry")
    b_frac: float = param(0.20, "semi-minor (horizontal) axis of the lit ellipse",
                          unit="fraction of W", min=0.05, max=0.35, group="geometry")
    scale_jitter: float = param(0.03, "sample-to-sample size jitter (relative, +-)",
                                min=0.0, max=0.1, group="geometry")
    centre_jitter: float = param(0.03, "centre jitter (+-)", unit="fraction of image size",
                                 min=0.0, max=0.1, group="geometry")
    bar_width: tuple[float, float] = param((0.045, 0.085), "fixture bar width range",
                                           unit="fraction of W", min=0.0, max=0.1, group="geometry")
    lit: float = param(0.66, "radiance of the lit surface (level 0 maps 1.0 to 255)",
                       min=0.0, max=1.0, group="look")
    body: float = param(0.24, "radiance of the unlit ring surface around it", min=0.0, max=1.0,
                        group="look")
    bars: float = param(0.82, "radiance of the fixture bars", min=0.0, max=1.0, group="look")
    spread: float = param(0.2, "sample-to-sample brightness variation of the background (+-, "
                          "relative; the lit surface varies half as much): OD histograms vary a lot",
                          min=0.0, max=0.5, group="look")
    marks: float = param(0.04, "amplitude of the horizontal grinding marks (relative)",
                         min=0.0, max=0.3, group="look")
    clutter: ClutterParams = param(default_factory=lambda: ClutterParams(brightness=0.2, bolts=(4, 9)),
                                   help="background")
    dents: DentParams = param(default_factory=DentParams, help="dents of defective samples")
    levels: tuple[Exposure, Exposure, Exposure] = param(
        default_factory=_default_levels, help="exposure of brightness levels 0, 1, 2")


def _fixture_bar(img: np.ndarray, rng: np.random.Generator, x0: int, x1: int, level: float) -> None:
    """A bright, rounded vertical bar over columns x0..x1 with a few screws along it."""
    h, w = img.shape
    width = x1 - x0
    u = (np.arange(x0, x1, dtype=np.float32) + 0.5 - x0) / width           # 0..1 across
    across = 0.7 + 0.3 * np.sin(np.pi * u) ** 0.5                           # rod-like shading
    along = 1.0 + 0.08 * smooth_noise(rng, (h, 1), 4)[:, :1]
    bar = level * across[None, :] * along
    bar += level * 0.04 * streaks(rng, (h, width), across=4, along=h // 6, horizontal=False)
    img[:, x0:x1] = bar
    img[:, x0 if x0 > 0 else x1 - 1] *= 0.55                                # inner edge line
    for _ in range(int(rng.integers(1, 4))):
        r = 0.3 * width
        y = rng.uniform(r, h - r)
        paint_circle(img, x0 + width / 2, y, r, level * 0.55)
        paint_circle(img, x0 + width / 2, y, r, level * 0.9, thickness=1)
        paint_circle(img, x0 + width / 2, y, r * 0.45, level * 0.2)


def render_side(rng: np.random.Generator, size: tuple[int, int] = (1024, 1024),
                defective: bool = False, params: SideParams | None = None) -> SynthSample:
    """Render one OD sample: three levels, the exact dent mask and the true ellipse geometry."""
    p = params or SideParams()
    # Separate streams for the scene, the dents and the sensor noise: the same rng state with and
    # without ``defective`` gives the same picture except inside the dent mask.
    rng, dent_rng, noise_rng = rng.spawn(3)
    w, h = size
    if p.b_frac * w >= p.a_frac * h:
        raise ValueError(f"{w}x{h} is too wide for a vertical OD ellipse (b_frac W >= a_frac H)")
    side = min(w, h)
    s = 1.0 + rng.uniform(-p.scale_jitter, p.scale_jitter)
    a = round(p.a_frac * h * s * (1.0 + rng.uniform(-0.01, 0.01)), 2)
    b = round(p.b_frac * w * s * (1.0 + rng.uniform(-0.01, 0.01)), 2)
    cx = round((w - 1) / 2.0 + rng.uniform(-p.centre_jitter, p.centre_jitter) * w, 2)
    cy = round((h - 1) / 2.0 + rng.uniform(-p.centre_jitter, p.centre_jitter) * h, 2)
    light = rng.uniform(-0.6, 0.6) - np.pi / 2 if rng.random() < 0.5 else rng.uniform(-0.6, 0.6) + np.pi / 2

    dim = 1.0 + rng.uniform(-p.spread, p.spread)
    clutter = replace(p.clutter, brightness=p.clutter.brightness * dim)
    lit_level = p.lit * (1.0 + 0.5 * rng.uniform(-p.spread, p.spread))
    img, _ = render_clutter(rng, (h, w), clutter, light=light)
    xs, ys = pixel_grid((h, w))

    # The ring's outer surface: a vertical band, cylindrically shaded, with grinding marks.
    half = b * rng.uniform(1.15, 1.4)
    bx0, bx1 = max(0, int(cx - half)), min(w, int(cx + half) + 1)
    u = (xs[:, bx0:bx1] - cx) / half
    band_alpha = coverage((1.0 - np.abs(u)) * half)
    cyl = p.body * dim * (0.55 + 0.45 * np.cos(np.clip(u, -1, 1) * (np.pi / 2))) * band_alpha
    grind = 1.0 + p.marks * (0.6 * streaks(rng, (h, bx1 - bx0), across=h // 2, along=4)
                             + 0.5 * streaks(rng, (h, bx1 - bx0), across=h // 12, along=3)
                             + 0.5 * np.sin(2 * np.pi * ys / rng.uniform(2.3, 3.5) + rng.uniform(0, 6.3)))
    region = img[:, bx0:bx1]
    region *= 1.0 - band_alpha
    region += cyl * grind
    for edge_x in (cx - half, cx + half - 2):                                  # silhouette edges
        xi = int(edge_x)
        if 0 <= xi < w - 2:
            img[:, xi:xi + 2] *= 0.5
    for edge_y in (cy - a - rng.uniform(0.02, 0.05) * h, cy + a + rng.uniform(0.02, 0.05) * h):
        if 1 <= edge_y < h - 2:                                                # ring's chamfer edges
            yi = int(edge_y)
            img[yi:yi + 2, bx0:bx1] *= 0.4

    # The lit patch: an ellipse with a sharp rim, a soft falloff inside, a hot spot and texture.
    ex0, ex1 = max(0, int(cx - b) - 3), min(w, int(cx + b) + 4)
    ey0, ey1 = max(0, int(cy - a) - 3), min(h, int(cy + a) + 4)
    dx, dy = xs[:, ex0:ex1] - np.float32(cx), ys[ey0:ey1] - np.float32(cy)
    nx, ny = dx / np.float32(b), dy / np.float32(a)
    rn = np.sqrt(nx * nx + ny * ny)                                         # normalised radius
    grad = np.sqrt((nx / b) ** 2 + (ny / a) ** 2) / np.maximum(rn, 1e-6)     # |d rn / d pixel|
    alpha = coverage((1.0 - rn) / np.maximum(grad, 1e-6))
    hx, hy = rng.uniform(-0.4, 0.4) * b, rng.uniform(-0.5, 0.5) * a
    lit = lit_level * (0.82 + 0.18 * (1.0 - np.minimum(rn, 1.0) ** 2))
    hot = np.exp(-((dx - hx) ** 2 / (0.3 * b * b) + (dy - hy) ** 2 / (0.3 * a * a)))
    lit = lit * (1.0 + rng.uniform(0.05, 0.15) * hot)
    lit = lit * (1.0 + 0.8 * (grind[ey0:ey1, ex0 - bx0:ex1 - bx0] - 1.0)) \
        * (1.0 + 0.015 * smooth_noise(rng, alpha.shape, 6, aspect=3.0))
    region = img[ey0:ey1, ex0:ex1]
    region *= 1.0 - alpha
    region += alpha * lit

    for left in (True, False):                                                # fixture bars
        bw = int(round(rng.uniform(*p.bar_width) * w))
        _fixture_bar(img, rng, 0 if left else w - bw, bw if left else w, p.bars * rng.uniform(0.9, 1.05))

    img = camera_optics(img, xs, ys)

    mask = np.zeros((h, w), bool)
    clean = img.copy() if defective else img
    if defective:
        for _ in range(dent_count(dent_rng, p.dents)):
            d = min(dent_diameter(dent_rng, p.dents, side), 0.5 * b)
            # The footprint's farthest point is d/2 (+1 px) from its centre; in normalised units
            # that is at most (d/2 + 1.5) / b, so the centre radius keeps the whole dent <= 0.75.
            reach = 0.75 - (d / 2 + 1.5) / b
            rad = math.sqrt(dent_rng.uniform(0, 1)) * reach
            t = dent_rng.uniform(0, 2 * np.pi)
            stamp_dent(img, mask, cx + rad * b * math.cos(t), cy + rad * a * math.sin(t), d, dent_rng,
                       p.dents, light)

    levels = expose(img, list(p.levels), noise_rng, glare_from=clean)
    geometry = {"kind": "ellipse", "cx": cx, "cy": cy, "a": a, "b": b, "angle": 90.0}
    return SynthSample(levels, mask, geometry)

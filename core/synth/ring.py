"""LC / SC end faces of an inner ring, seen from above, in a cluttered fixture.

The picture: a dark bore, then the flat ring face (the region of interest) with a chamfer at the
bore, an intermediate rib ring (a narrow groove followed by a bright step edge), fine concentric
machining marks and a bright outer chamfer, all under uneven light (a linear gradient, an off-centre
hot spot and the bow-tie reflection lobe of a turned surface). Around it: fixture plates, bolt
heads, washers, holes, a partly visible round fixture, soft shadows (including the ring's own).

Geometry guarantees (preprocessing and its tests rely on these; keep them stable):

- ``r`` (outer radius of the ring face) = ``r_frac`` x min(W, H) x (1 +- ``scale_jitter``):
  LC 0.335, SC 0.325, jitter 4 %, so always within 0.30-0.36 of min(W, H).
- centre = image centre ((W-1)/2, (H-1)/2) + up to +-5 % of W (x) and H (y).
- ``r_inner`` (bore radius) = 0.55 r (LC) / 0.62 r (SC), each +-2 %; the rib ring lies between
  r_inner and r, at 38-55 % of the face width from the bore.
- Brightness varies a little from sample to sample (background +-8 %, face +-4 %).
- On level 0 the face is the brightest large structure and its outer edge at ``r`` a clean,
  high-contrast circle (anti-aliased, blurred by a ~0.6 px camera PSF only).
- No distractor circle of any size overlaps the ring; circles with radius > 0.5 r also keep their
  whole disc at least 0.3 min(W, H) from the image centre.
- Dents lie in the face annulus at least 4 % of r from ``r_inner`` and from ``r``.
- Values in the geometry dict are rounded to 0.01 px and the image is rendered from the rounded
  values, so they are exact. Pixel centres are at integer coordinates (OpenCV convention).

Levels (``core.synth.levels``): 0 = gain 1, clearest ROI/background contrast; 1 = gain 1.1 with
veiling glare and a lifted black level (brighter, less contrast, highlights compressed); 2 = gain
0.09, nearly black, as in the paper.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import cv2
import numpy as np

from core.config import param
from core.synth.clutter import ClutterParams, render_clutter
from core.synth.dent import DentParams, dent_count, dent_diameter, stamp_dent
from core.synth.levels import Exposure, expose
from core.synth.sample import SynthSample
from core.synth.texture import camera_optics, coverage, pixel_grid, smooth_noise, soft_layer

_PROFILE_STEP = 0.25      # px; radial profiles are tabulated at quarter-pixel resolution


def _default_levels() -> tuple[Exposure, Exposure, Exposure]:
    return (Exposure(),                                                    # clearest contrast
            Exposure(gain=1.1, flare=0.2, lift=0.05),                      # brighter, glare
            Exposure(gain=0.09, read_noise=0.7, shot_noise=0.015))          # nearly black


@dataclass
class EndFaceParams:
    """Appearance and geometry of an LC or SC end-face image (see the module docstring)."""

    r_frac: float = param(0.335, "nominal outer radius of the ring face",
                          unit="fraction of min(W,H)", min=0.1, max=0.45, group="geometry")
    scale_jitter: float = param(0.04, "sample-to-sample radius jitter (relative, +-)",
                                min=0.0, max=0.2, group="geometry")
    centre_jitter: float = param(0.05, "centre jitter (+-)", unit="fraction of image size",
                                 min=0.0, max=0.1, group="geometry")
    bore_ratio: float = param(0.55, "bore radius / ring face radius", min=0.2, max=0.9,
                              group="geometry")
    bore_jitter: float = param(0.02, "bore ratio jitter (relative, +-)", min=0.0, max=0.1,
                               group="geometry")
    face: float = param(0.74, "ring face radiance (level 0 maps 1.0 to 255)", min=0.0, max=1.0,
                        group="look")
    unevenness: float = param(0.12, "strength of the light gradient across the face",
                              min=0.0, max=0.5, group="look")
    spread: float = param(0.08, "sample-to-sample brightness variation of the background (+-, "
                          "relative; the face varies half as much)", min=0.0, max=0.5, group="look")
    marks: float = param(0.035, "amplitude of the concentric machining marks (relative)",
                         min=0.0, max=0.3, group="look")
    clutter: ClutterParams = param(default_factory=ClutterParams, help="background")
    dents: DentParams = param(default_factory=DentParams, help="dents of defective samples")
    levels: tuple[Exposure, Exposure, Exposure] = param(
        default_factory=_default_levels, help="exposure of brightness levels 0, 1, 2")


def end_face_params(kind: str) -> EndFaceParams:
    """The preset for ``"LC"`` (large cross-section, top face) or ``"SC"`` (bottom face, darker)."""
    if kind == "LC":
        return EndFaceParams()
    if kind == "SC":
        return EndFaceParams(r_frac=0.325, bore_ratio=0.62, face=0.62,
                             clutter=ClutterParams(brightness=0.19))
    raise ValueError(f"end faces are LC or SC, not {kind!r}")


def _band(q: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return coverage(q - lo) * coverage(hi - q)


def _radial_profile(rng: np.random.Generator, r: float, r_inner: float, r_rib: float,
                    face: float, marks: float, side: int) -> tuple[np.ndarray, np.ndarray]:
    """Radiance and ring coverage tabulated over the radius (0 .. r + 3 px)."""
    q = np.arange(0.0, r + 3.0, _PROFILE_STEP)
    k = max(1.0, side / 1024.0)
    wave = np.zeros_like(q)
    for lo, hi, amp in ((2.2, 3.6, 0.8), (5.0, 9.0, 0.6), (16.0, 45.0, 0.7)):     # turning marks
        wave += amp * np.sin(2 * np.pi * q / (rng.uniform(lo, hi) * k) + rng.uniform(0, 2 * np.pi))
    knots = np.arange(0.0, r + 12.0, 6.0 * k)
    wave += np.interp(q, knots, rng.standard_normal(knots.size))                   # irregular bands
    relief = 1.0 + marks * wave / 2.0

    wc_in, wc_out = 0.02 * r, 0.018 * r
    w_groove, w_step = max(1.5, 0.008 * r), max(1.0, 0.005 * r)
    shade = (0.55 * _band(q, r_inner, r_inner + wc_in)
             + rng.uniform(0.86, 0.95) * _band(q, r_inner + wc_in, r_rib - w_groove / 2)
             + 0.45 * _band(q, r_rib - w_groove / 2, r_rib + w_groove / 2)
             + 1.12 * _band(q, r_rib + w_groove / 2, r_rib + w_groove / 2 + w_step)
             + 1.0 * _band(q, r_rib + w_groove / 2 + w_step, r - wc_out)
             + 1.15 * _band(q, r - wc_out, r))
    on_face = coverage(q - r_inner)
    bore = 0.04 + 0.10 * (q / r_inner) ** 6
    radiance = bore * (1.0 - on_face) + face * shade * relief * on_face
    alpha = coverage(r - q)
    return radiance.astype(np.float32), alpha.astype(np.float32)


def render_end_face(rng: np.random.Generator, size: tuple[int, int] = (1024, 1024),
                    defective: bool = False, params: EndFaceParams | str = "LC") -> SynthSample:
    """Render one LC/SC sample: three levels, the exact dent mask and the true circle geometry.

    ``size`` is (W, H). ``params`` is an :class:`EndFaceParams` or a preset name ("LC", "SC").
    """
    p = end_face_params(params) if isinstance(params, str) else params
    # Separate streams for the scene, the dents and the sensor noise: the same rng state with and
    # without ``defective`` gives the same picture except inside the dent mask.
    rng, dent_rng, noise_rng = rng.spawn(3)
    w, h = size
    side = min(w, h)
    r = round(p.r_frac * side * (1.0 + rng.uniform(-p.scale_jitter, p.scale_jitter)), 2)
    cx = round((w - 1) / 2.0 + rng.uniform(-p.centre_jitter, p.centre_jitter) * w, 2)
    cy = round((h - 1) / 2.0 + rng.uniform(-p.centre_jitter, p.centre_jitter) * h, 2)
    r_inner = round(r * p.bore_ratio * (1.0 + rng.uniform(-p.bore_jitter, p.bore_jitter)), 2)
    r_rib = r_inner + (r - r_inner) * rng.uniform(0.38, 0.55)
    light = rng.uniform(0, 2 * np.pi)                       # direction the light comes from

    clutter = replace(p.clutter, brightness=p.clutter.brightness * (1 + rng.uniform(-p.spread, p.spread)))
    face = p.face * (1.0 + 0.5 * rng.uniform(-p.spread, p.spread))
    img, _ = render_clutter(rng, (h, w), clutter, keep_out=[(cx, cy, r * 1.02)],
                            big_radius=0.5 * r, centre_clearance=0.3 * side,
                            big_circle_radius=(0.55 * r, 1.1 * r), light=light)

    def ring_shadow(canvas, scale):                          # cast away from the light
        off = 0.03 * side
        cv2.circle(canvas, (int(round((cx - off * math.cos(light)) * scale)),
                            int(round((cy - off * math.sin(light)) * scale))),
                   int(round(r * 1.03 * scale)), 1.0, -1)
    img *= 1.0 - 0.5 * soft_layer((h, w), ring_shadow, blur_px=0.025 * side)

    radial, alpha_r = _radial_profile(rng, r, r_inner, r_rib, face, p.marks, side)
    x0, y0 = max(0, int(cx - r) - 3), max(0, int(cy - r) - 3)
    x1, y1 = min(w, int(cx + r) + 4), min(h, int(cy + r) + 4)
    xs, ys = pixel_grid((h, w))
    dx, dy = xs[:, x0:x1] - np.float32(cx), ys[y0:y1] - np.float32(cy)
    rho = np.sqrt(dx * dx + dy * dy)
    idx = np.minimum((rho * (1.0 / _PROFILE_STEP) + 0.5).astype(np.int32), radial.size - 1)
    ring, alpha = radial[idx], alpha_r[idx]

    # Uneven light: a gradient, a soft hot spot and the bow-tie lobe of a turned surface.
    g = p.unevenness * rng.uniform(0.5, 1.0)
    light_field = 1.0 + g * (dx * math.cos(light) + dy * math.sin(light)) / r
    hx, hy = rng.uniform(-0.6, 0.6, 2) * r
    light_field += rng.uniform(0.05, 0.15) * np.exp(-((dx - hx) ** 2 + (dy - hy) ** 2) / (0.5 * r * r))
    lobe_dir = rng.uniform(0, np.pi)
    cosang = (dx * math.cos(lobe_dir) + dy * math.sin(lobe_dir)) / np.maximum(rho, 1.0)
    light_field *= 1.0 + rng.uniform(0.04, 0.1) * (2.0 * cosang * cosang - 1.0)
    light_field *= 1.0 + 0.02 * smooth_noise(rng, light_field.shape, 12)
    # The bore wall: seen in perspective, a lit crescent between the bore edge and the far rim.
    off = rng.uniform(0.04, 0.1) * r_inner
    wall_dir = light + np.pi + rng.uniform(-0.5, 0.5)
    wx, wy = dx - off * math.cos(wall_dir), dy - off * math.sin(wall_dir)
    far_rim = np.sqrt(wx * wx + wy * wy)
    in_bore = coverage(r_inner - rho)
    wall = in_bore * coverage(far_rim - 0.95 * r_inner)
    ring += wall * (0.06 + 0.1 * np.clip((far_rim - 0.9 * r_inner) / (0.1 * r_inner), 0, 1))
    region = img[y0:y1, x0:x1]
    region *= 1.0 - alpha
    region += alpha * ring * light_field

    img = camera_optics(img, xs, ys)

    mask = np.zeros((h, w), bool)
    clean = img.copy() if defective else img
    if defective:
        lo_r, hi_r = r_inner + 0.04 * r, r - 0.04 * r
        for _ in range(dent_count(dent_rng, p.dents)):
            # Footprint within d/2 + 1 px of its centre; keep 1.5 px of slack on both sides.
            d = min(dent_diameter(dent_rng, p.dents, side), 0.8 * (hi_r - lo_r), hi_r - lo_r - 4.0)
            rad = dent_rng.uniform(lo_r + d / 2 + 1.5, hi_r - d / 2 - 1.5)
            t = dent_rng.uniform(0, 2 * np.pi)
            stamp_dent(img, mask, cx + rad * math.cos(t), cy + rad * math.sin(t), d, dent_rng,
                       p.dents, light)

    levels = expose(img, list(p.levels), noise_rng, glare_from=clean)
    geometry = {"kind": "circle", "cx": cx, "cy": cy, "r": r, "r_inner": r_inner}
    return SynthSample(levels, mask, geometry)

"""From scene radiance to the three 8-bit brightness levels of one sample.

The same scene is "shot" three times with different exposure: ``gain`` scales the radiance,
``flare`` adds veiling glare (a blurred copy of the bright parts, which lowers ROI/background
contrast), a soft shoulder compresses highlights instead of clipping them flat (so dents stay visible
on the bright level), and sensor noise (read noise + shot noise) is drawn independently per level.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from core.config import param


@dataclass
class Exposure:
    """One brightness level's exposure."""

    gain: float = param(1.0, "radiance multiplier", min=0.0, max=10.0, step=0.05)
    flare: float = param(0.0, "veiling glare: share of the blurred image added on top",
                         min=0.0, max=1.0, step=0.01)
    lift: float = param(0.0, "constant added (black level / stray light)", min=0.0, max=1.0)
    read_noise: float = param(1.2, "sensor noise standard deviation", unit="grey levels",
                              min=0.0, max=50.0)
    shot_noise: float = param(0.008, "noise growing with brightness (std per unit of signal)",
                              min=0.0, max=0.5)
    jitter: float = param(0.05, "sample-to-sample gain jitter (relative)", min=0.0, max=0.5)


def _shoulder(x: np.ndarray, knee: float = 0.75) -> np.ndarray:
    """Identity below ``knee``, then an exponential roll-off approaching 1 (in place)."""
    top = 1.0 - knee
    over = x > knee
    x[over] = knee + top * (1.0 - np.exp(-(x[over] - knee) / top))
    return x


def expose(radiance: np.ndarray, exposures: list[Exposure], rng: np.random.Generator,
           glare_from: np.ndarray | None = None) -> list[np.ndarray]:
    """One uint8 (H, W) image per exposure, from float32 radiance (1.0 ~ full scale at gain 1).

    ``glare_from``: the radiance the veiling glare is computed from (default ``radiance``); the
    renderers pass the scene before dents, so a dent changes no pixel outside its mask.
    """
    h, w = radiance.shape
    glare_src = radiance if glare_from is None else glare_from
    glare = None
    out = []
    for e in exposures:
        g = e.gain * float(1.0 + rng.uniform(-e.jitter, e.jitter))
        x = radiance * g
        if e.flare > 0:
            if glare is None:
                small = cv2.resize(glare_src, (max(2, w // 16), max(2, h // 16)),
                                   interpolation=cv2.INTER_AREA)
                small = cv2.GaussianBlur(small, (0, 0), 3.0)
                glare = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
            x += (e.flare * g) * glare
        x += e.lift
        _shoulder(x)
        noise = rng.standard_normal((h, w), dtype=np.float32)
        sigma = e.read_noise / 255.0 + e.shot_noise * np.sqrt(np.maximum(x, 0.0))
        x += sigma * noise
        x *= 255.0
        x += 0.5
        np.clip(x, 0, 255, out=x)
        out.append(x.astype(np.uint8))
    return out

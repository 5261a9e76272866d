"""Smooth random fields and soft shapes for the synthetic renderer (float32, cheap at 1024 x 1024).

Everything large is generated small and resized (``cv2.resize`` with cubic interpolation), so a
low-frequency field costs about as much as one pass over the image. Shapes are drawn at full
resolution when their edges matter (edges detectors will look at) and at 1/8 resolution, blurred and
upsampled, when they only need to be soft (shadows, light falloff).
"""

from __future__ import annotations

import cv2
import numpy as np


def smooth_noise(rng: np.random.Generator, shape: tuple[int, int], cells: int,
                 aspect: float = 1.0) -> np.ndarray:
    """Zero-mean, unit-ish random field with about ``cells`` bumps across the shorter side.

    ``aspect`` > 1 stretches the bumps along x (brushed/streaky texture), < 1 along y.
    """
    h, w = shape
    side = min(h, w)
    gx = max(2, int(round(cells * w / side / aspect)))
    gy = max(2, int(round(cells * h / side)))
    small = rng.standard_normal((gy, gx)).astype(np.float32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def streaks(rng: np.random.Generator, shape: tuple[int, int], across: int, along: int = 6,
            horizontal: bool = True) -> np.ndarray:
    """Brushed/ground-metal streaks: ``across`` random rows (or columns) stretched along the other axis."""
    h, w = shape
    if horizontal:
        small = rng.standard_normal((max(2, across), max(2, along))).astype(np.float32)
    else:
        small = rng.standard_normal((max(2, along), max(2, across))).astype(np.float32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def soft_layer(shape: tuple[int, int], draw, blur_px: float, factor: int = 8) -> np.ndarray:
    """A soft float32 (H, W) layer in [0, 1]: ``draw(img, scale)`` paints shapes at 1/``factor`` size.

    ``draw`` receives a float32 canvas of the reduced size and the coordinate scale (1/factor); the
    canvas is blurred by ``blur_px`` (full-resolution pixels) and resized back up.
    """
    h, w = shape
    sh, sw = max(2, h // factor), max(2, w // factor)
    canvas = np.zeros((sh, sw), np.float32)
    draw(canvas, sw / w)
    sigma = max(0.5, blur_px * sw / w)
    canvas = cv2.GaussianBlur(canvas, (0, 0), sigma)
    return cv2.resize(canvas, (w, h), interpolation=cv2.INTER_LINEAR)


def pixel_grid(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates ``(x, y)`` as broadcastable float32 arrays (1, W) and (H, 1)."""
    h, w = shape
    return (np.arange(w, dtype=np.float32)[None, :], np.arange(h, dtype=np.float32)[:, None])


def coverage(signed_dist: np.ndarray) -> np.ndarray:
    """Anti-aliased inside-fraction of a pixel from a signed distance (px, positive inside)."""
    return np.clip(signed_dist + 0.5, 0.0, 1.0)


def camera_optics(img: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """A slight camera blur (PSF, sigma 0.6 px) and lens vignetting (20 % darker at the corners)."""
    h, w = img.shape[:2]
    img = cv2.GaussianBlur(img, (0, 0), 0.6)
    vx = (xs - (w - 1) / 2.0) / (0.5 * np.hypot(w, h))
    vy = (ys - (h - 1) / 2.0) / (0.5 * np.hypot(w, h))
    img *= 1.0 - 0.2 * (vx * vx + vy * vy)
    return img

"""Defect masks on disk: where they live, reading them as ``bool`` arrays, writing them atomically.

A mask is a grey PNG in level-0 image coordinates, ``ROOT/CLASS/ground_truth/GROUP/SAMPLE_mask.png``;
any non-zero pixel is defect (so 0/1, 0/255 and colour label exports all read the same way; colour
files go through the luma rule of :mod:`core.io.images`, so only pure black counts as background).
Masks are written as 8-bit 0/255 PNGs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.errors import InputError
from core.io.images import read_grey, write_png

if TYPE_CHECKING:  # pragma: no cover
    from core.io.dataset import Sample

MASK_SUFFIX = "_mask"


def mask_path_for(root: str | Path, sample: "Sample") -> Path:
    """``ROOT/CLASS/ground_truth/GROUP/SAMPLE_mask.png`` (where the mask of ``sample`` belongs)."""
    return Path(root) / sample.cls / "ground_truth" / sample.group / f"{sample.sample_id}{MASK_SUFFIX}.png"


def read_mask(path: str | Path, expected_shape: tuple[int, int] | None = None) -> np.ndarray:
    """A mask file as ``bool`` (H, W), non-zero = defect.

    Raises :class:`InputError` naming the file if it is unreadable, or if ``expected_shape``
    (H, W) is given and the mask's size differs.
    """
    path = Path(path)
    mask = read_grey(path) > 0
    if expected_shape is not None and tuple(mask.shape) != tuple(expected_shape[:2]):
        h, w = mask.shape
        eh, ew = expected_shape[:2]
        raise InputError(path, f"mask is {w}x{h} pixels but its image is {ew}x{eh}",
                         "Masks are drawn in level-0 image coordinates, at the image's full size")
    return mask


def write_mask(path: str | Path, mask: np.ndarray) -> None:
    """Save a mask (any array, non-zero = defect) as an 8-bit 0/255 PNG, atomically."""
    arr = np.asarray(mask)
    if arr.ndim != 2:
        raise ValueError(f"write_mask: expected a (H, W) mask, got shape {arr.shape}")
    write_png(path, np.where(arr != 0, 255, 0).astype(np.uint8))

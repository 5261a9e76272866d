"""What a rendered sample is, and the seeding that makes every sample reproducible on its own."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

CLASSES = ("LC", "SC", "OD")
SPLITS = ("train", "test")
GROUPS = ("good", "dent")


class SynthSample(NamedTuple):
    """One rendered sample: unpacks as ``levels, mask, geometry``.

    ``levels``: three uint8 (H, W) images, brightness levels 0, 1, 2 of the same scene.
    ``mask``: bool (H, W) exact dent footprint (all False for a good sample).
    ``geometry``: the true ROI in level-0 pixels, ``{"kind": "circle", "cx", "cy", "r", "r_inner"}``
    or ``{"kind": "ellipse", "cx", "cy", "a", "b", "angle"}`` (see docs/architecture.md).
    """

    levels: list[np.ndarray]
    mask: np.ndarray
    geometry: dict


def sample_rng(seed: int, cls: str, split: str, group: str, index: int) -> np.random.Generator:
    """The random stream of one sample, independent of how many other samples are rendered."""
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    key = [int(seed), CLASSES.index(cls), SPLITS.index(split), GROUPS.index(group), int(index)]
    return np.random.default_rng(np.random.SeedSequence(key))

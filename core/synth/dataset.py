"""Render the whole synthetic demo data set to disk, in the layout of docs/architecture.md.

::

    OUT/<CLASS>/{train,test}/{good,dent}/<sample>_<level>.png      levels 0, 1, 2
    OUT/<CLASS>/ground_truth/dent/<sample>_mask.png                 0/255, level-0 coordinates
    OUT/geometry.json                                               true ROI of every sample

Sample ids are zero-padded numbers (at least 3 digits) unique within a class across both splits and
both groups (train/good first, then train/dent, test/good, test/dent), so a mask path never depends
on the split. Every sample draws from its own random stream keyed by (seed, class, split, group,
index within that cell), so a smaller ``counts`` renders a subset of the same pictures, and the same
seed gives byte-identical files (with the same numpy and OpenCV versions: PNG bytes depend on the
encoder).
"""

from __future__ import annotations

import math
import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from core.errors import InputError
from core.io.atomic import atomic_write_bytes, atomic_write_json
from core.synth.dent import DentParams
from core.synth.ring import end_face_params, render_end_face
from core.synth.sample import CLASSES, GROUPS, SPLITS, SynthSample, sample_rng
from core.synth.side import SideParams, render_side

# The paper's Table 1: samples (each three images) per (split, class): (normal, abnormal).
PAPER_COUNTS: dict[tuple[str, str], tuple[int, int]] = {
    ("train", "LC"): (30, 6), ("train", "SC"): (94, 7), ("train", "OD"): (38, 12),
    ("test", "LC"): (7, 23), ("test", "SC"): (24, 29), ("test", "OD"): (9, 46),
}

Counts = dict[tuple[str, str, str], int]          # (class, split, group) -> samples


def resolve_counts(spec: str | float) -> Counts:
    """Samples per (class, split, group) for ``"paper"``, ``"default"`` (half) or a fraction.

    A fraction scales Table 1, rounding up, with at least 2 samples in every cell.
    """
    if isinstance(spec, str):
        text = spec.strip().lower()
        if text == "paper":
            factor = 1.0
        elif text == "default":
            factor = 0.5
        else:
            try:
                factor = float(text)
            except ValueError:
                raise ValueError(f"counts must be 'default', 'paper' or a fraction such as 0.1, "
                                 f"not {spec!r}") from None
    else:
        factor = float(spec)
    if not (math.isfinite(factor) and 0.0 < factor <= 10.0):
        raise ValueError(f"counts fraction must be in (0, 10], got {spec!r}")
    out: Counts = {}
    for cls in CLASSES:
        for split in SPLITS:
            for group, n in zip(GROUPS, PAPER_COUNTS[(split, cls)], strict=True):
                out[(cls, split, group)] = n if factor == 1.0 else max(2, math.ceil(n * factor - 1e-9))
    return out


def check_size(size: tuple[int, int]) -> None:
    """Raise ``ValueError`` unless (W, H) is a size every class can be rendered at."""
    w, h = size
    if min(w, h) < 96 or max(w, h) > 8192:
        raise ValueError(f"image size must be between 96 and 8192 pixels a side, got {w}x{h}")
    if w >= 1.8 * h:
        raise ValueError(f"image size {w}x{h} is too wide: the OD lit surface (a = 0.40 H, "
                         f"b = 0.20 W) must stay taller than wide, so W must be below 1.8 H")


def render_sample(cls: str, rng: np.random.Generator | int, size: tuple[int, int] = (1024, 1024),
                  defective: bool = False, dents: DentParams | None = None) -> SynthSample:
    """One sample of class ``cls`` ("LC", "SC", "OD") in memory: ``levels, mask, geometry``.

    ``dents`` replaces the class preset's dent size/look (None: the preset's own).
    """
    if not isinstance(rng, np.random.Generator):
        rng = np.random.default_rng(rng)
    if cls in ("LC", "SC"):
        params = end_face_params(cls)
        return render_end_face(rng, size, defective, replace(params, dents=dents) if dents else params)
    if cls == "OD":
        return render_side(rng, size, defective, SideParams(dents=dents) if dents else None)
    raise ValueError(f"class must be one of {', '.join(CLASSES)}, not {cls!r}")


@dataclass
class DemoSummary:
    """What ``render_demo`` wrote."""

    root: Path
    samples: int
    images: int
    masks: int
    counts: Counts
    seconds: float


def _png(img: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", img)
    if not ok:                                  # pragma: no cover - OpenCV cannot fail on uint8 2-D
        raise RuntimeError("PNG encoding failed")
    return buf.tobytes()


def _prepare(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise InputError(out, "exists and is not a folder", "Choose a new output folder")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise InputError(out, "folder is not empty",
                             "Choose a new folder, or pass --overwrite to replace a demo data set")
        if not (out / "geometry.json").is_file():
            raise InputError(out, "folder is not empty and holds no geometry.json, so it does not "
                             "look like a demo data set", "Refusing to overwrite it; choose a new folder")
        for cls in CLASSES:                     # only what a previous render_demo wrote
            if (out / cls).is_dir():
                shutil.rmtree(out / cls)
    out.mkdir(parents=True, exist_ok=True)


def render_demo(out: str | Path, seed: int = 0, size: tuple[int, int] = (1024, 1024),
                counts: str | float | Counts = "default",
                progress: Callable[[int, int], None] | None = None,
                overwrite: bool = False, dents: DentParams | None = None) -> DemoSummary:
    """Render the demo data set into ``out`` and return a summary.

    ``size`` is (W, H); ``counts`` is "default", "paper", a fraction of Table 1, or an explicit
    ``{(class, split, group): n}``; ``progress(done, total)`` is called after every sample.
    ``dents`` overrides every class's dent size and look (e.g. larger, clearer dents for a quick
    check that a model learns at all); None keeps the presets.
    """
    t0 = time.perf_counter()
    out = Path(out)
    w, h = size
    check_size(size)
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    table = counts if isinstance(counts, dict) else resolve_counts(counts)
    _prepare(out, overwrite)
    total = sum(table.values())
    done = images = masks = 0
    geometry: list[dict] = []
    for cls in CLASSES:
        cells = [(split, group) for split in SPLITS for group in GROUPS]
        n_class = sum(table.get((cls, s, g), 0) for s, g in cells)
        digits = max(3, len(str(max(n_class - 1, 0))))
        sample_no = 0
        for split, group in cells:
            for i in range(table.get((cls, split, group), 0)):
                sample = f"{sample_no:0{digits}d}"
                sample_no += 1
                levels, mask, geo = render_sample(cls, sample_rng(seed, cls, split, group, i),
                                                  (w, h), defective=(group != "good"), dents=dents)
                folder = out / cls / split / group
                for level, img in enumerate(levels):
                    atomic_write_bytes(folder / f"{sample}_{level}.png", _png(img))
                    images += 1
                if group != "good":
                    atomic_write_bytes(out / cls / "ground_truth" / group / f"{sample}_mask.png",
                                       _png(mask.astype(np.uint8) * 255))
                    masks += 1
                geometry.append({"class": cls, "split": split, "group": group, "sample": sample, **geo})
                done += 1
                if progress is not None:
                    progress(done, total)
    atomic_write_json(out / "geometry.json", geometry)
    return DemoSummary(out, done, images, masks, dict(table), time.perf_counter() - t0)

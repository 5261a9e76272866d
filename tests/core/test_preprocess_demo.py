"""Preprocessing accuracy against the demo renderer's true geometry (core.synth), seeds 1-3.

Per seed and class: fit the data-set statistics on rendered normal training samples, then run the
fitted pipeline on test samples (half with dents) and compare with the true shapes. Small images
(512 x 512) and small counts keep this at a few seconds.
"""

from __future__ import annotations

import numpy as np
import pytest

from core.preprocess import default_class_config, fit_class_statistics, preprocess_sample
from core.synth import render_sample, sample_rng

SIZE = (512, 512)
SEEDS = (1, 2, 3)
N_TRAIN, N_TEST = 8, 30


def render(seed: int, cls: str, split: str, group: str, index: int):
    """Sample ``index`` of the demo data set ``make-demo --seed SEED`` would write (in memory)."""
    return render_sample(cls, sample_rng(seed, cls, split, group, index), SIZE, group == "dent")


def true_centre_scale(geo: dict) -> tuple[float, float, float]:
    return geo["cx"], geo["cy"], geo["r"] if geo["kind"] == "circle" else geo["a"]


@pytest.mark.parametrize("cls", ["LC", "SC", "OD"])
def test_demo_roi_accuracy_and_dents_inside(cls):
    total = hits = 0
    misses: list[str] = []
    dents_outside: list[str] = []
    for seed in SEEDS:
        train = [render(seed, cls, "train", "good", i) for i in range(N_TRAIN)]
        config = fit_class_statistics([s.levels[0] for s in train], cls, default_class_config(cls))
        truths = [s.geometry for s in train]
        if cls == "OD":  # the global centre is the mean true centre, up to detection error
            gx, gy = config.eggcc.global_centre
            a = np.mean([g["a"] for g in truths])
            assert np.hypot(gx - np.mean([g["cx"] for g in truths]),
                            gy - np.mean([g["cy"] for g in truths])) < 0.005 * a
        else:  # r_mean is the mean true radius, up to detection error
            assert config.cgcm.r_mean == pytest.approx(np.mean([g["r"] for g in truths]),
                                                       rel=0.005)
        for i in range(N_TEST):
            group = "dent" if i % 2 else "good"
            levels, mask, geo = render(seed, cls, "test", group, i // 2)
            key = f"seed {seed} {cls}/test/{group}/{i // 2:03d}"
            total += 1
            res = preprocess_sample(levels, cls, config, path=key)
            cx, cy, scale = true_centre_scale(geo)
            err = np.hypot(res.shape.cx - cx, res.shape.cy - cy) / scale
            if err <= 0.01:
                hits += 1
            else:
                misses.append(f"{key}: centre off by {err:.2%}")
            if mask.any():
                inside = res.crop_mask(mask)
                if inside.sum() != mask.sum() or (inside & ~res.roi_mask).any():
                    dents_outside.append(key)
            assert res.composed.shape[:2] == res.roi_mask.shape
    assert hits >= 0.99 * total, (f"{cls}: centre within 1% for {hits} of {total} samples; "
                                  f"misses: {misses}")
    assert not dents_outside, f"{cls}: dent mask not wholly inside crop and ROI: {dents_outside}"


@pytest.mark.parametrize("cls", ["LC", "SC"])
def test_demo_mask_keeps_face_and_drops_bore(cls):
    """The ring mask covers the true face annulus (apart from a thin rim: the bore ratio varies
    by +-2 % and rasterised mask edges by about a pixel) and masks the bore."""
    levels, _, geo = render(4, cls, "test", "good", 0)
    res = preprocess_sample(levels, cls, default_class_config(cls))
    x0, y0 = res.crop[:2]
    yy, xx = np.mgrid[y0:res.crop[3], x0:res.crop[2]]
    rho = np.hypot(xx - geo["cx"], yy - geo["cy"])
    face = (rho >= geo["r_inner"] + 0.03 * geo["r"]) & (rho <= 0.97 * geo["r"])
    bore = rho <= geo["r_inner"] - 0.02 * geo["r"]
    outside = rho >= 1.03 * geo["r"]
    assert res.roi_mask[face].all()
    assert not res.roi_mask[bore].any() and not res.roi_mask[outside].any()

"""Preprocessing pipeline on images drawn in the test (known truth, no renderer needed)."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

from core.config import ConfigError, from_dict, load_json, save_json, to_dict
from core.errors import InputError, ROINotFoundError
from core.preprocess import (CircleShape, PreprocessConfig, default_class_config,
                             fit_class_statistics, preprocess_sample)
from core.preprocess.cgcm import select_circle
from core.preprocess.cgmp import cgmp
from core.preprocess.overlay import draw_overlay
from core.preprocess.params import CGCMParams, CGMPParams

S = 16  # cv2 drawing shift factor (4 bits) for sub-pixel shapes


def _noise(img: np.ndarray, rng, sigma=6.0) -> np.ndarray:
    return np.clip(img + rng.normal(0, sigma, img.shape), 0, 255).astype(np.uint8)


def draw_ring(rng, n=512, cx=None, cy=None, r=None, bore=0.55, face=190, bg=45, dent=None):
    """Level 0 of an end face: bright annulus, dark bore, a bright distractor disc in a corner."""
    cx = n / 2 + rng.uniform(-0.05, 0.05) * n if cx is None else cx
    cy = n / 2 + rng.uniform(-0.05, 0.05) * n if cy is None else cy
    r = rng.uniform(0.30, 0.36) * n if r is None else r
    img = np.full((n, n), bg, np.float64)
    canvas = np.zeros((n, n), np.uint8)
    cv2.circle(canvas, (int(0.1 * n * S), int(0.1 * n * S)), int(0.07 * n * S), 1, -1,
               cv2.LINE_8, 4)
    img[canvas > 0] = face + 20
    canvas[:] = 0
    cv2.circle(canvas, (int(cx * S), int(cy * S)), int(r * S), 1, -1, cv2.LINE_8, 4)
    img[canvas > 0] = face
    canvas[:] = 0
    cv2.circle(canvas, (int(cx * S), int(cy * S)), int(bore * r * S), 1, -1, cv2.LINE_8, 4)
    img[canvas > 0] = bg - 15
    mask = np.zeros((n, n), bool)
    if dent is not None:  # (normalised radius, angle in rad, dent radius px)
        rr, ang, dr = dent
        canvas[:] = 0
        cv2.circle(canvas, (int(round(cx + rr * r * np.cos(ang))),
                            int(round(cy + rr * r * np.sin(ang)))), dr, 1, -1)
        mask = canvas > 0
        img[mask] -= 40
    return _noise(img, rng), dict(cx=cx, cy=cy, r=r, r_inner=bore * r), mask


def draw_side(rng, n=512, cx=None, cy=None, a=None, b=None):
    """Level 0 of a side view: bright vertical ellipse, bright fixture bars at left and right."""
    cx = n / 2 + rng.uniform(-0.03, 0.03) * n if cx is None else cx
    cy = n / 2 + rng.uniform(-0.03, 0.03) * n if cy is None else cy
    a = 0.40 * n * rng.uniform(0.97, 1.03) if a is None else a
    b = 0.20 * n * rng.uniform(0.97, 1.03) if b is None else b
    img = np.full((n, n), 50, np.float64)
    img[:, : int(0.08 * n)] = 230
    img[:, n - int(0.08 * n):] = 230
    canvas = np.zeros((n, n), np.uint8)
    cv2.ellipse(canvas, (int(cx * S), int(cy * S)), (int(b * S), int(a * S)), 0, 0, 360, 1, -1,
                cv2.LINE_8, 4)
    img[canvas > 0] = 180
    return _noise(img, rng), dict(cx=cx, cy=cy, a=a, b=b)


def levels_of(l0: np.ndarray) -> list[np.ndarray]:
    l1 = cv2.add(l0, 40)
    return [l0, l1, (l0 // 6).astype(np.uint8)]


@pytest.mark.parametrize("cls", ["LC", "SC"])
def test_circle_roi_found_and_composed(cls):
    rng = np.random.default_rng(3)
    l0, truth, dent = draw_ring(rng, bore=0.55 if cls == "LC" else 0.62,
                                dent=(0.8, 1.0, 6))
    levels = levels_of(l0)
    cfg = default_class_config(cls)
    res = preprocess_sample(levels, cls, cfg, keep_stages=True)
    s = res.shape
    assert isinstance(s, CircleShape)
    assert np.hypot(s.cx - truth["cx"], s.cy - truth["cy"]) < 0.01 * truth["r"]
    assert abs(s.r - truth["r"]) < 0.01 * truth["r"]
    x0, y0, x1, y1 = res.crop
    assert res.composed.shape == (y1 - y0, x1 - x0, 3) == res.roi_mask.shape + (3,)
    assert res.composed.dtype == np.uint8 and res.roi_mask.dtype == bool
    # outside the ROI everything is 0; inside, channels are [l0, mix(l0, l1), l1]
    assert not res.composed[~res.roi_mask].any()
    inside = res.roi_mask
    c0 = levels[0][y0:y1, x0:x1][inside]
    c2 = levels[1][y0:y1, x0:x1][inside]
    assert np.array_equal(res.composed[..., 0][inside], c0)
    assert np.array_equal(res.composed[..., 2][inside], c2)
    mid = res.composed[..., 1][inside].astype(int)
    assert np.abs(mid - (c0.astype(int) + c2) / 2).max() <= 1
    # bore masked, face kept, dent kept inside crop and ROI
    assert not res.roi_mask[round(truth["cy"]) - y0, round(truth["cx"]) - x0]
    assert res.crop_mask(dent).sum() == dent.sum()
    assert (res.crop_mask(dent) <= res.roi_mask).all()
    expected = {"clahe", "blur", "binary", "closed"} | ({"edges", "inverted"} if cls == "SC"
                                                         else set())
    assert set(res.stages) == expected
    assert all(v.shape == l0.shape for v in res.stages.values())
    assert set(np.unique(res.stages["closed"])) <= {0, 255}
    geo = res.to_geometry()
    assert geo["kind"] == "circle" and geo["crop"] == list(res.crop)
    assert geo["r_inner"] == pytest.approx(res.extras["c_inner"])


@pytest.mark.parametrize("cls", ["LC", "SC"])
def test_keep_stages_changes_nothing_but_the_stages(cls):
    rng = np.random.default_rng(4)
    l0, _, _ = draw_ring(rng)
    plain = preprocess_sample(levels_of(l0), cls, default_class_config(cls))
    staged = preprocess_sample(levels_of(l0), cls, default_class_config(cls), keep_stages=True)
    assert plain.stages == {} and staged.stages
    assert plain.shape == staged.shape and plain.crop == staged.crop
    assert np.array_equal(plain.composed, staged.composed)


def test_dark_ring_on_bright_background_is_found_too():
    rng = np.random.default_rng(5)
    l0, truth, _ = draw_ring(rng, face=60, bg=200)
    res = preprocess_sample(levels_of(l0), "LC", default_class_config("LC"))
    assert np.hypot(res.shape.cx - truth["cx"], res.shape.cy - truth["cy"]) < 0.01 * truth["r"]
    assert abs(res.shape.r - truth["r"]) < 0.01 * truth["r"]


def test_clutter_touching_the_ring_does_not_pull_the_circle():
    """Bright plate edges (thin lines) merged into the ring's contour: the area-seeded robust fit
    ignores them, where a plain least-squares fit of the contour would be dragged off."""
    rng = np.random.default_rng(16)
    l0, truth, _ = draw_ring(rng, cx=250.0, cy=262.0, r=170.0)
    for angle in (0.3, 2.0, 4.0):
        end = (int(250 + 400 * np.cos(angle)), int(262 + 400 * np.sin(angle)))
        cv2.line(l0, (250, 262), end, 200, 4)
    cv2.circle(l0, (250, 262), int(0.55 * 170), 30, -1)  # keep the bore dark
    res = preprocess_sample(levels_of(l0), "LC", default_class_config("LC"))
    assert np.hypot(res.shape.cx - 250, res.shape.cy - 262) < 0.01 * 170
    assert abs(res.shape.r - 170) < 0.01 * 170
    assert res.shape.coverage == 1.0 and res.shape.residual < 0.01


def test_plate_merged_into_the_ring_does_not_pull_the_circle():
    """A large bright plate touching the ring drags the area centroid; the consensus seed still
    finds the ring's own circle."""
    rng = np.random.default_rng(17)
    l0, truth, _ = draw_ring(rng, cx=280.0, cy=256.0, r=160.0)
    plate = np.array([[0, 150], [125, 150], [125, 360], [0, 360]], np.int32)
    cv2.fillPoly(l0, [plate], 190)
    res = preprocess_sample(levels_of(l0), "LC", default_class_config("LC"))
    assert np.hypot(res.shape.cx - 280, res.shape.cy - 256) < 0.01 * 160
    assert abs(res.shape.r - 160) < 0.01 * 160


def test_r_mean_window_rejects_other_sizes_and_says_why():
    rng = np.random.default_rng(6)
    l0, truth, _ = draw_ring(rng)
    cfg = default_class_config("LC")
    wrong = dataclasses.replace(cfg, cgcm=dataclasses.replace(cfg.cgcm, r_mean=truth["r"] * 1.5))
    with pytest.raises(ROINotFoundError, match="0 with a radius in the window"):
        preprocess_sample(levels_of(l0), "LC", wrong, path="x/001_0.png")
    right = dataclasses.replace(cfg, cgcm=dataclasses.replace(cfg.cgcm, r_mean=truth["r"] * 1.03))
    assert abs(preprocess_sample(levels_of(l0), "LC", right).shape.r - truth["r"]) < 2


def test_top_k_picks_nearest_centre_among_largest():
    p = CGCMParams(r_mean=100.0, top_k=2)
    passed = [CircleShape(100, 100, 110), CircleShape(250, 252, 105), CircleShape(256, 256, 90)]
    assert select_circle(passed, (512, 512), p) is passed[1]
    assert select_circle(passed, (512, 512), dataclasses.replace(p, top_k=3)) is passed[2]
    assert select_circle(passed, (512, 512), dataclasses.replace(p, top_k=1)) is passed[0]
    # a concentric larger candidate (the outer edge of the same ring as a bore) takes the place
    ring = [CircleShape(254, 255, 170), CircleShape(255.5, 255.5, 95), CircleShape(60, 60, 50)]
    assert select_circle(ring[1:], (512, 512), p) is ring[1]
    assert select_circle(ring, (512, 512), p) is ring[0]
    assert select_circle([], (512, 512), p) is None


def test_crop_boundary_and_offset_rule():
    rng = np.random.default_rng(7)
    l0, truth, _ = draw_ring(rng)
    cfg = default_class_config("LC")
    p = dataclasses.replace(cfg.cgcm, boundary_rule="offset", c_inner_offset=-50.0,
                            c_outer_offset=3.0, crop_boundary="inner")
    res = preprocess_sample(levels_of(l0), "LC", dataclasses.replace(cfg, cgcm=p))
    assert res.extras["c_inner"] == pytest.approx(res.shape.r - 50)
    assert res.extras["c_outer"] == pytest.approx(res.shape.r + 3)
    x0, y0, x1, y1 = res.crop
    assert x1 - x0 == y1 - y0 == 2 * int(np.ceil(res.shape.r - 50)) + 1


@pytest.mark.parametrize("cls", ["LC", "SC", "OD"])
@pytest.mark.parametrize("value", [0, 255])
def test_blank_image_raises_with_reason(cls, value):
    blank = np.full((256, 256), value, np.uint8)
    with pytest.raises(ROINotFoundError, match="blank") as info:
        preprocess_sample([blank] * 3, cls, default_class_config(cls), path="d/LC/001_0.png")
    assert info.value.reason and "001_0.png" in str(info.value)


@pytest.mark.parametrize("cls", ["LC", "OD"])
def test_plain_noise_raises_never_a_wrong_crop(cls):
    noise = np.random.default_rng(8).integers(0, 256, (256, 256)).astype(np.uint8)
    with pytest.raises(ROINotFoundError, match="no .* found"):
        preprocess_sample([noise] * 3, cls, default_class_config(cls))


def test_mismatched_level_sizes_raise():
    rng = np.random.default_rng(9)
    l0, _, _ = draw_ring(rng)
    with pytest.raises(InputError, match="s/001_0.png: level 1 is 512x510 but level 0 is 512x512"):
        preprocess_sample([l0, l0[:-2], l0], "LC", default_class_config("LC"), path="s/001_0.png")


def test_side_view_ellipse_and_global_centre_crop():
    rng = np.random.default_rng(10)
    l0, truth = draw_side(rng)
    cfg = default_class_config("OD")
    levels = levels_of(l0)
    res = preprocess_sample(levels, "OD", cfg, keep_stages=True)
    e = res.shape
    assert np.hypot(e.cx - truth["cx"], e.cy - truth["cy"]) < 0.01 * truth["a"]
    assert e.a == pytest.approx(truth["a"], rel=0.01) and e.b == pytest.approx(truth["b"], rel=0.02)
    assert abs(e.angle - 90) < 2
    # unfitted: the crop is centred on this sample's ellipse; layout [l0, l1, l2]
    gx, gy = res.extras["global_centre"]
    assert (gx, gy) == pytest.approx((e.cx, e.cy))
    x0, y0, x1, y1 = res.crop
    assert res.composed.shape[:2] == (y1 - y0, x1 - x0)
    inner = levels[2][max(y0, 0):y1, max(x0, 0):x1]
    got = res.composed[max(-y0, 0):, max(-x0, 0):, 2][:inner.shape[0], :inner.shape[1]]
    assert np.array_equal(got, inner)
    # stages live in the pre-crop frame
    px0, py0, px1, py1 = res.extras["precrop"]
    assert res.stages["closed"].shape == (py1 - py0, px1 - px0)
    assert len(res.extras["boundary_points"]) == cfg.eggcc.boundary_points
    assert res.to_geometry()["kind"] == "ellipse"
    # a fitted global centre moves the crop, not the detected ellipse
    fitted = dataclasses.replace(cfg, eggcc=dataclasses.replace(cfg.eggcc,
                                                                global_centre=(200.0, 260.0)))
    res2 = preprocess_sample(levels, "OD", fitted)
    assert res2.shape.cx == pytest.approx(e.cx)
    assert res2.crop[0] == int(np.floor(200 - cfg.eggcc.crop_left * 512))
    assert res2.crop[1] == int(np.floor(260 - cfg.eggcc.crop_up * 512))


def test_ellipse_leaving_the_precrop_is_skipped_for_the_next_one():
    rng = np.random.default_rng(11)
    n = 512
    img = np.full((n, n), 40, np.uint8)
    cv2.ellipse(img, (256, 256), (200, 300), 0, 0, 360, 200, -1)   # too big: crosses the border
    cv2.ellipse(img, (256, 256), (60, 120), 0, 0, 360, 40, -1)     # dark inside: a hole
    img = _noise(img.astype(np.float64), rng)
    cfg = default_class_config("OD")
    res = preprocess_sample(levels_of(img), "OD", cfg)
    assert res.shape.a == pytest.approx(120, rel=0.03)
    assert res.shape.b == pytest.approx(60, rel=0.03)
    assert res.candidates[0].a > 200  # the larger one was a candidate, but not inside


def test_od_ellipse_mask_option():
    rng = np.random.default_rng(12)
    l0, truth = draw_side(rng)
    cfg = default_class_config("OD")
    cfg = dataclasses.replace(cfg, eggcc=dataclasses.replace(cfg.eggcc, mask="ellipse"))
    res = preprocess_sample(levels_of(l0), "OD", cfg)
    x0, y0 = res.crop[:2]
    assert res.roi_mask[int(truth["cy"]) - y0, int(truth["cx"]) - x0]
    assert not res.roi_mask[0, 0] and not res.composed[0, 0].any()


def test_crop_past_the_border_is_zero_padded():
    rng = np.random.default_rng(13)
    l0, truth, _ = draw_ring(rng, n=512, cx=200, cy=256, r=180)
    cfg = default_class_config("LC")
    cfg = dataclasses.replace(cfg, cgcm=dataclasses.replace(cfg.cgcm, c_outer_ratio=1.2))
    res = preprocess_sample(levels_of(l0), "LC", cfg)
    assert res.crop[0] < 0
    assert not res.composed[:, : -res.crop[0]].any()
    full = np.zeros(l0.shape, bool)
    full[:, :5] = True
    cropped = res.crop_mask(full)
    assert cropped.shape == res.roi_mask.shape
    assert not cropped[:, : -res.crop[0]].any() and cropped[:, -res.crop[0]:][:, :5].all()


def test_fit_recovers_r_mean_and_global_centre():
    rng = np.random.default_rng(14)
    rings = [draw_ring(rng) for _ in range(6)]
    calls = []
    fitted = fit_class_statistics([r[0] for r in rings], "LC", default_class_config("LC"),
                                  progress=lambda d, t, msg="": calls.append((d, t)))
    true_mean = np.mean([r[1]["r"] for r in rings])
    assert fitted.cgcm.r_mean == pytest.approx(true_mean, rel=0.005)
    assert calls[-1] == (6, 6)
    sides = [draw_side(rng) for _ in range(6)]
    fitted = fit_class_statistics((s[0] for s in sides), "OD", default_class_config("OD"))
    gx, gy = fitted.eggcc.global_centre
    assert gx == pytest.approx(np.mean([s[1]["cx"] for s in sides]), abs=1.0)
    assert gy == pytest.approx(np.mean([s[1]["cy"] for s in sides]), abs=1.0)
    assert fitted.is_fitted and not default_class_config("OD").is_fitted


def test_fit_reports_failures_and_ignores_outliers():
    rng = np.random.default_rng(18)
    sides = [draw_side(rng, cx=256.0, cy=256.0) for _ in range(4)]
    odd = draw_side(rng, cx=300.0, cy=256.0)  # one far-off centre must not shift the mean
    blank = np.zeros((512, 512), np.uint8)
    problems: list = []
    fitted = fit_class_statistics([s[0] for s in sides] + [odd[0], blank], "OD",
                                  default_class_config("OD"), problems=problems)
    assert fitted.eggcc.global_centre == pytest.approx((256.0, 256.0), abs=0.5)
    assert problems == [(5, problems[0][1])] and "blank" in problems[0][1]


def test_fit_with_no_usable_image_raises():
    with pytest.raises(ROINotFoundError, match="no ROI found in any of the 2"):
        fit_class_statistics([np.zeros((64, 64), np.uint8)] * 2, "SC", default_class_config("SC"))


def test_config_round_trip(tmp_path):
    cfg = PreprocessConfig()
    cfg.LC = dataclasses.replace(cfg.LC, cgcm=dataclasses.replace(cfg.LC.cgcm, r_mean=171.5))
    cfg.OD = dataclasses.replace(cfg.OD, eggcc=dataclasses.replace(cfg.OD.eggcc,
                                                                   global_centre=(250.5, 260.0)))
    path = tmp_path / "pre.json"
    save_json(cfg, path)
    back = load_json(PreprocessConfig, path)
    assert back == cfg
    assert back.for_class("OD").cgcm is None and back.for_class("SC").cgcm.edges
    with pytest.raises(ConfigError, match="LC.cgmp.blur_kernel: 0 is below the minimum 1"):
        data = to_dict(cfg)
        data["LC"]["cgmp"]["blur_kernel"] = 0
        from_dict(PreprocessConfig, data)
    with pytest.raises(ValueError, match="unknown class"):
        cfg.for_class("XX")


def test_partial_config_file_keeps_each_class_defaults(tmp_path):
    path = tmp_path / "partial.json"
    path.write_text('{"SC": {"cgcm": {"dr": 0.05}}, "OD": {"eggcc": {"crop_up": 0.4}}}')
    cfg = load_json(PreprocessConfig, path)
    assert cfg.SC.cgcm.dr == 0.05 and cfg.SC.cgcm.edges and cfg.SC.cgcm.c_inner_ratio == 0.635
    assert cfg.OD.cgcm is None and cfg.OD.eggcc.crop_up == 0.4
    assert cfg.OD.compose.layout == "levels" and cfg.LC == default_class_config("LC")
    assert not cfg.LC.cgcm.edges


def test_every_field_is_documented():
    from core.config import field_info
    from core.preprocess.params import ComposeParams, EGGCCParams

    for cls in (CGMPParams, CGCMParams, EGGCCParams, ComposeParams):
        for f, md in field_info(cls):
            assert md["help"] and md["group"], f"{cls.__name__}.{f.name} lacks help or group"
    fitted = {f.name for c in (CGCMParams, EGGCCParams) for f, md in field_info(c) if md["fitted"]}
    assert fitted == {"r_mean", "global_centre"}


def test_cgmp_closing_fills_gaps():
    img = np.full((128, 128), 30, np.uint8)
    cv2.circle(img, (64, 64), 40, 220, 3)
    img[64, 20:30] = 30  # a broken boundary
    img[60:69, 20:30] = 30
    p = CGMPParams(blur_kernel=1, close_kernel=15)
    stages: dict = {}
    closed = cgmp(img, p, stages)
    assert stages["binary"][64, 25] == 0 and closed[64, 24] == 255


def test_overlay_draws_shape_crop_and_mask():
    rng = np.random.default_rng(15)
    l0, truth, dent = draw_ring(rng, dent=(0.8, 2.0, 8))
    res = preprocess_sample(levels_of(l0), "LC", default_class_config("LC"))
    plain = draw_overlay(l0, res)
    assert plain.shape == l0.shape + (3,) and plain.dtype == np.uint8
    x0, y0, x1, y1 = res.crop
    assert tuple(plain[y0 + (y1 - y0) // 2, x0]) == (255, 220, 0)  # crop box edge, yellow
    tinted = draw_overlay(l0, res, dent)
    ys, xs = np.nonzero(dent)
    assert (tinted[ys, xs, 0] > tinted[ys, xs, 1]).all()  # dent shows red

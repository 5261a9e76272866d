"""The synthetic demo data set: layout, truth, determinism and the look the pipeline relies on."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from core.cli import main
from core.synth import PAPER_COUNTS, render_demo, render_end_face, render_sample, render_side, resolve_counts
from core.synth.clutter import ClutterParams, render_clutter

SIZE = (256, 256)
CIRCLE_KEYS = {"class", "split", "group", "sample", "kind", "cx", "cy", "r", "r_inner"}
ELLIPSE_KEYS = {"class", "split", "group", "sample", "kind", "cx", "cy", "a", "b", "angle"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("demo") / "data"
    render_demo(root, seed=7, size=SIZE, counts="0.05")
    return root


def _read(path: Path) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert img is not None, path
    return img


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _radius_map(shape, cx, cy):
    h, w = shape
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    return np.hypot(x - cx, y - cy)


def _ellipse_radius(shape, g):
    h, w = shape
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    return np.hypot((x - g["cx"]) / g["b"], (y - g["cy"]) / g["a"])


# ---------------------------------------------------------------- counts

def test_counts_paper_default_and_fractions():
    paper = resolve_counts("paper")
    for (split, cls), (good, dent) in PAPER_COUNTS.items():
        assert paper[(cls, split, "good")] == good and paper[(cls, split, "dent")] == dent
    assert sum(paper.values()) == 325
    default = resolve_counts("default")
    assert default[("SC", "train", "good")] == 47 and default[("LC", "test", "good")] == 4
    assert all(default[k] == max(2, math.ceil(n / 2)) for k, n in paper.items())
    tiny = resolve_counts("0.01")
    assert min(tiny.values()) == 2 and tiny[("SC", "train", "good")] == 2
    for bad in ("lots", "0", "-0.5", "nan"):
        with pytest.raises(ValueError):
            resolve_counts(bad)


# ---------------------------------------------------------------- layout and truth on disk

def test_layout_levels_and_masks(demo):
    counts = resolve_counts("0.05")
    for (cls, split, group), n in counts.items():
        folder = demo / cls / split / group
        names = sorted(p.name for p in folder.iterdir())
        samples = sorted({re.fullmatch(r"(\d{3})_([012])\.png", f).group(1) for f in names})
        assert len(samples) == n, folder
        assert len(names) == 3 * n                       # exactly three levels per sample
        for s in samples:
            levels = [_read(folder / f"{s}_{k}.png") for k in range(3)]
            assert all(i.dtype == np.uint8 and i.shape == (SIZE[1], SIZE[0]) for i in levels)
            mask_path = demo / cls / "ground_truth" / group / f"{s}_mask.png"
            if group == "good":
                assert not mask_path.exists()
            else:
                m = _read(mask_path)
                assert m.shape == (SIZE[1], SIZE[0]) and set(np.unique(m)) == {0, 255}
    for cls in ("LC", "SC", "OD"):
        assert not (demo / cls / "ground_truth" / "good").exists()
        n_masks = len(list((demo / cls / "ground_truth" / "dent").iterdir()))
        assert n_masks == counts[(cls, "train", "dent")] + counts[(cls, "test", "dent")]


def test_geometry_json_matches_files_and_schema(demo):
    entries = json.loads((demo / "geometry.json").read_text())
    on_disk = {(p.parts[-4], p.parts[-3], p.parts[-2], p.name[:-6])
               for p in demo.glob("*/*/*/*_0.png")}
    listed = {(e["class"], e["split"], e["group"], e["sample"]) for e in entries}
    assert listed == on_disk and len(entries) == len(on_disk)
    per_class_ids = {}
    for e in entries:
        if e["class"] == "OD":
            assert set(e) == ELLIPSE_KEYS and e["kind"] == "ellipse" and e["angle"] == 90.0
            assert e["a"] > e["b"] > 0
        else:
            assert set(e) == CIRCLE_KEYS and e["kind"] == "circle"
            assert 0 < e["r_inner"] < e["r"]
        numbers = set(e) - {"class", "split", "group", "sample", "kind"}
        assert all(isinstance(e[k], float) for k in numbers)
        per_class_ids.setdefault(e["class"], []).append(e["sample"])
    for ids in per_class_ids.values():                 # unique within a class, across splits
        assert len(ids) == len(set(ids))


def test_masks_lie_inside_the_true_roi(demo):
    for e in json.loads((demo / "geometry.json").read_text()):
        if e["group"] != "dent":
            continue
        m = _read(demo / e["class"] / "ground_truth" / "dent" / f"{e['sample']}_mask.png") > 0
        assert m.any()
        if e["kind"] == "circle":
            rho = _radius_map(m.shape, e["cx"], e["cy"])[m]
            assert rho.min() >= e["r_inner"] + 0.04 * e["r"] - 0.5
            assert rho.max() <= e["r"] - 0.04 * e["r"] + 0.5
        else:
            assert _ellipse_radius(m.shape, e)[m].max() <= 0.75 + 0.5 / e["b"]


def test_same_seed_same_bytes_other_seed_differs(demo, tmp_path):
    again = tmp_path / "again"
    render_demo(again, seed=7, size=SIZE, counts="0.05")
    assert _files(again) == _files(demo)
    other = tmp_path / "other"
    render_demo(other, seed=8, size=SIZE, counts={("LC", "train", "good"): 2})
    a, b = _files(other), _files(demo)
    assert a["LC/train/good/000_0.png"] != b["LC/train/good/000_0.png"]


def test_progress_and_refusing_a_non_empty_folder(tmp_path):
    calls = []
    small = {("OD", "test", "dent"): 2, ("LC", "train", "good"): 1}
    summary = render_demo(tmp_path / "d", size=(128, 128), counts=small,
                          progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 3), (2, 3), (3, 3)] and summary.images == 9 and summary.masks == 2
    from core.errors import InputError
    with pytest.raises(InputError, match="not empty"):
        render_demo(tmp_path / "d", size=(128, 128), counts=small)
    (tmp_path / "d" / "LC" / "stale.png").write_bytes(b"x")
    render_demo(tmp_path / "d", size=(128, 128), counts=small, overwrite=True)
    assert not (tmp_path / "d" / "LC" / "stale.png").exists()
    (tmp_path / "user").mkdir()
    (tmp_path / "user" / "photo.png").write_bytes(b"x")
    with pytest.raises(InputError, match="does not look like a demo"):
        render_demo(tmp_path / "user", size=(128, 128), counts=small, overwrite=True)


# ---------------------------------------------------------------- the pictures themselves

@pytest.mark.parametrize("cls", ["LC", "SC", "OD"])
def test_geometry_ranges(cls):
    w, h = 640, 480
    for seed in range(6):
        g = render_sample(cls, seed, (w, h)).geometry
        assert abs(g["cx"] - (w - 1) / 2) <= 0.05 * w + 1e-6 and abs(g["cy"] - (h - 1) / 2) <= 0.05 * h + 1e-6
        if cls == "OD":
            assert 0.40 * 0.96 <= g["a"] / h <= 0.40 * 1.04 and 0.20 * 0.96 <= g["b"] / w <= 0.20 * 1.04
            assert g["cy"] - g["a"] > 0 and g["cy"] + g["a"] < h - 1
        else:
            assert 0.30 <= g["r"] / min(w, h) <= 0.36
            ratio = {"LC": 0.55, "SC": 0.62}[cls]
            assert abs(g["r_inner"] / g["r"] - ratio) <= 0.02 * ratio + 1e-3


@pytest.mark.parametrize("cls", ["LC", "SC", "OD"])
def test_levels_brightness_order_and_contrast(cls):
    for seed in range(3):
        levels, _, g = render_sample(cls, seed, (384, 384))
        if g["kind"] == "circle":
            rho = _radius_map(levels[0].shape, g["cx"], g["cy"])
            roi = (rho > g["r_inner"] + 0.05 * g["r"]) & (rho < 0.95 * g["r"])
            bg = (rho > 1.05 * g["r"]) & (rho < 1.25 * g["r"])
        else:
            rn = _ellipse_radius(levels[0].shape, g)
            roi = rn < 0.9
            bg = (rn > 1.1) & (rn < 1.4)
            bg[:, : int(0.1 * 384)] = bg[:, -int(0.1 * 384):] = False       # fixture bars
        roi_mean = [float(img[roi].mean()) for img in levels]
        bg_mean = [float(img[bg].mean()) for img in levels]
        assert roi_mean[1] > roi_mean[0] > roi_mean[2]
        contrast = [(r - b) / (r + b) for r, b in zip(roi_mean, bg_mean, strict=True)]
        assert contrast[0] > contrast[1] and roi_mean[0] - bg_mean[0] > 60     # level 0 is clearest
        if cls == "OD":
            assert roi_mean[2] - bg_mean[2] > 20                                # dark but informative
        else:
            assert roi_mean[2] < 30                                             # nearly black


def test_ring_outer_edge_is_sharp_and_face_brightest():
    levels, _, g = render_sample("LC", 3, (512, 512))
    rho = _radius_map(levels[0].shape, g["cx"], g["cy"])
    l0 = levels[0].astype(float)
    inside = l0[(rho > g["r"] - 4) & (rho < g["r"] - 1.5)].mean()
    outside = l0[(rho > g["r"] + 1.5) & (rho < g["r"] + 4)].mean()
    assert inside - outside > 80
    face = l0[(rho > g["r_inner"] * 1.1) & (rho < g["r"] * 0.95)].mean()
    assert face > np.percentile(l0[rho > g["r"] * 1.05], 95)


@pytest.mark.parametrize("cls", ["LC", "SC", "OD"])
def test_dent_changes_pixels_only_inside_its_mask(cls):
    for seed in range(3):
        dented = render_sample(cls, np.random.default_rng(seed), (256, 256), defective=True)
        clean = render_sample(cls, np.random.default_rng(seed), (256, 256), defective=False)
        assert dented.geometry == clean.geometry and not clean.mask.any() and dented.mask.any()
        m = dented.mask
        for a, b in zip(dented.levels, clean.levels, strict=True):
            assert np.array_equal(a[~m], b[~m])
        diff = np.abs(dented.levels[0].astype(int) - clean.levels[0].astype(int))[m]
        assert (diff >= 1).mean() > 0.8


def test_dent_size_range():
    side = 1024
    sizes = []
    for seed in range(8):
        m = render_sample("OD", seed, (side, side), defective=True).mask
        n, labels = cv2.connectedComponents(m.astype(np.uint8))
        for k in range(1, n):
            ys, xs = np.nonzero(labels == k)
            sizes.append(max(np.ptp(xs), np.ptp(ys)) + 1)
    assert min(sizes) >= 0.004 * side and max(sizes) <= 0.03 * side + 2



@pytest.mark.parametrize("cls", ["LC", "SC", "OD"])
def test_dent_override_gives_larger_clearer_dents_in_the_same_scene(cls):
    from core.synth.dent import DentParams

    big = DentParams(size=(0.08, 0.1), contrast=(0.5, 0.6))
    for seed in range(2):
        preset = render_sample(cls, seed, (256, 256), defective=True)
        clear = render_sample(cls, seed, (256, 256), defective=True, dents=big)
        clean = render_sample(cls, seed, (256, 256), defective=False)
        assert clear.geometry == preset.geometry
        assert clear.mask.sum() > 2 * preset.mask.sum()
        m = clear.mask
        assert np.array_equal(clear.levels[0][~m], clean.levels[0][~m])     # only the dents differ
        diff = np.abs(clear.levels[1].astype(int) - clean.levels[1].astype(int))[m]
        assert np.median(diff) >= 10                                          # clearly visible

def test_distractor_circles_respect_the_ring():
    side, r, cx, cy = 512, 170.0, 260.0, 250.0
    seen_big = False
    for seed in range(12):
        _, circles = render_clutter(np.random.default_rng(seed), (side, side), ClutterParams(),
                                    keep_out=[(cx, cy, r * 1.02)], big_radius=0.5 * r,
                                    centre_clearance=0.3 * side, big_circle_radius=(0.55 * r, 1.1 * r))
        assert circles
        for c in circles:
            assert math.hypot(c.cx - cx, c.cy - cy) >= r * 1.02 + c.r
            if c.r > 0.5 * r:
                seen_big = True
                assert math.hypot(c.cx - (side - 1) / 2, c.cy - (side - 1) / 2) - c.r >= 0.3 * side
    assert seen_big


def test_single_sample_api_shapes():
    for fn, kw in ((render_end_face, {"params": "SC"}), (render_side, {})):
        levels, mask, geometry = fn(np.random.default_rng(0), (200, 150), True, **kw)
        assert len(levels) == 3 and all(i.shape == (150, 200) and i.dtype == np.uint8 for i in levels)
        assert mask.dtype == bool and mask.shape == (150, 200) and mask.any()
        assert geometry["kind"] in ("circle", "ellipse")


# ---------------------------------------------------------------- command line

def test_cli_help(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["make-demo", "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert "--counts" in text and "--seed" in text and "bearing-inspect make-demo" in text


def test_cli_writes_the_set_and_reports_problems(tmp_path, capsys):
    out = tmp_path / "cli"
    assert main(["make-demo", str(out), "--counts", "0.02", "--size", "128x96", "--seed", "2"]) == 0
    captured = capsys.readouterr()
    assert "samples" in captured.err and "wrote" in captured.out
    entries = json.loads((out / "geometry.json").read_text())
    assert len(entries) == sum(resolve_counts("0.02").values())
    assert _read(out / "OD" / "test" / "dent" / f"{entries[-1]['sample']}_2.png").shape == (96, 128)
    assert main(["make-demo", str(out), "--quiet"]) == 1            # not empty: a message, no traceback
    assert "not empty" in capsys.readouterr().err
    assert main(["make-demo", str(tmp_path / "big"), "--counts", "0.02", "--size", "96x96", "--quiet",
                 "--dent-size", "0.3,0.5"]) == 1                               # above the maximum 0.2
    assert "--dent-size" in capsys.readouterr().err
    for bad in (["--size", "12x12"], ["--size", "big"], ["--size", "2000x1000"], ["--counts", "many"],
                ["--dent-size", "0.05"], ["--dent-contrast", "0.6,0.2"]):
        with pytest.raises(SystemExit) as exc:
            main(["make-demo", str(tmp_path / "x"), *bad])
        assert exc.value.code == 2


@pytest.mark.parametrize("cls", ["LC", "SC", "OD"])
def test_dents_stay_inside_the_roi_at_the_smallest_size(cls):
    for seed in range(10):
        _, m, g = render_sample(cls, seed, (96, 96), defective=True)
        assert m.any()
        if g["kind"] == "circle":
            rho = _radius_map(m.shape, g["cx"], g["cy"])[m]
            assert rho.min() >= g["r_inner"] + 0.04 * g["r"] and rho.max() <= 0.96 * g["r"]
        else:
            assert _ellipse_radius(m.shape, g)[m].max() <= 0.75


def test_demo_set_scans_cleanly_with_the_dataset_reader(demo):
    from core.io.dataset import load_levels, load_mask, scan_dataset

    ds = scan_dataset(demo)
    assert not ds.problems
    assert len(ds.samples) == sum(resolve_counts("0.05").values())
    dents = [s for s in ds.samples if s.group == "dent"]
    assert dents and all(s.mask_path is not None for s in dents)
    levels = load_levels(dents[0])
    assert len(levels) == 3 and load_mask(dents[0], levels[0].shape).any()


def test_renderer_parameters_round_trip_through_config():
    from core.config import ConfigError, from_dict, to_dict
    from core.synth import EndFaceParams, SideParams, end_face_params

    for cls, obj in ((EndFaceParams, end_face_params("SC")), (SideParams, SideParams())):
        assert from_dict(cls, to_dict(obj)) == obj
    with pytest.raises(ConfigError, match="r_frac"):
        from_dict(EndFaceParams, {"r_frac": 0.9})

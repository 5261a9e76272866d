"""core.preprocess.batch over a small data set of drawn images (known truth, no renderer)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from core.io.cache import CacheParams
from core.io.dataset import scan_dataset
from core.io.images import write_png
from core.io.masks import write_mask
from core.preprocess.batch import preprocess_dataset
from core.preprocess.pipeline import PreprocessConfig

N = 256
SIZE = 64


def draw_ring(rng, dent: bool):
    """Levels 0-2 of an end face (bright annulus, dark bore) and its defect mask."""
    cx, cy = N / 2 + rng.uniform(-4, 4), N / 2 + rng.uniform(-4, 4)
    r = N * rng.uniform(0.32, 0.34)
    img = np.full((N, N), 40.0)
    cv2.circle(img, (round(cx), round(cy)), round(r), 185, -1)
    cv2.circle(img, (round(cx), round(cy)), round(0.55 * r), 25, -1)
    mask = np.zeros((N, N), np.uint8)
    if dent:
        cv2.circle(mask, (round(cx + 0.8 * r), round(cy)), 4, 1, -1)
        img[mask > 0] -= 50
    img = np.clip(img + rng.normal(0, 5, img.shape), 0, 255).astype(np.uint8)
    return [img, cv2.add(img, 40), img // 6], mask > 0, (cx, cy, r)


def draw_side(rng, dent: bool):
    """Levels 0-2 of a side view (bright vertical ellipse between bright fixture bars)."""
    cx, cy = N / 2 + rng.uniform(-3, 3), N / 2 + rng.uniform(-3, 3)
    img = np.full((N, N), 50.0)
    img[:, :20] = 230
    img[:, -20:] = 230
    cv2.ellipse(img, (round(cx), round(cy)), (round(0.2 * N), round(0.4 * N)), 0, 0, 360, 180, -1)
    mask = np.zeros((N, N), np.uint8)
    if dent:
        cv2.circle(mask, (round(cx), round(cy)), 4, 1, -1)
        img[mask > 0] -= 50
    img = np.clip(img + rng.normal(0, 5, img.shape), 0, 255).astype(np.uint8)
    return [img, cv2.add(img, 30), cv2.add(img, 60)], mask > 0, (cx, cy, 0.4 * N)


def write_sample(root: Path, cls, split, group, sid, rng) -> tuple:
    levels, mask, truth = (draw_side if cls == "OD" else draw_ring)(rng, group != "good")
    for i, lv in enumerate(levels):
        write_png(root / cls / split / group / f"{sid}_{i}.png", lv)
    if group != "good":
        write_mask(root / cls / "ground_truth" / group / f"{sid}_mask.png", mask)
    return truth


@pytest.fixture(scope="module")
def drawn(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("drawn")
    rng = np.random.default_rng(7)
    truth = {}
    for cls in ("LC", "OD"):
        for i in range(4):
            truth[f"{cls}/train/good/{i:03d}"] = write_sample(root, cls, "train", "good", f"{i:03d}", rng)
        truth[f"{cls}/test/good/100"] = write_sample(root, cls, "test", "good", "100", rng)
        truth[f"{cls}/test/dent/101"] = write_sample(root, cls, "test", "dent", "101", rng)
    return root, truth


def _broken_copy(src: Path, dst: Path) -> Path:
    import shutil
    shutil.copytree(src, dst)
    (dst / "LC" / "test" / "good" / "100_1.png").write_bytes(b"")                  # unreadable level
    write_png(dst / "LC" / "train" / "good" / "003_0.png", np.full((N, N), 90, np.uint8))  # blank
    write_mask(dst / "OD" / "ground_truth" / "dent" / "101_mask.png", np.zeros((10, 10), bool))
    return dst


def test_processes_every_sample_and_fits_statistics(drawn):
    root, truth = drawn
    ds = scan_dataset(root, classes=("LC", "OD"))
    assert ds.problems == [] and len(ds.samples) == 12
    calls = []
    res = preprocess_dataset(ds, PreprocessConfig(), CacheParams(size=SIZE),
                             progress=lambda d, t, m="": calls.append((d, t, m)))
    assert res.problems == [] and res.skipped == [] and not res.cancelled
    assert res.processed == {"LC": 6, "OD": 6} and res.n_processed == 12
    assert res.fitted == ["LC", "OD"]
    # fitted statistics: r_mean near the drawn training radii, OD centre near the drawn centres
    radii = [truth[f"LC/train/good/{i:03d}"][2] for i in range(4)]
    assert res.config.LC.cgcm.r_mean == pytest.approx(np.mean(radii), rel=0.03)
    centres = np.array([truth[f"OD/train/good/{i:03d}"][:2] for i in range(4)])
    assert np.allclose(res.config.OD.eggcc.global_centre, centres.mean(axis=0), atol=2.0)
    assert PreprocessConfig().LC.cgcm.r_mean is None  # the input config is not changed
    # progress: 8 fit images + 12 samples, counted once each, in order
    assert [c[0] for c in calls] == list(range(1, 21)) and {c[1] for c in calls} == {20}
    assert calls[0][2].startswith("fit ") and calls[-1][2] == "OD/test/dent/101"
    # records: one per sample, cache-sized, defect mask only on the dent sample
    assert [r.key for r in res.records] == [s.key for s in ds.samples]
    for r in res.records:
        assert r.composed.shape == (SIZE, SIZE, 3) and r.mask.shape == (SIZE, SIZE)
        assert r.mask.any() == (r.group == "dent") and r.label == int(r.group == "dent")
        assert r.roi_mask.any()
    # geometry list: docs/architecture.md schema with the crop, close to the drawn truth
    assert len(res.geometry) == 12
    for g in res.geometry:
        key = f"{g['class']}/{g['split']}/{g['group']}/{g['sample']}"
        cx, cy, _ = truth[key]
        assert abs(g["cx"] - cx) < 2 and abs(g["cy"] - cy) < 2
        assert g["kind"] == ("ellipse" if g["class"] == "OD" else "circle")
        assert len(g["crop"]) == 4 and g["crop"][2] > g["crop"][0]
    assert res.fingerprint and len(res.fingerprint) == 64


def test_problem_samples_are_reported_and_skipped(drawn, tmp_path):
    root = _broken_copy(drawn[0], tmp_path / "broken")
    ds = scan_dataset(root, classes=("LC", "OD"))
    fitted = preprocess_dataset(scan_dataset(drawn[0], classes=("LC", "OD")), PreprocessConfig(),
                                CacheParams(size=SIZE)).config
    res = preprocess_dataset(ds, fitted, CacheParams(size=SIZE))
    assert res.fitted == []  # already fitted: nothing to do
    by_key = {p.sample_key: p for p in res.problems}
    assert set(res.skipped) == set(by_key) == {"LC/test/good/100", "LC/train/good/003",
                                                 "OD/test/dent/101"}
    assert by_key["LC/test/good/100"].path == root / "LC" / "test" / "good" / "100_1.png"
    assert "empty" in by_key["LC/test/good/100"].problem
    assert by_key["LC/train/good/003"].problem.startswith("ROI not found")
    assert by_key["LC/train/good/003"].path == root / "LC" / "train" / "good" / "003_0.png"
    mismatch = by_key["OD/test/dent/101"]
    assert mismatch.path == root / "OD" / "ground_truth" / "dent" / "101_mask.png"
    assert "10x10" in mismatch.problem and f"{N}x{N}" in mismatch.problem
    assert res.processed == {"LC": 4, "OD": 5} and len(res.records) == 9


def test_fit_uses_readable_train_images_only(drawn, tmp_path):
    root = _broken_copy(drawn[0], tmp_path / "broken")
    res = preprocess_dataset(scan_dataset(root, classes=("LC",)), PreprocessConfig(),
                             CacheParams(size=SIZE))
    assert res.fitted == ["LC"]  # the blank training image did not stop the fit
    radii = [g["r"] for g in res.geometry]
    assert res.config.LC.cgcm.r_mean == pytest.approx(np.mean(radii), rel=0.03)


def test_sink_streams_records_and_hook_sees_full_resolution(drawn):
    ds = scan_dataset(drawn[0], classes=("OD",))
    got, hooked = [], []
    res = preprocess_dataset(ds, PreprocessConfig(), CacheParams(size=SIZE), sink=got.append,
                             on_sample=lambda s, lv, r, m: hooked.append((s.key, lv[0].shape, m.sum())))
    assert res.records == [] and [r.key for r in got] == [s.key for s in ds.samples]
    assert [h[1] for h in hooked] == [(N, N)] * 6
    assert [h[2] > 0 for h in hooked] == [False] * 5 + [True]


def test_cancel_stops_early(drawn):
    ds = scan_dataset(drawn[0], classes=("LC", "OD"))
    seen = []
    res = preprocess_dataset(ds, PreprocessConfig(), CacheParams(size=SIZE),
                             progress=lambda d, t, m="": seen.append(d), cancel=lambda: len(seen) >= 6)
    assert res.cancelled and len(seen) == 6  # during the OD fit
    assert res.fitted == ["LC"] and res.n_processed == 0
    seen.clear()
    res = preprocess_dataset(ds, PreprocessConfig(), CacheParams(size=SIZE),
                             progress=lambda d, t, m="": seen.append(d), cancel=lambda: len(seen) >= 10)
    assert res.cancelled and len(seen) == 10
    assert res.n_processed == 2 and len(res.records) == 2  # 8 fit images, then 2 samples


def test_classes_and_no_fit(drawn):
    ds = scan_dataset(drawn[0], classes=("LC", "OD"))
    res = preprocess_dataset(ds, PreprocessConfig(), CacheParams(size=SIZE), classes=["OD"],
                             fit=False)
    assert res.fitted == [] and res.processed == {"OD": 6}
    assert res.config.OD.eggcc.global_centre is None
    assert res.config == PreprocessConfig()

"""core.inference: a tiny run trained here, applied to raw samples and to cached inputs."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from core.config import from_dict, to_dict
from core.errors import BearingError, ROINotFoundError
from core.inference import Inspector, overlay_image, overlay_png, place_in_image
from core.io.cache import CacheParams, CacheWriter, open_cache
from core.io.dataset import load_levels, scan_dataset
from core.preprocess.batch import preprocess_dataset
from core.preprocess.pipeline import PreprocessConfig
from core.synth.dataset import render_demo
from core.train.runs import Run
from core.train.stages import TrainConfig, evaluate_run, train_class

COUNTS = {("LC", "train", "good"): 5, ("LC", "test", "good"): 3, ("LC", "test", "dent"): 3}


@pytest.fixture(scope="module")
def lc_run(tmp_path_factory):
    """(data root, cache, evaluated LC Dinomaly run folder) with a tiny random encoder."""
    tmp = tmp_path_factory.mktemp("inference")
    data = tmp / "data"
    render_demo(data, seed=3, size=(320, 320), counts=COUNTS)
    dataset = scan_dataset(data, classes=("LC",))
    cache = tmp / "cache.h5"
    with CacheWriter(cache, CacheParams(size=96)) as w:
        res = preprocess_dataset(dataset, PreprocessConfig(), CacheParams(size=96), sink=w.add)
        w.finish(to_dict(res.config), res.fingerprint)
    assert not res.skipped
    cfg = from_dict(TrainConfig, {"model": "dinomaly", "encoder": {"backbone": "tiny", "weights": "random"},
                                  "optim": {"total_iters": 2, "warmup_iters": 1}, "batch_size": 4,
                                  "device": "cpu", "dinomaly": {"image_size": 56}})
    run = tmp / "run"
    assert train_class(cache, "LC", cfg, run / "LC", log=lambda m: None).status == "finished"
    evaluate_run(run / "LC", cache, device="cpu")
    return data, cache, run


def test_cached_inputs_score_as_in_evaluation(lc_run):
    _, cache, run = lc_run
    insp = Inspector.from_run(run, device="cpu")      # the multi-class folder with one class
    metrics = Run(run / "LC").load_metrics()
    assert insp.cls == "LC" and insp.threshold == pytest.approx(metrics["image_threshold"])
    assert insp.random_weights and insp.cache_size == 96
    with open_cache(cache) as c:
        keys, inputs = c.keys("LC"), c.inputs("LC")
    want = {s["key"]: s["score"] for s in metrics["samples"]}
    for key, x in zip(keys, inputs):
        if key in want:
            r = insp.score_preprocessed(x)
            assert r.score == pytest.approx(want[key], rel=1e-4, abs=1e-6)
            assert r.decision == ("NG" if r.score >= insp.threshold else "OK")
            assert r.anomaly_map_roi.shape == x.shape[:2] and r.anomaly_map is None


def test_raw_levels_match_the_cached_path_and_map_back_to_level0(lc_run):
    data, _, run = lc_run
    insp = Inspector.from_run(run / "LC", device="cpu")
    want = {s["key"]: s["score"] for s in Run(run / "LC").load_metrics()["samples"]}
    ds = scan_dataset(data, classes=("LC",))
    for s in ds.select(split="test"):
        levels = load_levels(s)
        r = insp.score_levels(levels, path=s.first_path)
        # same preprocessing config, same cache-size resize: the same score as evaluation
        assert r.score == pytest.approx(want[s.key], rel=1e-3, abs=1e-5)
        assert r.anomaly_map.shape == levels[0].shape and r.anomaly_map.dtype == np.float32
        x0, y0, x1, y1 = r.crop
        assert r.anomaly_map_roi.shape == (y1 - y0, x1 - x0) == r.roi_mask.shape
        outside = np.ones(levels[0].shape, bool)
        outside[max(0, y0):y1, max(0, x0):x1] = False
        assert not r.anomaly_map[outside].any()            # 0 outside the crop box
        inside = r.anomaly_map[max(0, y0):y1, max(0, x0):x1]
        assert inside.max() > 0
        assert r.geometry["kind"] == "circle" and r.geometry["crop"] == list(r.crop)


def test_given_threshold_decides(lc_run):
    data, _, run = lc_run
    s = scan_dataset(data, classes=("LC",)).select(split="test")[0]
    levels = load_levels(s)
    low = Inspector.from_run(run, "LC", device="cpu", threshold=-1.0).score_levels(levels)
    high = Inspector.from_run(run, "LC", device="cpu", threshold=1e9).score_levels(levels)
    assert (low.decision, high.decision) == ("NG", "OK") and low.score == pytest.approx(high.score)


def test_blank_image_is_roi_failure(lc_run):
    _, _, run = lc_run
    insp = Inspector.from_run(run, device="cpu")
    blank = [np.full((320, 320), 90, np.uint8)] * 3
    with pytest.raises(ROINotFoundError):
        insp.score_levels(blank, path="blank_0.png")


def test_run_without_threshold_says_evaluate_or_pass_one(lc_run, tmp_path):
    import shutil

    _, _, run = lc_run
    copy = tmp_path / "LC"
    shutil.copytree(run / "LC", copy)
    (copy / "metrics.json").unlink()
    with pytest.raises(BearingError, match="evaluate.*--threshold"):
        Inspector.from_run(copy, device="cpu")
    assert Inspector.from_run(copy, device="cpu", threshold=0.5).threshold == 0.5
    with pytest.raises(BearingError, match="no SC run"):
        Inspector.from_run(run, "SC", device="cpu")
    rec = json.loads((copy / "run.json").read_text())
    rec["status"] = "cancelled"
    (copy / "run.json").write_text(json.dumps(rec))
    with pytest.raises(BearingError, match="cancelled"):
        Inspector.from_run(copy, device="cpu", threshold=0.5)


def test_place_in_image_clips_a_box_outside_the_image():
    m = np.arange(16, dtype=np.float32).reshape(4, 4) + 1
    out = place_in_image(m, (-2, -1, 2, 3), (3, 5))
    assert out.shape == (3, 5)
    np.testing.assert_array_equal(out[:, 0:2], m[1:4, 2:4])     # rows/columns inside the image
    assert out.sum() == m[1:4, 2:4].sum()


def test_overlay_shows_heat_contour_and_bar(lc_run):
    data, _, run = lc_run
    s = scan_dataset(data, classes=("LC",)).select(split="test", group="dent")[0]
    levels = load_levels(s)
    insp = Inspector.from_run(run, device="cpu")
    r = insp.score_levels(levels)
    r.threshold = float(np.quantile(r.anomaly_map[r.anomaly_map > 0], 0.9))   # a contour to draw
    img = overlay_image(levels[0], r)
    h, w = levels[0].shape
    assert img.shape[0] == h and img.shape[1] > w and img.dtype == np.uint8
    grey = cv2.cvtColor(levels[0], cv2.COLOR_GRAY2RGB)
    tinted = np.abs(img[:, :w].astype(int) - grey).sum(axis=2) > 30
    assert tinted[40:].any()                                          # heat map inside the ROI
    white = (img[:, :w] == 255).all(axis=2)[30:].sum()
    r.threshold = 1e9                                                   # nothing reaches it
    assert white > (overlay_image(levels[0], r)[:, :w] == 255).all(axis=2)[30:].sum()  # the contour
    png = overlay_png(levels[0], r, max_side=160)
    dec = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and dec.shape[0] == 160 and dec.shape[1] == 160 + 64  # + colour bar


def test_inspect_parts_merge_in_natural_order_with_counts(tmp_path):
    from core.commands.inspect import COLUMNS, merge_parts

    a, b = tmp_path / "a.part", tmp_path / "b.part"
    a.write_text("lot/2,LC,0.5,NG,0.4,\nlot/10,LC,0.1,OK,0.4,\n")
    b.write_text("lot/3,LC,,unreadable,0.4,\"x.png: truncated, sorry\"\n")
    counts = merge_parts([a, b], tmp_path / "results.csv")
    lines = (tmp_path / "results.csv").read_text().splitlines()
    assert lines[0] == ",".join(COLUMNS)
    assert [ln.split(",")[0] for ln in lines[1:]] == ["lot/2", "lot/3", "lot/10"]
    assert counts["NG"] == counts["OK"] == counts["unreadable"] == 1 and counts["ROI-failed"] == 0

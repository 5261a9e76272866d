"""Results browser on tiny runs trained here: Table 2, curves, threshold + confusion matrix, sample
table, heat-map views, accept-as-label, comparison of two runs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bearing_gui.qt import QtCore
from core.config import to_dict
from core.io.cache import CacheParams, CacheWriter
from core.io.dataset import scan_dataset
from core.preprocess.batch import preprocess_dataset
from core.preprocess.pipeline import PreprocessConfig
from core.train.runs import Run
from core.train.stages import evaluate_run, train_class
from tests.gui.conftest import key, pump
from tests.gui.test_training_panel import tiny_config


@pytest.fixture(scope="module")
def runs(demo_master, tmp_path_factory):
    """(runs root, [two evaluated LC run roots]) trained on the demo data with a random tiny encoder."""
    tmp = tmp_path_factory.mktemp("gui_runs")
    ds = scan_dataset(demo_master, classes=("LC",))
    cache = tmp / "cache.h5"
    with CacheWriter(cache, CacheParams(size=96)) as w:
        res = preprocess_dataset(ds, PreprocessConfig(), CacheParams(size=96), sink=w.add, classes=["LC"])
        w.finish(to_dict(res.config), res.fingerprint)
    roots = []
    for name, seed in (("first", 0), ("second", 1)):
        cfg = tiny_config(3)
        cfg.seed = seed
        run = tmp / "runs" / name / "LC"
        assert train_class(cache, "LC", cfg, run, log=lambda m: None).status == "finished"
        evaluate_run(run, cache, device="cpu")
        roots.append(tmp / "runs" / name)
    return tmp / "runs", roots


@pytest.fixture
def results_window(make_window, demo_data, runs, qtbot):
    w = make_window()
    assert w.open_path(demo_data)
    w.set_runs_root(runs[0])
    yield w
    w.results_ctl.wait()


def open_run(qtbot, w, folder):
    w.open_results(str(folder))
    qtbot.waitUntil(lambda: w.results_ctl.results is not None and w.results_ctl.results.folder == folder,
                    timeout=60000)
    pump(0.05)
    return w.results_ctl.results


def expected_counts(scores, labels, t):
    pred = scores >= t
    return {"TP": int((pred & (labels == 1)).sum()), "FN": int((~pred & (labels == 1)).sum()),
            "FP": int((pred & (labels == 0)).sum()), "TN": int((~pred & (labels == 0)).sum())}


def test_runs_list_opens_results_with_table2_and_curves(results_window, runs, qtbot):
    w = results_window
    root, (first, _second) = runs
    assert len(w.runs_panel.rows) == 2 and all(r.status == "finished" for r in w.runs_panel.rows)
    w.runs_panel.select(first / "LC")
    assert w.runs_panel.open_btn.isEnabled()
    w.runs_panel.open_btn.click()
    qtbot.waitUntil(lambda: w.results_ctl.results is not None, timeout=60000)
    pump(0.05)
    rp = w.results_panel
    metrics = Run(first / "LC").load_metrics()
    # Table 2: the class row and the mean row, every metric as in metrics.json
    assert [rp.table.verticalHeaderItem(i).text() for i in range(rp.table.rowCount())] == ["LC", "mean"]
    for j, k in enumerate(("I-AUROC", "I-AP", "I-F1", "P-AUROC", "P-AP", "P-F1", "P-AUPRO")):
        v = metrics["metrics"][k]
        assert rp.table.item(0, j).text() == (f"{v:.3f}" if math.isfinite(v) else "n/a")
        assert rp.table.item(1, j).text() == rp.table.item(0, j).text()  # mean of one class
    # curves: ROC and PR from the scores, PRO from the predicted maps; F1-optimal point marked
    r = w.results_ctl.results
    assert len(rp.roc.curves) == 1 and len(r.roc[0]) >= 2 and r.roc[0][-1] == pytest.approx(1.0)
    assert len(rp.pr.curves) == 1
    qtbot.waitUntil(lambda: not w.results_ctl.busy, timeout=60000)   # PRO comes after the rest
    pump(0.05)
    assert r.pro is not None and len(rp.pro.curves) == 1, r.pro_note
    assert r.pro[0][-1] == pytest.approx(1.0) and 0 <= r.pro[1].min() and r.pro[1].max() <= 1
    assert len(rp.roc.marker.data) == 1
    assert "RANDOM" in rp.warning.text() and rp.warning.isVisibleTo(rp)
    # the histogram holds every test sample in its good / dent bins
    assert r.good_counts.sum() == (r.labels == 0).sum() and r.defect_counts.sum() == (r.labels == 1).sum()


def test_threshold_moves_the_confusion_matrix_and_predictions(results_window, runs, qtbot):
    w = results_window
    r = open_run(qtbot, w, runs[1][0] / "LC")
    rp = w.results_panel
    scores, labels = r.scores, r.labels
    assert rp.hist.threshold() == pytest.approx(r.threshold)
    assert rp.confusion_counts() == expected_counts(scores, labels, r.threshold)
    # drag the line (as the mouse does: the line's position changes) below every score: all NG
    low = float(scores.min()) - 1e-3
    rp.hist.line.setValue(low)
    pump()
    assert w.results_ctl.threshold == pytest.approx(low)
    c = rp.confusion_counts()
    assert c == {"TP": int(labels.sum()), "FN": 0, "FP": int((labels == 0).sum()), "TN": 0}
    assert rp.threshold_spin.value() == pytest.approx(low, abs=1e-6)
    preds = {rp.samples.item(i, 0).text(): rp.samples.item(i, 3).text() for i in range(rp.samples.rowCount())}
    assert set(preds.values()) == {"NG"}
    # type a threshold between two scores: the matrix follows
    s = np.sort(scores)
    k = len(s) // 2
    mid = float(s[k - 1] + s[k]) / 2                   # between two scores (the spin box rounds)
    rp.threshold_spin.setValue(mid)
    pump()
    t = w.results_ctl.threshold
    assert t == pytest.approx(mid, abs=1e-6) and rp.hist.threshold() == pytest.approx(t)
    assert rp.confusion_counts() == expected_counts(scores, labels, t)
    assert sum(expected_counts(scores, labels, t)[x] for x in ("TP", "FP")) == len(s) - k
    # the uncertain band takes samples out of the matrix
    rp.band_box.setChecked(True)
    lo, hi = w.results_ctl.band
    inside = int(((scores >= lo) & (scores <= hi)).sum())
    assert sum(rp.confusion_counts().values()) == len(scores) - inside
    assert "uncertain" in rp.rates.text()
    rp.band_box.setChecked(False)
    rp.optimal_btn.click()
    assert w.results_ctl.threshold == pytest.approx(r.threshold)
    # sorting by score puts the highest first
    rp.samples.sortByColumn(2, QtCore.Qt.SortOrder.DescendingOrder)
    shown = [float(rp.samples.item(i, 2).data(QtCore.Qt.ItemDataRole.DisplayRole))
             for i in range(rp.samples.rowCount())]
    assert shown == sorted(shown, reverse=True)
    rp.samples.sortByColumn(1, QtCore.Qt.SortOrder.AscendingOrder)
    labels_shown = [rp.samples.item(i, 1).text() for i in range(rp.samples.rowCount())]
    assert labels_shown == sorted(labels_shown)


def test_selected_sample_heatmap_in_roi_and_original_coordinates(results_window, runs, qtbot):
    w = results_window
    r = open_run(qtbot, w, runs[1][0] / "LC")
    rp = w.results_panel
    dent = next(k for k, lab in zip(r.keys, r.labels) if lab == 1)
    rp.select_key(dent)
    qtbot.waitUntil(lambda: rp.view is not None and rp.view.key == dent, timeout=60000)
    pump(0.05)
    v = rp.view
    x0, y0, x1, y1 = v.crop
    assert rp.heatmap.base.image.shape == (y1 - y0, x1 - x0) == rp.heatmap.heat.image.shape
    w.show_dock("results")
    rp.tabs.setCurrentIndex(1)
    pump(0.1)
    shot = rp.heatmap.grab().toImage()
    colours = {shot.pixel(x, y) for x in range(0, shot.width(), 7) for y in range(0, shot.height(), 7)}
    assert len(colours) > 50          # the image and the map are painted, not an empty view
    want = r.scores[r.keys.index(dent)]
    assert v.score == pytest.approx(want, rel=1e-3, abs=1e-5)   # same score as the evaluation
    assert v.roi_gt is not None and v.roi_gt.any()                 # the dent's mask, cropped
    assert rp.heatmap.gt.isVisible()
    rp.coords.setCurrentIndex(1)
    assert rp.heatmap.base.image.shape == v.level0.shape == rp.heatmap.heat.image.shape
    rp.opacity.setValue(20)
    assert rp.heatmap.heat.opacity() == pytest.approx(0.2)
    assert dent in rp.sample_info.text() and "dent" in rp.sample_info.text()


def test_accept_prediction_as_label(results_window, runs, qtbot):
    w = results_window
    r = open_run(qtbot, w, runs[1][0] / "LC")
    rp = w.results_panel
    good = next(k for k, lab in zip(r.keys, r.labels) if lab == 0)
    rp.set_threshold(float(r.scores.min()) - 1.0)       # everything NG
    rp.select_key(good)
    rp.samples.setFocus()
    key(qtbot, w, "A")                                   # the panel's shortcut = the button
    qtbot.waitUntil(lambda: w.session.labels.target is not None and w.session.labels.target.key == good
                    and w.session.labels.label == "dent", timeout=30000)
    assert w.session.labels.undo_stack.canUndo()         # one undoable step, like pressing D


def test_latest_opened_run_wins(results_window, runs, qtbot):
    w = results_window
    _, (first, second) = runs
    w.open_results(str(first / "LC"))
    w.open_results(str(second / "LC"))       # opened before the first finished loading
    qtbot.waitUntil(lambda: not w.results_ctl.busy and w.results_ctl.results is not None, timeout=60000)
    w.results_ctl.wait()
    pump(0.1)
    assert w.results_ctl.results.folder == second / "LC"
    assert "second/LC" in w.results_panel.header.text()


def test_compare_two_runs(results_window, runs, qtbot):
    w = results_window
    _, (first, second) = runs
    w.runs_panel.tree.clearSelection()
    w.runs_panel.select(first / "LC")
    for i in range(w.runs_panel.tree.topLevelItemCount()):
        item = w.runs_panel.tree.topLevelItem(i)
        if item.text(0) == "second/LC":
            item.setSelected(True)
    assert w.runs_panel.compare_btn.isEnabled()
    w.runs_panel.compare_btn.click()
    rp = w.results_panel
    qtbot.waitUntil(lambda: rp.compare_box.isVisibleTo(rp), timeout=60000)
    assert rp.compare_table.rowCount() == 3 and len(rp.compare_roc.curves) == 2
    m1 = Run(first / "LC").load_metrics()["metrics"]["I-AUROC"]
    m2 = Run(second / "LC").load_metrics()["metrics"]["I-AUROC"]
    texts = {rp.compare_table.verticalHeaderItem(i).text(): rp.compare_table.item(i, 0).text()
             for i in range(3)}
    assert texts["first/LC"] == f"{m1:.3f}" or texts["second/LC"] == f"{m1:.3f}"
    assert texts["difference (2nd − 1st)"] in (f"{m2 - m1:.3f}", f"{m1 - m2:.3f}")


def test_unevaluated_run_is_a_message(results_window, tmp_path, qtbot, runs):
    w = results_window
    bad = runs[0] / "first" / "LC"
    metrics = bad / "metrics.json"
    saved = metrics.read_bytes()
    metrics.unlink()
    try:
        w.open_results(str(bad))
        qtbot.waitUntil(lambda: "not been evaluated" in w.last_error, timeout=30000)
        assert "Could not open" in w.results_panel.header.text()
    finally:
        metrics.write_bytes(saved)

import numpy as np
import pytest

from tests.gui.conftest import click_image, drag_image, key, wait_sample

pytestmark = pytest.mark.gui


def first_key(window, cls="LC", split="train", group="good"):
    return next(s.key for s in window.session.samples
                if (s.cls, s.split, s.group) == (cls, split, group))


def _open_good(make_window, demo_data, qtbot, where=("LC", "train", "good")):
    w = make_window()
    assert w.open_path(demo_data)
    key_ = first_key(w, *where)
    w.session.select_key(key_)
    wait_sample(qtbot, w, key_)
    w.viewer.view.fit()
    return w


def test_paint_undo_redo_and_autosave(make_window, demo_data, qtbot):
    w = _open_good(make_window, demo_data, qtbot)
    labels = w.session.labels
    mask_file = demo_data / "LC" / "ground_truth" / "good" / "000_mask.png"
    assert not labels.mask.any() and labels.label == "good"
    w.label_panel.radius.setValue(6)
    key(qtbot, w, "B")
    assert w.viewer.view.tool == "brush"
    drag_image(w.viewer.view, [(100, 100), (110, 104), (120, 108), (140, 110)])
    painted = labels.mask.copy()
    assert painted[100:112, 100:141].sum() > 100
    assert painted.sum() < 2000  # only along the stroke
    assert labels.label == "dent"  # painting a dent makes the sample a dent
    assert labels.undo_stack.count() == 1  # one stroke = one step
    from core.io.masks import read_mask

    assert np.array_equal(read_mask(mask_file), painted)
    key(qtbot, w, "Ctrl+Z")
    assert not labels.mask.any() and labels.label == "good"
    assert not mask_file.exists()
    key(qtbot, w, "Ctrl+Shift+Z")
    assert np.array_equal(labels.mask, painted)
    assert np.array_equal(read_mask(mask_file), painted)
    # the overlay shows the mask
    assert np.array_equal(w.viewer.view.label_item.image.astype(bool), painted)


def test_eraser_polygon_rectangle(make_window, demo_data, qtbot):
    w = _open_good(make_window, demo_data, qtbot)
    labels = w.session.labels
    view = w.viewer.view
    key(qtbot, w, "R")
    drag_image(view, [(50, 50), (60, 55), (80, 70)])
    assert labels.mask[50:71, 50:81].all() and labels.mask.sum() == 21 * 31
    key(qtbot, w, "E")
    w.label_panel.radius.setValue(3)
    click_image(view, 65, 60)
    assert not labels.mask[60, 65] and labels.mask[50, 50]
    key(qtbot, w, "P")
    for x, y in [(150, 150), (200, 150), (200, 200)]:
        click_image(view, x, y)
    key(qtbot, w, "Return")
    assert labels.mask[160, 190] and not labels.mask[190, 160]  # below the diagonal: outside
    assert labels.undo_stack.count() == 3
    # a second polygon closed by double-clicking its last corner
    for x, y in [(20, 200), (60, 200)]:
        click_image(view, x, y)
    click_image(view, 40, 240, double=True)
    assert labels.mask[210, 40] and labels.undo_stack.count() == 4
    key(qtbot, w, "]")
    assert w.label_panel.radius.value() > 3


def test_mask_survives_restart(make_window, demo_data, qtbot):
    w = _open_good(make_window, demo_data, qtbot, ("LC", "test", "good"))
    k = w.session.current.key
    key(qtbot, w, "R")
    drag_image(w.viewer.view, [(30, 40), (40, 45), (60, 80)])
    painted = w.session.labels.mask.copy()
    assert painted.any()
    w.close()
    w2 = make_window()
    assert w2.open_path(demo_data)
    w2.session.select_key(k)
    wait_sample(qtbot, w2, k)
    assert np.array_equal(w2.session.labels.mask, painted)
    assert w2.session.labels.label == "dent"
    assert np.array_equal(w2.viewer.view.label_item.image.astype(bool), painted)
    item = w2.browser._items[k]
    assert item.text(1).startswith("dent")


def test_mark_good_and_dent_with_keys(make_window, demo_data, qtbot):
    w = _open_good(make_window, demo_data, qtbot, ("LC", "test", "dent"))
    k = w.session.current.key
    sid = k.rsplit("/", 1)[1]
    mask_file = demo_data / "LC" / "ground_truth" / "dent" / f"{sid}_mask.png"
    labels = w.session.labels
    assert labels.label == "dent" and labels.mask.any()  # demo masks are read from disk
    key(qtbot, w, "G")
    assert labels.label == "good" and not labels.mask.any()
    assert not mask_file.exists()
    assert f'"{k}": "good"' in (demo_data / "labels.json").read_text()
    assert "13 good, 11 dent · 1 relabelled" in w.browser.summary.text()
    key(qtbot, w, "Ctrl+Z")
    assert labels.label == "dent" and labels.mask.any()
    assert mask_file.exists()


def test_failed_save_keeps_sample_unsaved(make_window, demo_data, qtbot, monkeypatch):
    import core.io.masks as masks

    w = _open_good(make_window, demo_data, qtbot)

    def full_disk(path, mask):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(masks, "write_mask", full_disk)
    key(qtbot, w, "R")
    drag_image(w.viewer.view, [(30, 40), (40, 45), (60, 80)])
    key_ = "LC/train/good/000"
    assert key_ in w.session.labels.unsaved
    assert "No space left" in w.label_panel.save_status.text()
    assert "unsaved" in w.browser._items[key_].text(1)
    monkeypatch.undo()
    assert w.session.labels.retry_save()
    assert key_ not in w.session.labels.unsaved
    assert (demo_data / "LC" / "ground_truth" / "good" / "000_mask.png").exists()


def test_patch_grid_follows_mask(make_window, demo_data, qtbot):
    w = _open_good(make_window, demo_data, qtbot)
    res = w.session.result
    assert res is not None
    x0, y0, x1, y1 = res.crop
    w.label_panel.grid_on.setChecked(True)
    assert w.viewer.patch_cells is not None and not w.viewer.patch_cells.any()
    key(qtbot, w, "R")
    drag_image(w.viewer.view, [(x0 + 5, y0 + 5), (x0 + 30, y0 + 30), (x0 + 60, y0 + 60)])
    cells = w.viewer.patch_cells
    assert cells.shape == (32, 32)  # 448 / 14
    assert cells[4, 4] and not cells[-1, -1] and not cells[0, 20]
    assert 4 < cells.sum() < 0.2 * cells.size
    assert "abnormal" in w.label_panel.grid_info.text()


def test_unsaved_mask_is_kept_when_moving_on_and_saved_later(make_window, demo_data, qtbot,
                                                             monkeypatch):
    import core.io.masks as masks

    w = _open_good(make_window, demo_data, qtbot)
    k = w.session.current.key
    mask_file = demo_data / "LC" / "ground_truth" / "good" / f"{k.rsplit('/', 1)[1]}_mask.png"

    def full_disk(path, mask):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(masks, "write_mask", full_disk)
    key(qtbot, w, "R")
    drag_image(w.viewer.view, [(30, 40), (40, 45), (60, 80)])
    painted = w.session.labels.mask.copy()
    key(qtbot, w, "N")  # move on while the disk is still full
    wait_sample(qtbot, w)
    assert w.session.current.key != k and k in w.session.labels.unsaved
    w.session.select_key(k)  # come back: the drawing is still there
    wait_sample(qtbot, w, k)
    assert np.array_equal(w.session.labels.mask, painted)
    monkeypatch.undo()  # disk freed
    key(qtbot, w, "N")  # leaving retries the save
    wait_sample(qtbot, w)
    assert k not in w.session.labels.unsaved
    from core.io.masks import read_mask

    assert np.array_equal(read_mask(mask_file), painted)


def test_relabelled_good_sample_is_not_flagged_after_reopen(make_window, demo_data, qtbot):
    w = _open_good(make_window, demo_data, qtbot)
    k = w.session.current.key
    key(qtbot, w, "R")
    drag_image(w.viewer.view, [(30, 40), (40, 45), (60, 80)])
    w2 = make_window()
    assert w2.open_path(demo_data)
    wait_sample(qtbot, w2)
    # the data set scan honours the relabel: the mask in ground_truth/good is the dent's mask
    assert not any(p.sample_key == k for p in w2.session.dataset.problems)
    assert next(s for s in w2.session.dataset.samples if s.key == k).is_anomalous
    item = w2.browser._items[k]
    assert item.text(1).startswith("dent") and item.text(2) != "problem"


def test_wrong_size_mask_is_reported_not_silently_dropped(make_window, demo_data, qtbot):
    from core.io.masks import write_mask

    w = make_window()
    assert w.open_path(demo_data)
    wait_sample(qtbot, w)
    dent = next(s for s in w.session.samples if s.cls == "LC" and s.group == "dent")
    write_mask(dent.mask_path, np.zeros((10, 10), bool))
    w.session.select_key(dent.key)
    wait_sample(qtbot, w, dent.key)
    assert "mask is 10x10" in w.last_error

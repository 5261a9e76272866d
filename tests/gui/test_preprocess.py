import numpy as np
import pytest

from bearing_gui.qt import QtWidgets
from tests.gui.conftest import drag_image, wait_recomputed, wait_sample

pytestmark = pytest.mark.gui


def _open(make_window, demo_data, qtbot, cls="LC"):
    w = make_window()
    assert w.open_path(demo_data)
    k = next(s.key for s in w.session.samples if s.cls == cls and s.split == "train"
             and s.group == "good")
    w.session.select_key(k)
    wait_sample(qtbot, w, k)
    w.viewer.view.fit()
    return w


def _ring_radii(view):
    return sorted(round(item.rect().width() / 2, 1) for item in view._shape_items
                  if isinstance(item, QtWidgets.QGraphicsEllipseItem))


def test_form_is_generated_from_metadata(make_window, demo_data, qtbot):
    w = _open(make_window, demo_data, qtbot)
    form = w.preprocess_panel.form
    assert set(form._groups) >= {"CGMP", "Circle", "Mask", "Compose"}
    label, editor, leaf = form._rows[("cgmp", "blur_kernel")]
    assert label.text() == "Blur kernel [px]"
    assert "Gaussian blur" in label.toolTip()
    assert editor.spin.minimum() == 1 and editor.spin.maximum() == 99
    # advanced fields hidden until asked, fitted fields read-only
    _, adv, _ = form._rows[("cgmp", "close_iterations")]
    assert adv.isHidden()
    w.preprocess_panel.advanced.setChecked(True)
    assert not adv.isHidden()
    _, fitted, _ = form._rows[("cgcm", "r_mean")]
    assert isinstance(fitted, QtWidgets.QLabel) and "not fitted" in fitted.text()


def test_changing_a_parameter_updates_result_and_overlay(make_window, demo_data, qtbot):
    w = _open(make_window, demo_data, qtbot)
    before = w.session.result
    c_outer = before.extras["c_outer"]
    radii = _ring_radii(w.viewer.view)
    assert any(abs(r - c_outer) < 0.6 for r in radii)
    editor = w.preprocess_panel.form.editor(("cgcm", "c_outer_ratio"))
    editor.spin.setValue(0.80)  # as if typed: the form reports, the session recomputes
    wait_recomputed(qtbot, w, before)
    after = w.session.result
    assert after.extras["c_outer"] < 0.85 * c_outer
    assert w.session.class_config("LC").cgcm.c_outer_ratio == pytest.approx(0.80)
    new_radii = _ring_radii(w.viewer.view)
    assert any(abs(r - after.extras["c_outer"]) < 0.6 for r in new_radii)
    assert not any(abs(r - c_outer) < 0.6 for r in new_radii)
    assert "*" in w.windowTitle()
    # the slider drives the same value
    assert editor.slider.value() == round((0.80 - 0.0) / 0.01)
    # reset the group
    before = w.session.result
    box = w.preprocess_panel.form.group_box("Mask")
    box.findChild(QtWidgets.QPushButton, "reset:Mask").click()
    wait_recomputed(qtbot, w, before)
    assert w.session.class_config("LC").cgcm.c_outer_ratio == pytest.approx(1.01)
    assert editor.spin.value() == pytest.approx(1.01)


def test_bad_setting_reports_roi_failure_and_keeps_working(make_window, demo_data, qtbot):
    w = _open(make_window, demo_data, qtbot)
    before = w.session.result
    w.preprocess_panel.form.editor(("cgcm", "min_area")).spin.setValue(0.9)
    qtbot.waitUntil(lambda: w.session.result is None and bool(w.session.result_error),
                    timeout=10000)
    assert "ROI not found" in w.preprocess_panel.result_label.text()
    assert w.viewer.view.banner.isVisible() and "ROI not found" in w.viewer.view.banner.text()
    k = w.session.current.key
    assert w.browser._items[k].text(2) == "failed"
    w.preprocess_panel.form.editor(("cgcm", "min_area")).spin.setValue(0.02)
    qtbot.waitUntil(lambda: w.session.result is not None, timeout=10000)
    assert w.browser._items[k].text(2) == "found"
    assert not w.viewer.view.banner.isVisible()
    del before


def test_stage_overlay_toggle(make_window, demo_data, qtbot):
    w = _open(make_window, demo_data, qtbot)
    assert w.viewer.view.stage_item.image is None
    combo = w.preprocess_panel.stage_combo
    combo.setCurrentIndex(combo.findData("binary"))
    assert np.array_equal(w.viewer.view.stage_item.image, w.session.result.stages["binary"])
    w.preprocess_panel.toggles["chosen"].setChecked(False)
    w.preprocess_panel.toggles["rings"].setChecked(False)
    w.preprocess_panel.toggles["passed"].setChecked(False)
    assert _ring_radii(w.viewer.view) == []


def test_dragging_od_crop_handle_changes_config(make_window, demo_data, qtbot):
    w = _open(make_window, demo_data, qtbot, cls="OD")
    view = w.viewer.view
    roi = view.crop_roi("precrop")
    assert roi is not None
    h, wd = w.session.loaded.shape
    old = w.session.class_config("OD").eggcc.margin_left
    x0 = roi.pos().x()
    ymid = roi.pos().y() + roi.size().y() / 2
    # the left-edge handle sits at (x0, ymid): drag it 20 px to the right with the mouse
    before = w.session.result
    drag_image(view, [(x0, ymid), (x0 + 5, ymid), (x0 + 12, ymid), (x0 + 20, ymid)])
    new = w.session.class_config("OD").eggcc.margin_left
    assert new == pytest.approx(old + 20 / wd, abs=2.5 / wd)
    # the number in the form follows
    spin = w.preprocess_panel.form.editor(("eggcc", "margin_left")).spin
    assert spin.value() == pytest.approx(new, abs=0.006)
    wait_recomputed(qtbot, w, before)
    assert w.session.result.extras["precrop"][0] == pytest.approx(x0 + 20, abs=2)
    # and the other way: a number moves the handle
    spin.setValue(0.05)
    qtbot.waitUntil(lambda: abs(view.crop_roi("precrop").pos().x() - 0.05 * wd) < 1.5,
                    timeout=10000)


def test_od_stage_overlay_sits_on_the_precrop(make_window, demo_data, qtbot):
    w = _open(make_window, demo_data, qtbot, cls="OD")
    combo = w.preprocess_panel.stage_combo
    combo.setCurrentIndex(combo.findData("binary"))
    x0, y0, x1, y1 = w.session.result.extras["precrop"]
    rect = w.viewer.view.stage_item.mapRectToParent(w.viewer.view.stage_item.boundingRect())
    assert (rect.x(), rect.y(), rect.width(), rect.height()) == pytest.approx((x0, y0, x1 - x0, y1 - y0))


def test_dragging_od_crop_rectangle_edge(make_window, demo_data, qtbot):
    w = _open(make_window, demo_data, qtbot, cls="OD")
    view = w.viewer.view
    roi = view.crop_roi("crop")
    assert roi is not None
    h, wd = w.session.loaded.shape
    old = w.session.class_config("OD").eggcc.crop_down
    xmid = roi.pos().x() + roi.size().x() / 2
    y1 = roi.pos().y() + roi.size().y()
    if y1 > h - 10:  # keep the drag inside the view
        pytest.skip("crop reaches the bottom edge at this demo size")
    drag_image(view, [(xmid, y1), (xmid, y1 - 5), (xmid, y1 - 10)])
    assert w.session.class_config("OD").eggcc.crop_down == pytest.approx(old - 10 / h, abs=2.5 / h)


def test_apply_to_class_fits_and_fills_gallery(make_window, demo_data, qtbot):
    w = _open(make_window, demo_data, qtbot, cls="SC")
    assert w.session.class_config("SC").cgcm.r_mean is None
    w.preprocess_panel.apply_btn.click()
    assert w.docks["gallery"].isVisible()
    qtbot.waitUntil(lambda: not w.runner.running, timeout=60000)
    n_sc = sum(s.cls == "SC" for s in w.session.samples)
    assert w.gallery.list.count() == n_sc
    r_mean = w.session.class_config("SC").cgcm.r_mean
    assert r_mean is not None and r_mean > 50
    assert f"{r_mean:.1f}" in w.gallery.info.text()
    # every SC sample now has an ROI status in the browser
    assert all(w.browser._items[s.key].text(2) in ("found", "failed")
               for s in w.session.samples if s.cls == "SC")
    # a failure goes first: break one sample and run again
    bad = next(s for s in w.session.samples if s.cls == "SC" and s.split == "test")
    bad.level_paths[1].write_bytes(b"broken")
    w.preprocess_panel.apply_btn.click()
    qtbot.waitUntil(lambda: not w.runner.running, timeout=60000)
    first = w.gallery.list.item(0)
    assert "FAILED" in first.text() and bad.sample_id in first.text()
    assert str(bad.level_paths[1].name) in first.toolTip()

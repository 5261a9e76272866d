import json

import pytest

from bearing_gui.qt import QtCore
from tests.gui.conftest import COUNTS, SIZE, key, wait_sample

pytestmark = pytest.mark.gui


def _keys(w, cls, split=None, group=None):
    return [s.key for s in w.session.samples if s.cls == cls and (split is None or s.split == split)
            and (group is None or s.group == group)]


def test_open_demo_project_renders_on_first_run(make_window, qtbot, tmp_path):
    w = make_window()
    w.demo_options = {"folder": tmp_path / "demo", "size": SIZE, "counts": COUNTS}
    w.open_demo()
    assert (tmp_path / "demo" / "demo.bearing.json").exists()
    wait_sample(qtbot, w)
    assert len(w.session.samples) == sum(COUNTS.values())
    assert w.windowTitle().startswith("demo — ")  # saved project: not dirty
    assert not w.viewer.view.message_shown
    assert w.session.result is not None  # ROI found on the first demo sample
    # second time: no rendering, same project
    w.demo_options["counts"] = {"not": "used"}
    w.open_demo()
    assert w.session.project.path == tmp_path / "demo" / "demo.bearing.json"


def test_browser_tree_filter_and_search(make_window, demo_data, qtbot):
    w = make_window()
    assert w.open_path(demo_data)
    wait_sample(qtbot, w)
    tree = w.browser.tree
    assert [tree.topLevelItem(i).text(0) for i in range(tree.topLevelItemCount())] == ["LC", "SC", "OD"]
    assert len(w.browser.visible_keys()) == 24
    w.browser.search.setText("OD test")
    assert set(w.browser.visible_keys()) == set(_keys(w, "OD", "test"))
    w.browser.search.clear()
    w.browser.filter.setCurrentText("Dent")
    assert all(k.split("/")[2] == "dent" for k in w.browser.visible_keys())
    w.browser.filter.setCurrentText("All samples")
    qtbot.waitUntil(lambda: w.browser.thumbs.icon(_keys(w, "LC")[0]) is not None, timeout=5000)


def test_keyboard_navigation_and_image_modes(make_window, demo_data, qtbot):
    w = make_window()
    assert w.open_path(demo_data)
    wait_sample(qtbot, w)
    order = w.browser.visible_keys()
    assert w.session.current.key == order[0]
    key(qtbot, w, "N")
    wait_sample(qtbot, w, order[1])
    key(qtbot, w, "PgDown")
    wait_sample(qtbot, w, order[2])
    key(qtbot, w, "Shift+N")
    wait_sample(qtbot, w, order[1])
    level0 = w.session.loaded.levels[0]
    assert w.viewer.view.image is level0
    key(qtbot, w, "2")
    assert w.viewer.view.image is w.session.loaded.levels[1]
    key(qtbot, w, "4")
    res = w.session.result
    assert w.viewer.view.image is res.composed
    pos = w.viewer.view.image_item.pos()
    assert (pos.x(), pos.y()) == (res.crop[0], res.crop[1])  # composed sits at its crop
    key(qtbot, w, "C")
    assert w.viewer.mode == "level 0"
    key(qtbot, w, "T")
    assert w.viewer.side_by_side
    assert [v.image is lv for v, lv in zip(w.viewer.side, w.session.loaded.levels)] == [True] * 3
    w.viewer.side[0].view_box.setRange(xRange=(10, 60), yRange=(10, 60), padding=0)
    r1 = w.viewer.side[1].view_box.viewRect()
    r0 = w.viewer.side[0].view_box.viewRect()
    # same centre and zoom (views differ by a pixel in width, so the aspect lock adds a sliver)
    assert abs(r1.center().x() - r0.center().x()) < 0.5
    assert abs(r1.center().y() - r0.center().y()) < 0.5
    assert abs(r1.width() / r0.width() - 1) < 0.02 or abs(r1.height() / r0.height() - 1) < 0.02
    assert r1.width() < 80  # zoomed in like the first view, not left at fit
    # the tree follows the sample
    assert w.browser.tree.currentItem().data(0, QtCore.Qt.ItemDataRole.UserRole + 1) == order[1]


def test_pixel_readout_and_display_levels(make_window, demo_data, qtbot):
    w = make_window()
    assert w.open_path(demo_data)
    wait_sample(qtbot, w)
    view = w.viewer.view
    got = []
    view.pixel_hovered.connect(lambda x, y, v: got.append((x, y, v)))
    p = view.map_image_to_widget(40.5, 30.5)
    scene = view.graphics.mapToScene(p)
    view._on_mouse_moved(scene)
    x, y, v = got[-1]
    assert (x, y) == (40, 30) and v == str(int(w.session.loaded.levels[0][30, 40]))
    w.black.setValue(50)
    w.white.setValue(100)
    assert tuple(view.image_item.levels) == (50, 100)
    assert w.session.loaded.levels[0].max() > 100  # the data is untouched


def test_unreadable_level_shows_message_and_browser_marks_it(make_window, demo_data, qtbot):
    key0 = "SC/train/good/000"
    (demo_data / "SC" / "train" / "good" / "000_0.png").write_bytes(b"not a png at all")
    w = make_window()
    assert w.open_path(demo_data)
    wait_sample(qtbot, w)
    w.session.select_key(key0)
    wait_sample(qtbot, w, key0)
    assert w.viewer.view.message_shown
    assert "000_0.png" in w.viewer.view.message.text()
    assert w.browser._items[key0].text(2) == "unreadable"
    # level 1 still shows, and the rest of the project keeps working
    key(qtbot, w, "2")
    assert not w.viewer.view.message_shown
    key(qtbot, w, "N")
    wait_sample(qtbot, w)
    assert w.session.current.key != key0


def test_open_bad_path_shows_clear_error(make_window, tmp_path, qtbot):
    w = make_window()
    assert not w.open_path(tmp_path / "nope")
    assert "nope" in w.last_error and "Traceback" not in w.last_error
    bad = tmp_path / "x.bearing.json"
    bad.write_text("{")
    assert not w.open_path(bad)
    assert "x.bearing.json" in w.last_error


def test_save_project_and_dirty_title(make_window, demo_data, qtbot, tmp_path):
    w = make_window()
    assert w.open_path(demo_data)
    wait_sample(qtbot, w)
    assert w.windowTitle().startswith("data *")
    target = tmp_path / "proj.bearing.json"
    assert w.session.save(target)
    assert w.windowTitle().startswith("proj — ")
    w.session.set_param("LC", ("cgmp", "blur_kernel"), 11)
    assert w.windowTitle().startswith("proj * — ")
    assert w.session.save()
    data = json.loads(target.read_text())
    assert data["preprocess"]["LC"]["cgmp"]["blur_kernel"] == 11
    assert data["dataset_root"] == "data"
    w2 = make_window()
    assert w2.open_path(target)
    assert w2.session.class_config("LC").cgmp.blur_kernel == 11
    out = tmp_path / "cli.json"
    assert w2.session.export_config(out)
    assert json.loads(out.read_text())["LC"]["cgmp"]["blur_kernel"] == 11
    from core.config import load_json
    from core.preprocess.pipeline import PreprocessConfig

    assert load_json(PreprocessConfig, out).LC.cgmp.blur_kernel == 11  # what the CLI's --config reads


def test_layout_and_recent_are_remembered(make_window, demo_data, qtbot, settings_path):
    w = make_window()
    assert w.open_path(demo_data)
    wait_sample(qtbot, w)
    w.docks["labels"].raise_()
    w.docks["samples"].hide()
    w.close()
    assert settings_path.exists()
    w2 = make_window()
    assert w2.recent()[0] == str(demo_data)
    assert not w2.docks["samples"].isVisible()
    assert [a.text() for a in w2.recent_menu.actions()] == [str(demo_data)]


def test_launch_opens_the_given_folder(demo_data, tmp_path, qtbot):
    from bearing_gui.app import launch

    win = launch([str(demo_data), "--settings", str(tmp_path / "s.ini")])
    qtbot.addWidget(win)
    win.ask_before_close = False
    assert len(win.session.samples) == 24 and win.windowTitle().startswith("data *")
    win.session.wait_idle()
    win.close()
    assert (tmp_path / "s.ini").exists()  # layout and recent list went to the given settings


def test_missing_level_is_marked_and_explained(make_window, demo_data, qtbot):
    victim = demo_data / "OD" / "test" / "good"
    sid = sorted(p.name for p in victim.iterdir())[0].split("_")[0]
    (victim / f"{sid}_2.png").unlink()
    w = make_window()
    assert w.open_path(demo_data)
    wait_sample(qtbot, w)
    k = f"OD/test/good/{sid}"
    assert w.browser._items[k].text(2) == "problem"
    assert "level" in w.browser._items[k].toolTip(2)
    w.session.select_key(k)
    wait_sample(qtbot, w, k)
    key(qtbot, w, "3")
    assert w.viewer.view.message_shown and "Level 2" in w.viewer.view.message.text()
    key(qtbot, w, "1")
    assert not w.viewer.view.message_shown  # the levels that exist still show
    assert "level 2" in w.session.result_error.lower()  # OD needs all three levels

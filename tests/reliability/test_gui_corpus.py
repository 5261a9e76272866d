"""The GUI over the bad-input corpus (pytest-qt): batch inspection panel and labelling view.

Batch: every sample gets a table row (unreadable / ROI-failed with the reason, no-model for the
class the run lacks), results.csv says the same, the skipped files are counted in the status, and
no widget or message box shows a traceback. Labelling: each bad sample opens with a clear message
in the viewer naming the file and the problem; painting on it is harmless (one undo step, undone
without a trace); a mask save into a read-only folder keeps the sample unsaved with the reason.
"""

from __future__ import annotations

import csv
import errno
import os
import stat
from pathlib import Path

import numpy as np
import pytest

from bearing_gui.qt import QtWidgets
from tests.gui.conftest import drag_image, make_window, pump, settings_path, wait_sample  # noqa: F401
from tests.reliability.corpus import build_corpus

pytestmark = pytest.mark.gui

SCORED = {"OK", "NG"}


def widget_texts() -> list[str]:
    """Every text the application shows: labels, buttons, fields, tables, trees, message boxes,
    tooltips, status bars, window titles."""
    out: list[str] = []
    for top in QtWidgets.QApplication.topLevelWidgets():
        for w in [top, *top.findChildren(QtWidgets.QWidget)]:
            out += [w.toolTip(), w.windowTitle()]
            if isinstance(w, (QtWidgets.QLabel, QtWidgets.QAbstractButton, QtWidgets.QLineEdit)):
                out.append(w.text())
            if isinstance(w, (QtWidgets.QPlainTextEdit, QtWidgets.QTextEdit)):
                out.append(w.toPlainText())
            if isinstance(w, QtWidgets.QMessageBox):
                out += [w.text(), w.informativeText(), w.detailedText()]
            if isinstance(w, QtWidgets.QStatusBar):
                out.append(w.currentMessage())
            if isinstance(w, QtWidgets.QTableWidget):
                out += [w.item(r, c).text() for r in range(w.rowCount()) for c in range(w.columnCount())
                        if w.item(r, c) is not None]
            if isinstance(w, QtWidgets.QTreeWidget):
                stack = [w.topLevelItem(i) for i in range(w.topLevelItemCount())]
                while stack:
                    it = stack.pop()
                    out += [it.text(c) for c in range(it.columnCount())] + [it.toolTip(0)]
                    stack += [it.child(i) for i in range(it.childCount())]
    return out


def assert_no_traceback() -> None:
    bad = [t for t in widget_texts() if "Traceback" in t or 'File "' in t]
    assert not bad, bad[:3]


# -- batch inspection ------------------------------------------------------------------------------
def test_batch_panel_gives_every_corpus_sample_a_row_with_its_reason(make_window, qtbot, tmp_path,  # noqa: F811
                                                                     tiny_lc_run):
    corpus = build_corpus(tmp_path / "data")
    w = make_window()
    bp = w.batch_panel
    bp.folder.setText(str(corpus.root))
    bp.run.setCurrentText(str(tiny_lc_run))
    out = tmp_path / "out"
    bp.out.setText(str(out))
    assert bp.start()
    qtbot.waitUntil(lambda: not w.inspector.running, timeout=120000)
    pump(0.15)
    assert w.last_error == ""
    table = {bp.table.item(i, 0).text(): (bp.table.item(i, 1).text(), bp.table.item(i, 3).text(),
                                          bp.table.item(i, 4).text())
             for i in range(bp.table.rowCount())}
    assert set(corpus.good) | {c.key for c in corpus.bad} <= set(table)
    for key in corpus.good:
        cls, decision, reason = table[key]
        assert (decision in SCORED and reason == "") if cls == "LC" else \
            (decision == "no-model" and "no OD detector" in reason), (key, decision, reason)
    for case in corpus.bad:
        _, decision, reason = table[case.key]
        if case.stage == "load":
            assert decision == "unreadable" and str(case.path) in reason, (case.key, reason)
            assert case.problem.lower() in reason.lower(), (case.key, reason)
        elif case.stage == "roi":
            assert decision == "ROI-failed" and case.problem.lower() in f"ROI not found: {reason}".lower()
        else:
            assert decision in SCORED   # inspection reads no masks
    # the table and results.csv agree row for row
    with open(out / "results.csv", newline="", encoding="utf-8") as f:
        rows = {r["sample"]: (r["class"], r["decision"], r["reason"]) for r in csv.DictReader(f)}
    assert rows == table
    n = len(table)
    assert bp.progress.value() == bp.progress.maximum() == n
    status = bp.status.text()
    assert f"finished: {n} of {n} samples" in status
    assert "notes.txt: unsupported file type" in status or "ground_truth" in status
    assert bp.start_btn.isEnabled() and not bp.cancel_btn.isEnabled()
    texts = widget_texts()
    assert status in texts and table["LC/test/good/text"][2] in texts   # the scan sees what is shown
    assert_no_traceback()


# -- labelling view ----------------------------------------------------------------------------------
def _message(view) -> str | None:
    """The viewer's message, or None while it shows an image."""
    return view.message.text() if view.stack.currentWidget() is view.message else None


@pytest.fixture
def corpus_window(make_window, tmp_path, qtbot):  # noqa: F811
    corpus = build_corpus(tmp_path / "data")   # a private copy: labels are written into it
    w = make_window()
    assert w.open_path(corpus.root)
    wait_sample(qtbot, w, result=False)
    return corpus, w


def _open(qtbot, w, key: str) -> None:
    w.session.select_key(key)
    wait_sample(qtbot, w, key)
    pump(0.05)


def test_each_bad_sample_opens_with_a_message_naming_its_file_and_problem(corpus_window, qtbot):
    corpus, w = corpus_window
    view = w.viewer.view
    for case in corpus.bad:
        if case.stage == "mask":
            continue
        w.viewer.set_mode("composed")
        _open(qtbot, w, case.key)
        msg = _message(view)
        assert msg is not None and case.key in msg, (case.key, msg)
        if case.key.endswith("missing level"):
            assert "Level 2 image is missing" in msg
        elif case.key.endswith("sizes differ"):
            assert f"{case.path}: level 1 is 200x256 but level 0 is 256x256" in msg
        elif case.stage == "roi":
            assert f"{case.path}: ROI not found" in msg and case.problem in msg, msg
        else:
            assert str(case.path) in msg and case.problem.lower() in msg.lower(), msg
        # the level that cannot be read is a message too, in its own view
        level = int(case.path.stem.rsplit("_", 1)[1])
        loaded = w.session.loaded
        if case.stage == "load" and loaded.levels[level] is None:
            w.viewer.set_mode(f"level {level}")
            msg = _message(view)
            assert msg is not None and "cannot be shown" in msg and str(case.path) in msg, msg
        assert w.session.roi_status.get(case.key) != "ok"
    assert w.last_error == ""
    assert_no_traceback()


def test_bad_masks_are_reported_naming_the_mask_file(corpus_window, qtbot):
    corpus, w = corpus_window
    for case in corpus.bad:
        if case.stage != "mask" or case.problem not in ("mask is 128x128 pixels but its image is 256x256",
                                                         "above the limit of"):
            continue
        w.last_error = ""
        _open(qtbot, w, case.key)
        assert str(case.path) in w.last_error and case.problem in w.last_error, w.last_error
        assert not w.session.labels.mask.any()    # shown empty, as the message says
    assert_no_traceback()


def test_a_mask_shared_by_a_train_and_a_test_sample_is_not_shown_as_either(corpus_window, qtbot):
    corpus, w = corpus_window
    twins = [c for c in corpus.bad if c.problem == "mask is ambiguous"]
    assert len(twins) == 2 and all(c.path.exists() for c in twins)     # one file, both samples
    for case in twins:
        w.last_error = ""
        _open(qtbot, w, case.key)
        assert "ambiguous" in w.last_error and "rename" in w.last_error, w.last_error
        assert case.key.split("/")[1] in w.last_error        # says which split's sample it is
        assert not w.session.labels.mask.any()               # not claimed by this sample
    assert_no_traceback()


def test_painting_on_a_bad_sample_is_harmless(corpus_window, qtbot):
    corpus, w = corpus_window
    labels = w.session.labels
    w.viewer.set_mode("level 0")
    w.label_panel.set_tool("brush")
    w.label_panel.radius.setValue(5)
    for case in corpus.bad:
        if case.stage == "mask":
            continue
        _open(qtbot, w, case.key)
        loaded = w.session.loaded
        before = labels.label
        mask_path = labels.target.mask_path if labels.target is not None else None
        existed = mask_path is not None and mask_path.exists()
        if loaded.levels[0] is not None:
            w.viewer.view.fit()
            h, wd = loaded.shape
            drag_image(w.viewer.view, [(wd * 0.3, h * 0.3), (wd * 0.4, h * 0.35), (wd * 0.5, h * 0.4)])
        else:   # level 0 is a message, not an image: the stroke comes straight to the controller
            labels.begin_stroke(10, 10)
            labels.extend_stroke(30, 20)
            labels.end_stroke()
        if labels.mask is None:
            assert labels.undo_stack.count() == 0         # refused
            continue
        assert labels.mask.shape == loaded.shape          # drawn in the readable level-0 frame
        assert labels.undo_stack.count() == 1 and labels.mask.any(), case.key
        assert case.key not in labels.unsaved, labels.unsaved.get(case.key)
        labels.undo_stack.undo()                          # and undone without a trace
        assert not labels.mask.any() and labels.label == before
        assert mask_path.exists() == existed, case.key
    assert w.last_error == ""
    assert_no_traceback()


def test_mask_save_into_a_read_only_folder_keeps_the_sample_unsaved(corpus_window, qtbot, monkeypatch):
    corpus, w = corpus_window
    key = "LC/train/good/zero byte"      # level 1 is empty; level 0 can be painted on
    _open(qtbot, w, key)
    labels = w.session.labels
    folder = labels.target.mask_path.parent
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    real_open = os.open

    def refused_in_folder(path, flags, *args, **kwargs):
        # root is not stopped by permissions: refuse creating files in the folder as the OS would
        if flags & os.O_CREAT and Path(path).resolve().parent == folder.resolve():
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", refused_in_folder)
    try:
        w.label_panel.set_tool("rect")
        w.viewer.set_mode("level 0")
        w.viewer.view.fit()
        drag_image(w.viewer.view, [(40, 40), (60, 60), (90, 80)])
        assert labels.mask.any() and labels.label == "dent"
        why = labels.unsaved.get(key, "")
        assert str(labels.target.mask_path) in why and "could not save the mask" in why, why
        assert "NOT SAVED" in w.label_panel.save_status.text()
        assert "unsaved" in w.browser._items[key].text(1)
        assert not labels.target.mask_path.exists()
        # moving on keeps the drawing, and coming back shows it still unsaved
        painted = labels.mask.copy()
        _open(qtbot, w, corpus.good[0])
        _open(qtbot, w, key)
        assert key in labels.unsaved and np.array_equal(labels.mask, painted)
        assert "NOT SAVED" in w.label_panel.save_status.text()
        assert_no_traceback()
    finally:
        monkeypatch.undo()
        folder.chmod(stat.S_IRWXU)
    assert labels.retry_save()
    assert key not in labels.unsaved and labels.target.mask_path.exists()

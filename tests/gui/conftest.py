"""pytest-qt fixtures: a small rendered demo data set and a main window with private settings."""

import shutil
from pathlib import Path

import pytest

import time

from bearing_gui.qt import QtCore, QtGui, QtWidgets

SIZE = (320, 320)
COUNTS = {(c, s, g): 2 for c in ("LC", "SC", "OD") for s in ("train", "test") for g in ("good", "dent")}


_LOOP = None


def pump(seconds: float = 0.0) -> None:
    """Process pending events (for ``seconds``). Uses a QEventLoop *instance*: the static
    QApplication.processEvents / QTest.qWait of shiboken6 6.12.0 drop a reference to None on
    every call (Python 3.11), which crashes the interpreter after a few thousand calls."""
    global _LOOP
    if _LOOP is None:
        _LOOP = QtCore.QEventLoop()
    end = time.perf_counter() + seconds
    while True:
        _LOOP.processEvents()
        if time.perf_counter() >= end:
            return
        time.sleep(0.002)


@pytest.fixture(scope="session")
def demo_master(tmp_path_factory) -> Path:
    from core.synth import render_demo

    out = tmp_path_factory.mktemp("demo_master") / "data"
    render_demo(out, seed=0, size=SIZE, counts=COUNTS)
    return out


@pytest.fixture
def demo_data(demo_master, tmp_path) -> Path:
    """A private copy of the demo data (tests write masks and labels into it)."""
    dst = tmp_path / "data"
    shutil.copytree(demo_master, dst)
    return dst


@pytest.fixture
def settings_path(tmp_path) -> Path:
    return tmp_path / "settings.ini"


@pytest.fixture
def make_window(qtbot, settings_path):
    from bearing_gui.app import create_window, make_settings

    windows = []

    def factory():
        w = create_window(make_settings(settings_path))
        w.ask_before_close = False
        qtbot.addWidget(w)
        w.resize(1280, 800)
        w.show()
        qtbot.waitExposed(w)
        w.raise_()
        w.activateWindow()
        try:
            qtbot.waitUntil(lambda: QtWidgets.QApplication.activeWindow() is w, timeout=3000)
        except Exception:
            raise AssertionError(f"window not active; active: {QtWidgets.QApplication.activeWindow()}, "
                                 f"top: {[x.objectName() or type(x).__name__ for x in QtWidgets.QApplication.topLevelWidgets() if x.isVisible()]}")
        windows.append(w)
        return w

    yield factory
    for w in windows:
        w.runner.cancel()
        w.session.wait_idle()


def wait_sample(qtbot, window, key=None, result=True):
    """Wait until the sample (``key`` or the current one) is loaded and, if asked, preprocessed."""
    s = window.session

    def ready():
        if s.loaded is None or s.current is None:
            return False
        if key is not None and (s.current.key != key or s.loaded.sample.key != key):
            return False
        return not result or s.result is not None or bool(s.result_error)

    qtbot.waitUntil(ready, timeout=15000)
    s.wait_idle()
    pump()


def wait_recomputed(qtbot, window, before):
    s = window.session
    qtbot.waitUntil(lambda: s.result is not before and (s.result is not None or s.result_error),
                    timeout=15000)


def _send(widget, kind, pos, button, buttons, modifiers=QtCore.Qt.KeyboardModifier.NoModifier):
    local = QtCore.QPointF(pos)
    glob = QtCore.QPointF(widget.mapToGlobal(pos))
    ev = QtGui.QMouseEvent(kind, local, glob, button, buttons, modifiers)
    QtWidgets.QApplication.sendEvent(widget, ev)


def drag_image(view, points, modifiers=QtCore.Qt.KeyboardModifier.NoModifier):
    """Press at the first image point, move through the rest, release: a real mouse drag."""
    vp = view.graphics.viewport()
    left = QtCore.Qt.MouseButton.LeftButton
    none = QtCore.Qt.MouseButton.NoButton
    pts = [view.map_image_to_widget(x, y) for x, y in points]
    _send(vp, QtCore.QEvent.Type.MouseMove, pts[0], none, none, modifiers)
    _send(vp, QtCore.QEvent.Type.MouseButtonPress, pts[0], left, left, modifiers)
    for p in pts[1:]:
        # pyqtgraph drops mouse moves closer together than its rate limit (~60 Hz)
        pump(0.025)
        _send(vp, QtCore.QEvent.Type.MouseMove, p, none, left, modifiers)
        pump()
    _send(vp, QtCore.QEvent.Type.MouseButtonRelease, pts[-1], left, none, modifiers)
    pump()


def click_image(view, x, y, double=False):
    vp = view.graphics.viewport()
    left = QtCore.Qt.MouseButton.LeftButton
    none = QtCore.Qt.MouseButton.NoButton
    p = view.map_image_to_widget(x, y)
    _send(vp, QtCore.QEvent.Type.MouseMove, p, none, none)
    _send(vp, QtCore.QEvent.Type.MouseButtonPress, p, left, left)
    _send(vp, QtCore.QEvent.Type.MouseButtonRelease, p, left, none)
    if double:
        _send(vp, QtCore.QEvent.Type.MouseButtonDblClick, p, left, left)
        _send(vp, QtCore.QEvent.Type.MouseButtonRelease, p, left, none)
    pump()


def key(qtbot, window, seq: str):
    """Press a key sequence as the user would (delivered to the focused widget of the window)."""
    ks = QtGui.QKeySequence(seq)
    combo = ks[0]
    target = QtWidgets.QApplication.focusWidget() or window
    qtbot.keyClick(target, combo.key(), combo.keyboardModifiers())
    pump()

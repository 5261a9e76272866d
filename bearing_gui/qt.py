"""Import PySide6 before pyqtgraph (so pyqtgraph never picks another binding) and set its options.

Also guards against a binding bug: shiboken6 6.12.0 on Python 3.11 drops one reference to ``None``
on every call of a Qt method that returns void (``setText``, ``setValue``, ``processEvents`` ...)
and one reference to ``True`` on every ``Signal.emit``, so a GUI session dies with "Fatal Python
error: none_dealloc" (or bool_dealloc) after some thousand calls. PySide6 6.11.3 does not have the
bug (the real fix is to pin it). When the leak is detected at import, the reference counts of
``None``, ``True`` and ``False`` are raised far out of reach (these singletons are never freed
anyway, and Python 3.12+ makes them immortal the same way), and a warning names the problem.
"""

from __future__ import annotations

import ctypes
import sys
import warnings

import PySide6  # noqa: F401  (must come first)
from PySide6 import QtCore, QtGui, QtWidgets  # noqa: F401

import pyqtgraph as pg

pg.setConfigOptions(imageAxisOrder="row-major", antialias=False, background="#1e1f22",
                    foreground="#d0d0d0")

NONE_LEAK_DETECTED = False


def _guard_none_leak() -> None:
    global NONE_LEAK_DETECTED
    if sys.version_info >= (3, 12):  # None is immortal there
        return
    class _Probe(QtCore.QObject):
        ping = QtCore.Signal()

    probe = _Probe()
    before = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(64):
        probe.setObjectName("probe")  # a void method
        probe.ping.emit()
    lost_none = before[0] - sys.getrefcount(None)
    lost_true = before[1] - sys.getrefcount(True)
    if lost_none < 48 and lost_true < 48:
        return
    NONE_LEAK_DETECTED = True
    for singleton in (None, True, False):
        ctypes.c_ssize_t.from_address(id(singleton)).value += 1 << 40
    warnings.warn(f"PySide6 {PySide6.__version__} drops references to None / True on every void "
                  "Qt call / signal emit (would crash the app); applied a workaround. Use "
                  "PySide6-Essentials 6.11.3.", RuntimeWarning, stacklevel=1)


_guard_none_leak()

__all__ = ["QtCore", "QtGui", "QtWidgets", "pg", "NONE_LEAK_DETECTED"]

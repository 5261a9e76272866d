"""Import PySide6 before pyqtgraph (so pyqtgraph never picks another binding) and set its options.

Also guards against a binding bug: shiboken6 6.12.0 on Python 3.11 drops one reference to ``None``
on every call of a Qt method that returns void (``setText``, ``setValue``, ``processEvents`` ...),
so a GUI session dies with "Fatal Python error: none_dealloc" after some thousand calls. PySide6
6.11.3 does not have the bug (the real fix is to pin it). When the leak is detected at import,
``None``'s reference count is raised far out of reach (None is never freed anyway, and Python
3.12+ makes it immortal the same way), and a warning names the problem.
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
    probe = QtCore.QObject()
    before = sys.getrefcount(None)
    for _ in range(64):
        probe.setObjectName("probe")  # a void method
    lost = before - sys.getrefcount(None)
    if lost < 48:
        return
    NONE_LEAK_DETECTED = True
    ctypes.c_ssize_t.from_address(id(None)).value += 1 << 40
    warnings.warn(f"PySide6 {PySide6.__version__} drops a reference to None on every void Qt "
                  "call (would crash the app); applied a workaround. Use PySide6-Essentials "
                  "6.11.3.", RuntimeWarning, stacklevel=1)


_guard_none_leak()

__all__ = ["QtCore", "QtGui", "QtWidgets", "pg", "NONE_LEAK_DETECTED"]

"""Import PySide6 before pyqtgraph (so pyqtgraph never picks another binding) and set its options."""

from __future__ import annotations

import PySide6  # noqa: F401  (must come first)
from PySide6 import QtCore, QtGui, QtWidgets  # noqa: F401

import pyqtgraph as pg

pg.setConfigOptions(imageAxisOrder="row-major", antialias=False, background="#1e1f22",
                    foreground="#d0d0d0")

__all__ = ["QtCore", "QtGui", "QtWidgets", "pg"]

"""A parameter form whose free float fields (no ``step`` in their metadata) take any magnitude.

The generic form shows such fields with two decimals, which turns a learning rate of 2e-3 or an
epsilon of 1e-10 into 0. Here they are a line edit in ``%g`` notation (e.g. ``0.002``, ``1e-10``)
that accepts scientific input and reports the value on Enter / focus-out.
"""

from __future__ import annotations

from typing import Any

from bearing_gui.qt import QtGui, QtWidgets
from bearing_gui.widgets.param_form import Leaf, ParamForm, _base_type


class FloatEdit(QtWidgets.QLineEdit):
    def __init__(self, meta: dict, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        v = QtGui.QDoubleValidator(self)
        v.setNotation(QtGui.QDoubleValidator.Notation.ScientificNotation)
        lo, hi = meta.get("min"), meta.get("max")
        v.setRange(-1e300 if lo is None else lo, 1e300 if hi is None else hi, 12)
        self.setValidator(v)
        self.setAlignment(QtGui.Qt.AlignmentFlag.AlignRight)
        self.setMinimumWidth(90)

    def set_value(self, value: float) -> None:
        self.setText(f"{float(value):g}")

    def value(self) -> float:
        return float(self.text())


class SciParamForm(ParamForm):
    def _make_row(self, leaf: Leaf) -> tuple[QtWidgets.QLabel, QtWidgets.QWidget]:
        label, editor = super()._make_row(leaf)
        if _base_type(leaf.type) is float and not leaf.meta.get("step") and not leaf.meta.get("fitted") \
                and not leaf.meta.get("choices"):
            editor.deleteLater()
            edit = FloatEdit(leaf.meta)
            edit.setToolTip(editor.toolTip())
            edit.editingFinished.connect(
                lambda p=leaf.path, e=edit: self.changed.emit(p, e.value()) if e.hasAcceptableInput() else None)
            self._editors[leaf.path] = edit
            editor = edit
        return label, editor

    def _show_value(self, leaf: Leaf, value: Any) -> None:
        editor = self._editors[leaf.path]
        if isinstance(editor, FloatEdit):
            editor.blockSignals(True)
            editor.set_value(value)
            editor.blockSignals(False)
            return
        super()._show_value(leaf, value)

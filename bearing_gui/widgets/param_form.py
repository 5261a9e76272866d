"""A parameter form generated from a ``core.config.param`` dataclass tree.

Each leaf field becomes a labelled widget (check box, choice box, or slider + spin box) with its
unit and its help text as tooltip, grouped by the field's ``group`` metadata in a box with a
"Reset" button. ``advanced`` fields are shown only when asked; ``fitted`` fields are read-only
(they are computed by "Apply to class"). The form never holds the config: it shows one and
reports edits as ``changed(path, value)``, where ``path`` is a tuple of field names.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from typing import Any

from bearing_gui.qt import QtCore, QtGui, QtWidgets
from core.config import field_info

Path_ = tuple[str, ...]


@dataclasses.dataclass
class Leaf:
    path: Path_
    name: str
    type: Any
    meta: dict
    group: str


def leaves(obj: Any, prefix: Path_ = (), group: str = "") -> list[Leaf]:
    """Every leaf field of a parameter dataclass tree, with its group."""
    out: list[Leaf] = []
    hints = typing.get_type_hints(type(obj))
    for f, meta in field_info(obj):
        value = getattr(obj, f.name)
        g = meta.get("group") or group or "Parameters"
        if dataclasses.is_dataclass(value):
            out.extend(leaves(value, prefix + (f.name,), g))
        elif value is None and _dataclass_in(hints[f.name]):
            continue  # an absent optional section (e.g. eggcc for LC)
        else:
            out.append(Leaf(prefix + (f.name,), f.name, hints[f.name], meta, g))
    return out


def _dataclass_in(tp: Any) -> bool:
    return any(dataclasses.is_dataclass(a) for a in typing.get_args(tp)) or dataclasses.is_dataclass(tp)


def get_path(obj: Any, path: Path_) -> Any:
    for name in path:
        obj = getattr(obj, name)
    return obj


def replace_path(obj: Any, path: Path_, value: Any) -> Any:
    """A copy of the dataclass tree ``obj`` with the field at ``path`` set to ``value``."""
    if len(path) == 1:
        return dataclasses.replace(obj, **{path[0]: value})
    child = getattr(obj, path[0])
    return dataclasses.replace(obj, **{path[0]: replace_path(child, path[1:], value)})


_NAMES = {"dr": "Δr", "r_mean": "r_mean", "top_k": "Top k", "c_inner_ratio": "c_inner ratio",
          "c_outer_ratio": "c_outer ratio", "c_inner_offset": "c_inner offset",
          "c_outer_offset": "c_outer offset"}


def pretty_name(name: str) -> str:
    if name in _NAMES:
        return _NAMES[name]
    text = name.replace("_", " ").replace("clahe", "CLAHE")
    return text[:1].upper() + text[1:]


def _base_type(tp: Any) -> Any:
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if typing.get_origin(tp) in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return args[0] if len(args) == 1 else tp
    return tp


def _decimals(step: float | None) -> int:
    if not step or step >= 1:
        return 2 if step is None else 0
    return min(6, max(1, int(math.ceil(-math.log10(step)))))


class _NumberEditor(QtWidgets.QWidget):
    """Slider + spin box kept in step; emits ``value_changed`` with the number."""

    value_changed = QtCore.Signal(object)

    def __init__(self, is_int: bool, meta: dict, parent=None) -> None:
        super().__init__(parent)
        self.is_int = is_int
        lo = meta.get("min")
        hi = meta.get("max")
        step = meta.get("step") or (1 if is_int else 0.01)
        self.spin = QtWidgets.QSpinBox() if is_int else QtWidgets.QDoubleSpinBox()
        if not is_int:
            self.spin.setDecimals(_decimals(step))
        big = 10**9
        self.spin.setRange(int(lo) if lo is not None else -big, int(hi) if hi is not None else big) \
            if is_int else self.spin.setRange(lo if lo is not None else -1e9,
                                              hi if hi is not None else 1e9)
        self.spin.setSingleStep(step)
        self.spin.setKeyboardTracking(False)
        self.spin.setMinimumWidth(72)
        self.spin.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight)
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        self.slider = None
        if lo is not None and hi is not None and 0 < (hi - lo) / step <= 20000:
            self.lo, self.step = lo, step
            self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
            self.slider.setRange(0, int(round((hi - lo) / step)))
            self.slider.setMinimumWidth(50)
            self.slider.valueChanged.connect(self._from_slider)
            layout.addWidget(self.slider, 1)
        layout.addWidget(self.spin)
        self.spin.valueChanged.connect(self._from_spin)

    def set_value(self, v) -> None:
        for w in (self.spin, self.slider):
            if w is not None:
                w.blockSignals(True)
        self.spin.setValue(int(v) if self.is_int else float(v))
        if self.slider is not None:
            self.slider.setValue(int(round((float(v) - self.lo) / self.step)))
        for w in (self.spin, self.slider):
            if w is not None:
                w.blockSignals(False)

    def value(self):
        return self.spin.value()

    def _from_slider(self, pos: int) -> None:
        v = self.lo + pos * self.step
        v = int(round(v)) if self.is_int else round(v, 10)
        self.spin.blockSignals(True)
        self.spin.setValue(v)
        self.spin.blockSignals(False)
        self.value_changed.emit(self.spin.value())

    def _from_spin(self, v) -> None:
        if self.slider is not None:
            self.slider.blockSignals(True)
            self.slider.setValue(int(round((float(v) - self.lo) / self.step)))
            self.slider.blockSignals(False)
        self.value_changed.emit(v)


class _FloatEdit(QtWidgets.QLineEdit):
    """A float of any magnitude, typed and shown in ``%g`` notation; reports on Enter / focus-out."""

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


class ParamForm(QtWidgets.QWidget):
    """Form over one parameter dataclass tree; see the module docstring."""

    changed = QtCore.Signal(tuple, object)  # path, value
    reset_requested = QtCore.Signal(list)  # paths of a group

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._editors: dict[Path_, QtWidgets.QWidget] = {}
        self._rows: dict[Path_, tuple[QtWidgets.QWidget, QtWidgets.QWidget, Leaf]] = {}
        self._groups: dict[str, QtWidgets.QGroupBox] = {}
        self.show_advanced = False
        self._layout = QtWidgets.QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(8)
        self._signature: tuple | None = None

    def editor(self, path: Path_) -> QtWidgets.QWidget:
        return self._editors[path]

    def group_box(self, title: str) -> QtWidgets.QGroupBox:
        return self._groups[title]

    def set_config(self, obj: Any) -> None:
        """Show ``obj``; rebuilds the widgets only when the set of fields changes."""
        items = leaves(obj)
        signature = tuple(leaf.path for leaf in items)
        if signature != self._signature:
            self._build(items)
            self._signature = signature
        for leaf in items:
            self._show_value(leaf, get_path(obj, leaf.path))

    def _build(self, items: list[Leaf]) -> None:
        while self._layout.count():
            w = self._layout.takeAt(0).widget()
            if w is not None:
                w.hide()  # gone at once, even before the deferred delete runs
                w.setParent(None)
                w.deleteLater()
        self._editors.clear()
        self._rows.clear()
        self._groups.clear()
        by_group: dict[str, list[Leaf]] = {}
        for leaf in items:
            by_group.setdefault(leaf.group, []).append(leaf)
        for title, group_leaves in by_group.items():
            box = QtWidgets.QGroupBox(title)
            form = QtWidgets.QFormLayout()
            form.setFieldGrowthPolicy(QtWidgets.QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
            form.setLabelAlignment(QtCore.Qt.AlignmentFlag.AlignRight)
            form.setHorizontalSpacing(8)
            form.setVerticalSpacing(4)
            outer = QtWidgets.QVBoxLayout(box)
            outer.setContentsMargins(8, 6, 8, 6)
            outer.addLayout(form)
            reset = QtWidgets.QPushButton("Reset to defaults")
            reset.setToolTip(f"Set every {title} parameter back to its default value")
            reset.setObjectName(f"reset:{title}")
            reset.clicked.connect(lambda _=False, ls=group_leaves: self.reset_requested.emit(
                [leaf.path for leaf in ls]))
            row = QtWidgets.QHBoxLayout()
            row.addStretch(1)
            row.addWidget(reset)
            outer.addLayout(row)
            for leaf in group_leaves:
                label, editor = self._make_row(leaf)
                form.addRow(label, editor)
                self._rows[leaf.path] = (label, editor, leaf)
            self._groups[title] = box
            self._layout.addWidget(box)
        self._layout.addStretch(1)
        self._apply_advanced()

    def _make_row(self, leaf: Leaf) -> tuple[QtWidgets.QLabel, QtWidgets.QWidget]:
        meta, tp = leaf.meta, _base_type(leaf.type)
        unit = meta.get("unit") or ""
        text = pretty_name(leaf.name) + (f" [{unit}]" if unit else "")
        label = QtWidgets.QLabel(text)
        tip = meta.get("help", "")
        if meta.get("fitted"):
            tip += " (fitted from the data by Apply to class)"
        label.setToolTip(tip)
        if meta.get("fitted"):
            editor = QtWidgets.QLabel()
            editor.setStyleSheet("color:#9ad;")
        elif meta.get("choices"):
            editor = QtWidgets.QComboBox()
            editor.addItems([str(c) for c in meta["choices"]])
            editor.currentTextChanged.connect(lambda v, p=leaf.path: self.changed.emit(p, v))
        elif tp is bool:
            editor = QtWidgets.QCheckBox()
            editor.toggled.connect(lambda v, p=leaf.path: self.changed.emit(p, bool(v)))
        elif tp is float and not meta.get("step"):
            # a free float (learning rate 2e-3, epsilon 1e-10): any magnitude, in %g notation
            editor = _FloatEdit(meta)
            editor.editingFinished.connect(
                lambda p=leaf.path, e=editor: self.changed.emit(p, e.value()) if e.hasAcceptableInput() else None)
        elif tp in (int, float):
            editor = _NumberEditor(tp is int, meta)
            editor.value_changed.connect(lambda v, p=leaf.path: self.changed.emit(p, v))
        else:
            editor = QtWidgets.QLabel()
        editor.setToolTip(tip)
        self._editors[leaf.path] = editor
        return label, editor

    def _show_value(self, leaf: Leaf, value: Any) -> None:
        editor = self._editors[leaf.path]
        editor.blockSignals(True)
        try:
            if isinstance(editor, (_NumberEditor, _FloatEdit)):
                editor.set_value(value)
            elif isinstance(editor, QtWidgets.QComboBox):
                editor.setCurrentText(str(value))
            elif isinstance(editor, QtWidgets.QCheckBox):
                editor.setChecked(bool(value))
            elif isinstance(editor, QtWidgets.QLabel):
                editor.setText(_format_value(value, leaf.meta))
        finally:
            editor.blockSignals(False)

    def set_show_advanced(self, show: bool) -> None:
        self.show_advanced = show
        self._apply_advanced()

    def _apply_advanced(self) -> None:
        for label, editor, leaf in self._rows.values():
            visible = self.show_advanced or not leaf.meta.get("advanced")
            label.setVisible(visible)
            editor.setVisible(visible)


def _format_value(value: Any, meta: dict) -> str:
    if value is None:
        return "not fitted yet" if meta.get("fitted") else "—"
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(_format_value(v, {}) for v in value) + ")"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)

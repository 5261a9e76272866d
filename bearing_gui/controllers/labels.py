"""Labelling: the current sample's dent mask, undo/redo, and autosave after every step.

One brush stroke (press .. release), one polygon, one rectangle or one good/dent mark is one undo
step. Every step is saved at once (atomic PNG + labels.json via ``core.labels``), so a crash or a
kill loses nothing. A failed save leaves the sample marked unsaved and ``save_failed`` says why;
the next edit, or ``retry_save``, tries again. An unsaved sample's mask and label are kept in memory
when another sample is opened (shown again when it is reopened) and every unsaved sample is
retried on each sample change. The undo history belongs to the current sample and is cleared when
another sample is opened.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bearing_gui.qt import QtCore, QtGui
from core.errors import BearingError
from core.labels import LabelStore, MaskEdit, fill_polygon, fill_rect, paint_stroke, save_mask, union_box


@dataclass
class LabelTarget:
    """What the label controller needs to know about a sample."""

    key: str
    group: str
    mask_path: Path
    shape: tuple[int, int]  # level-0 (H, W)
    mask: np.ndarray | None = None  # existing mask from disk, if any


class _EditCommand(QtGui.QUndoCommand):
    def __init__(self, ctrl: "LabelController", edit: MaskEdit | None, label_before: str,
                 label_after: str, text: str) -> None:
        super().__init__(text)
        self.ctrl, self.edit = ctrl, edit
        self.label_before, self.label_after = label_before, label_after
        self._first = True

    def redo(self) -> None:
        if self._first:  # the edit is already on the mask when pushed
            self._first = False
        elif self.edit is not None:
            self.edit.apply(self.ctrl.mask)
        self.ctrl._after_change(self.label_after)

    def undo(self) -> None:
        if self.edit is not None:
            self.edit.revert(self.ctrl.mask)
        self.ctrl._after_change(self.label_before)


class LabelController(QtCore.QObject):
    mask_changed = QtCore.Signal()
    label_changed = QtCore.Signal(str, str)  # key, label
    saved = QtCore.Signal(str)  # key
    save_failed = QtCore.Signal(str, str)  # key, message

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.undo_stack = QtGui.QUndoStack(self)
        self.store: LabelStore | None = None
        self.target: LabelTarget | None = None
        self.mask: np.ndarray | None = None
        self.label = ""
        self.unsaved: dict[str, str] = {}  # key -> why the last save failed
        self._held: dict[str, tuple[LabelTarget, np.ndarray, str]] = {}  # unsaved, not current
        self.brush_radius = 8.0
        self._stroke_before: np.ndarray | None = None
        self._stroke_points: list[tuple[float, float]] = []
        self._stroke_box = None
        self._stroke_value = True

    def set_store(self, store: LabelStore | None) -> None:
        self.set_target(None)  # retries what is still unsaved in the old store
        self.store = store
        self.unsaved.clear()
        self._held.clear()

    def set_target(self, target: LabelTarget | None) -> None:
        if self.target is not None and self.mask is not None and self.target.key in self.unsaved:
            self._held[self.target.key] = (self.target, self.mask, self.label)
        self.undo_stack.clear()
        self.target = target
        self._retry_held(skip=target.key if target is not None else None)
        if target is None:
            self.mask, self.label = None, ""
        elif target.key in self._held:  # its last save failed: show what the person drew
            _, self.mask, self.label = self._held.pop(target.key)
        else:
            self.mask = (target.mask.astype(bool).copy() if target.mask is not None
                         else np.zeros(target.shape, bool))
            self.label = self.store.label(target.key, target.group) if self.store else ""
        self.mask_changed.emit()

    def _retry_held(self, skip: str | None) -> None:
        for key, (target, mask, label) in list(self._held.items()):
            if key == skip:
                continue
            try:
                self._write(target, mask, label)
            except (BearingError, OSError) as exc:
                self.unsaved[key] = str(exc)
                continue
            del self._held[key]
            self.unsaved.pop(key, None)
            self.label_changed.emit(key, label)
            self.saved.emit(key)

    def _write(self, target: LabelTarget, mask: np.ndarray, label: str) -> None:
        self.store.set_label(target.key, target.group, label)
        save_mask(target.mask_path, mask if label == "dent" else None)

    def label_of(self, key: str, group: str) -> str:
        return self.store.label(key, group) if self.store else ""

    # -- painting -------------------------------------------------------------------------------
    def begin_stroke(self, x: float, y: float, erase: bool = False) -> None:
        if self.mask is None:
            return
        self._stroke_before = self.mask.copy()
        self._stroke_points = [(x, y)]
        self._stroke_box = None
        self._stroke_value = not erase
        self._paint_segment([(x, y)])

    def extend_stroke(self, x: float, y: float) -> None:
        if self._stroke_before is None or self.mask is None:
            return
        last = self._stroke_points[-1]
        self._stroke_points.append((x, y))
        self._paint_segment([last, (x, y)])

    def _paint_segment(self, pts) -> None:
        # The mask is painted as the mouse moves (cheap: only the segment's box), but the overlay
        # is re-rendered once at the end of the stroke; the viewer draws a preview path meanwhile,
        # so painting stays smooth on 5-megapixel images.
        box = paint_stroke(self.mask, pts, self.brush_radius, self._stroke_value)
        if box is not None:
            self._stroke_box = union_box(self._stroke_box, box)

    def end_stroke(self) -> None:
        if self._stroke_before is None or self.mask is None:
            return
        edit = MaskEdit.between(self._stroke_before, self.mask, self._stroke_box)
        self._stroke_before = None
        self.mask_changed.emit()
        if edit is not None:
            self._push(edit, "Erase" if not self._stroke_value else "Brush stroke",
                       mark_dent=self._stroke_value)

    def polygon(self, points, erase: bool = False) -> None:
        self._shape_edit(lambda m: fill_polygon(m, points, not erase), "Polygon", not erase)

    def rect(self, a, b, erase: bool = False) -> None:
        self._shape_edit(lambda m: fill_rect(m, a, b, not erase), "Rectangle", not erase)

    def _shape_edit(self, fn, text: str, mark_dent: bool) -> None:
        if self.mask is None:
            return
        before = self.mask.copy()
        box = fn(self.mask)
        edit = MaskEdit.between(before, self.mask, box)
        if edit is not None:
            self.mask_changed.emit()
            self._push(edit, text, mark_dent)

    def _push(self, edit: MaskEdit, text: str, mark_dent: bool) -> None:
        after = "dent" if mark_dent else self.label  # painting a dent makes the sample a dent
        self.undo_stack.push(_EditCommand(self, edit, self.label, after, text))

    # -- marking -------------------------------------------------------------------------------
    def mark(self, label: str) -> None:
        """Mark the sample good or dent (one undo step). Good clears the mask."""
        if self.mask is None or label == self.label:
            return
        edit = None
        if label == "good" and self.mask.any():
            before = self.mask.copy()
            self.mask[:] = False
            edit = MaskEdit.between(before, self.mask, (0, 0, self.mask.shape[1], self.mask.shape[0]))
            self.mask_changed.emit()
        self.undo_stack.push(_EditCommand(self, edit, self.label, label, f"Mark {label}"))

    # -- saving ---------------------------------------------------------------------------------
    def _after_change(self, label: str) -> None:
        self.label = label
        self.mask_changed.emit()
        self.save_now()

    def save_now(self) -> bool:
        """Save label and mask of the current sample; returns False (and reports) on failure."""
        t = self.target
        if t is None or self.store is None or self.mask is None:
            return False
        try:
            self._write(t, self.mask, self.label)
        except (BearingError, OSError) as exc:
            self.unsaved[t.key] = str(exc)
            self.label_changed.emit(t.key, self.label)
            self.save_failed.emit(t.key, str(exc))
            return False
        self.unsaved.pop(t.key, None)
        self.label_changed.emit(t.key, self.label)
        self.saved.emit(t.key)
        return True

    retry_save = save_now

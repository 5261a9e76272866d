"""Sample labels (good / dent) and dent-mask editing, without any GUI.

Where labels live
-----------------
The data set layout (``ROOT/<CLASS>/<split>/<group>/...``) already says what each sample is: group
``good`` means good, any other group (``dent`` ...) means a defect. Image files are never moved by a
relabel, because a person's data set folder is theirs and a move half-done by a crash would be worse
than none. Instead:

- ``ROOT/labels.json`` holds only the *overrides*: ``{"format": "bearing-inspector-labels",
  "version": 1, "labels": {"LC/train/good/003": "dent", ...}}``. A sample not listed keeps the
  label its folder gives it. The file is rewritten atomically on every change.
- Dent masks are MVTec-style PNGs (0/255, level-0 coordinates) at the path the layout gives the
  sample, ``ROOT/<CLASS>/ground_truth/<group>/<sample>_mask.png``, where ``group`` is the folder the
  images are in, so a mask always pairs with its images by path, even after a relabel.
- A sample marked good has no mask file (the mask is cleared as an undoable edit and its file
  removed); a sample marked dent keeps its mask, written even when still empty.

Every save is atomic; a failed save raises :class:`core.errors.InputError` naming the file, and the
caller keeps the sample marked unsaved.

Mask editing
------------
``paint_stroke`` / ``fill_polygon`` / ``fill_rect`` change a boolean mask in place and return the
box they touched; :class:`MaskEdit` keeps just that box before and after, so an undo step costs the
size of the stroke, not of the image.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from core.errors import InputError
from core.io.atomic import atomic_write_json

LABELS = ("good", "dent")
LABELS_FILE = "labels.json"
_FORMAT = "bearing-inspector-labels"

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 (x1, y1 exclusive), level-0 pixels


def folder_label(group: str) -> str:
    """The label a sample's folder gives it: ``good`` for group ``good``, ``dent`` otherwise."""
    return "good" if group == "good" else "dent"


def union_box(a: Box | None, b: Box | None) -> Box | None:
    """The smallest box holding both (either may be None)."""
    if a is None:
        return b
    if b is None:
        return a
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def _clip_box(box: Box, shape: tuple[int, int]) -> Box | None:
    h, w = shape
    x0, y0, x1, y1 = max(0, box[0]), max(0, box[1]), min(w, box[2]), min(h, box[3])
    if x0 >= x1 or y0 >= y1:
        return None
    return (x0, y0, x1, y1)


def _draw(mask: np.ndarray, box: Box, value: bool, draw) -> Box | None:
    """Run ``draw(patch, (x0, y0))`` on a uint8 patch over ``box`` and merge it into ``mask``."""
    box = _clip_box(box, mask.shape)
    if box is None:
        return None
    x0, y0, x1, y1 = box
    patch = np.zeros((y1 - y0, x1 - x0), np.uint8)
    draw(patch, (x0, y0))
    hit = patch.astype(bool)
    if not hit.any():
        return None
    region = mask[y0:y1, x0:x1]
    if value:
        region |= hit
    else:
        region &= ~hit
    return box


def paint_stroke(mask: np.ndarray, points: Sequence[tuple[float, float]], radius: float,
                 value: bool = True) -> Box | None:
    """Paint (``value=True``) or erase a round brush of ``radius`` px along ``points`` (x, y).

    One point paints a disc. Returns the touched box, or None when nothing lies inside the image.
    """
    if len(points) == 0:
        return None
    r = max(0.5, float(radius))
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    pad = int(np.ceil(r)) + 1
    box = (int(np.floor(pts[:, 0].min())) - pad, int(np.floor(pts[:, 1].min())) - pad,
           int(np.ceil(pts[:, 0].max())) + pad + 1, int(np.ceil(pts[:, 1].max())) + pad + 1)

    def draw(patch: np.ndarray, origin: tuple[int, int]) -> None:
        local = np.round(pts - origin).astype(np.int32)
        rad = int(round(r))
        # A zero-length line still needs its disc; cv2.line with thickness has round caps.
        for (xa, ya), (xb, yb) in zip(local, local[1:] if len(local) > 1 else local):
            cv2.line(patch, (int(xa), int(ya)), (int(xb), int(yb)), 1, thickness=max(1, 2 * rad),
                     lineType=cv2.LINE_8)
        for x, y in local:
            cv2.circle(patch, (int(x), int(y)), rad, 1, thickness=-1, lineType=cv2.LINE_8)

    return _draw(mask, box, value, draw)


def fill_polygon(mask: np.ndarray, points: Sequence[tuple[float, float]],
                 value: bool = True) -> Box | None:
    """Fill the polygon through ``points`` (x, y; at least 3). Returns the touched box."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(pts) < 3:
        return None
    box = (int(np.floor(pts[:, 0].min())), int(np.floor(pts[:, 1].min())),
           int(np.ceil(pts[:, 0].max())) + 1, int(np.ceil(pts[:, 1].max())) + 1)

    def draw(patch: np.ndarray, origin: tuple[int, int]) -> None:
        local = np.round(pts - origin).astype(np.int32)
        cv2.fillPoly(patch, [local], 1, lineType=cv2.LINE_8)

    return _draw(mask, box, value, draw)


def fill_rect(mask: np.ndarray, corner_a: tuple[float, float], corner_b: tuple[float, float],
              value: bool = True) -> Box | None:
    """Fill the axis-aligned rectangle between two corners (inclusive). Returns the touched box."""
    x0, x1 = sorted((int(round(corner_a[0])), int(round(corner_b[0]))))
    y0, y1 = sorted((int(round(corner_a[1])), int(round(corner_b[1]))))
    box = _clip_box((x0, y0, x1 + 1, y1 + 1), mask.shape)
    if box is None:
        return None
    bx0, by0, bx1, by1 = box
    mask[by0:by1, bx0:bx1] = value
    return box


@dataclass
class MaskEdit:
    """One undo step: the pixels of ``box`` before and after an edit."""

    box: Box
    before: np.ndarray
    after: np.ndarray

    @classmethod
    def between(cls, before_full: np.ndarray, after_full: np.ndarray,
                box: Box | None) -> "MaskEdit | None":
        """The edit from ``before_full`` to ``after_full`` inside ``box``; None if nothing changed."""
        if box is None:
            return None
        x0, y0, x1, y1 = box
        b = before_full[y0:y1, x0:x1].copy()
        a = after_full[y0:y1, x0:x1].copy()
        if np.array_equal(a, b):
            return None
        return cls(box, b, a)

    def apply(self, mask: np.ndarray) -> None:
        x0, y0, x1, y1 = self.box
        mask[y0:y1, x0:x1] = self.after

    def revert(self, mask: np.ndarray) -> None:
        x0, y0, x1, y1 = self.box
        mask[y0:y1, x0:x1] = self.before


class LabelStore:
    """Label overrides of one data set root (``ROOT/labels.json``), saved atomically on change."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.path = self.root / LABELS_FILE
        self._overrides: dict[str, str] = {}
        if self.path.exists():
            self._overrides = self._read(self.path)

    @staticmethod
    def _read(path: Path) -> dict[str, str]:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(path, f"cannot read the label file ({exc})",
                             "Fix or delete it; labels then fall back to the folder names") from None
        if not isinstance(data, dict) or data.get("format") != _FORMAT or \
                not isinstance(data.get("labels"), dict):
            raise InputError(path, "not a Bearing Inspector label file",
                             f'expected {{"format": "{_FORMAT}", "labels": {{...}}}}')
        bad = {k: v for k, v in data["labels"].items() if v not in LABELS}
        if bad:
            key, value = next(iter(bad.items()))
            raise InputError(path, f"sample {key} has label {value!r}",
                             f"allowed labels: {', '.join(LABELS)}")
        return dict(data["labels"])

    def label(self, key: str, group: str) -> str:
        """The effective label of sample ``key`` whose images lie in folder ``group``."""
        return self._overrides.get(key, folder_label(group))

    def is_relabelled(self, key: str) -> bool:
        return key in self._overrides

    @property
    def overrides(self) -> dict[str, str]:
        return dict(self._overrides)

    def set_label(self, key: str, group: str, label: str) -> None:
        """Record ``label`` for ``key`` and save; raises InputError (store unchanged) on failure."""
        if label not in LABELS:
            raise ValueError(f"label must be one of {LABELS}, got {label!r}")
        new = dict(self._overrides)
        if label == folder_label(group):
            new.pop(key, None)
        else:
            new[key] = label
        if new == self._overrides:
            return
        self._save(new)
        self._overrides = new

    def _save(self, overrides: dict[str, str]) -> None:
        data = {"format": _FORMAT, "version": 1, "labels": dict(sorted(overrides.items()))}
        try:
            atomic_write_json(self.path, data)
        except OSError as exc:
            raise InputError(self.path, f"could not save labels ({exc.strerror or exc})",
                             "Check the folder is writable and the disk is not full") from None


def save_mask(path: str | Path, mask: np.ndarray | None) -> None:
    """Write ``mask`` as a 0/255 PNG at ``path`` atomically, or remove the file when None.

    Raises InputError naming the file when the write fails (the old file, if any, is untouched).
    """
    from core.io.masks import write_mask

    path = Path(path)
    try:
        if mask is None:
            path.unlink(missing_ok=True)
        else:
            write_mask(path, mask)
    except OSError as exc:
        raise InputError(path, f"could not save the mask ({exc.strerror or exc})",
                         "Check the folder is writable and the disk is not full") from None

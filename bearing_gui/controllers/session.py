"""The open project: data set, per-class preprocessing config, current sample, dirty state.

Owns the worker threads for loading samples and for live preprocessing (both latest-request-wins)
and hands finished results to the panels through signals. Panels call the public methods here;
nothing in this module touches a widget.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bearing_gui.controllers.labels import LabelController, LabelTarget
from bearing_gui.controllers.workers import LatestOnly
from bearing_gui.qt import QtCore
from bearing_gui.widgets.param_form import get_path, replace_path
from core.config import ConfigError, validate
from core.errors import BearingError
from core.project import PROJECT_SUFFIX, Project, load_project, new_project


@dataclass
class LoadedSample:
    """A sample's images as read from disk; ``errors[i]`` says why level i is missing."""

    sample: Any  # core.io.dataset.Sample
    levels: list[np.ndarray | None]
    errors: dict[int, str] = field(default_factory=dict)
    mask: np.ndarray | None = None
    mask_error: str = ""

    @property
    def shape(self) -> tuple[int, int] | None:
        for lv in self.levels:
            if lv is not None:
                return lv.shape[:2]
        return None

    @property
    def complete(self) -> bool:
        return not self.errors and all(lv is not None for lv in self.levels)


def read_sample(sample, root: Path) -> LoadedSample:
    """Read every level (each failure recorded, not raised) and the mask, if any. Worker side."""
    from core.io.images import read_grey
    from core.io.masks import mask_path_for, read_mask

    levels: list[np.ndarray | None] = []
    errors: dict[int, str] = {}
    for i, p in enumerate(sample.level_paths):
        if p is None:
            levels.append(None)
            errors[i] = f"Level {i} image is missing for sample {sample.key}."
            continue
        try:
            levels.append(read_grey(p))
        except BearingError as exc:
            levels.append(None)
            errors[i] = str(exc)
    first = next((lv for lv in levels if lv is not None), None)
    for i, lv in enumerate(levels):
        if lv is not None and first is not None and lv.shape != first.shape:
            errors[i] = (f"{sample.level_paths[i]}: level {i} is {lv.shape[1]}x{lv.shape[0]} but "
                         f"level 0 is {first.shape[1]}x{first.shape[0]}.")
    loaded = LoadedSample(sample, levels, errors)
    path = mask_path_for(root, sample) if sample.split else None
    if path is not None and path.exists() and first is not None:
        try:
            loaded.mask = read_mask(path, expected_shape=first.shape)
        except BearingError as exc:
            loaded.mask_error = str(exc)
    return loaded


class SessionController(QtCore.QObject):
    project_opened = QtCore.Signal()
    dirty_changed = QtCore.Signal(bool)
    error = QtCore.Signal(str, str)  # title, message
    sample_selected = QtCore.Signal(object)  # Sample (before loading)
    sample_loaded = QtCore.Signal(object)  # LoadedSample
    config_changed = QtCore.Signal(str)  # class
    preprocess_done = QtCore.Signal(object, object)  # key, PreprocessResult
    preprocess_failed = QtCore.Signal(object, str)  # key, message
    status_changed = QtCore.Signal(str)  # sample key whose browser status changed

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.project: Project | None = None
        self.dataset = None
        self.config = None  # core.preprocess.pipeline.PreprocessConfig
        self.dirty = False
        self.samples: list = []
        self.index = -1
        self.loaded: LoadedSample | None = None
        self.result = None  # PreprocessResult of the current sample
        self.result_error = ""
        self.last_latency_ms = float("nan")
        self.roi_status: dict[str, str] = {}  # key -> "ok" / message
        self.scores: dict[str, float] = {}
        self.labels = LabelController(self)
        self._loader = LatestOnly(self)
        self._loader.finished.connect(self._on_loaded)
        self._loader.failed.connect(self._on_load_failed)
        self._preproc = LatestOnly(self)
        self._preproc.finished.connect(self._on_preprocessed)
        self._preproc.failed.connect(self._on_preprocess_failed)
        self.live_preprocess = True

    # -- opening / saving ----------------------------------------------------------------------
    def open_path(self, path: str | Path) -> bool:
        """Open a saved project file or a data set folder. Reports errors, returns success.

        A folder holding exactly one ``*.bearing.json`` opens that project; any other folder is
        opened as a data set in a new, unsaved project.
        """
        path = Path(path)
        try:
            if path.is_file() or path.name.endswith(PROJECT_SUFFIX):
                project = load_project(path)
            else:
                candidate = sorted(path.glob("*" + PROJECT_SUFFIX)) if path.is_dir() else []
                project = load_project(candidate[0]) if len(candidate) == 1 else new_project(path)
            self._open(project)
        except (BearingError, ConfigError) as exc:
            self.error.emit("Cannot open", str(exc))
            return False
        return True

    def _open(self, project: Project) -> None:
        from core.io.dataset import scan_dataset
        from core.labels import LabelStore

        dataset = scan_dataset(project.dataset_root)
        config = project.preprocess_config()
        labels = LabelStore(project.dataset_root)
        self._loader.wait()
        self._preproc.wait()
        self.project, self.dataset, self.config = project, dataset, config
        self.samples = list(dataset.samples)
        self.roi_status.clear()
        self.scores.clear()
        self.labels.set_store(labels)
        self.index = -1
        self.loaded = None
        self.result = None
        self._set_dirty(project.path is None)
        self.project_opened.emit()
        if self.samples:
            self.select(0)

    def save(self, path: str | Path | None = None) -> bool:
        if self.project is None:
            return False
        try:
            self.project.set_preprocess_config(self.config)
            self.project.save(path)
        except BearingError as exc:
            self.error.emit("Could not save the project", str(exc))
            return False
        self._set_dirty(False)
        return True

    def export_config(self, path: str | Path) -> bool:
        """Write the preprocessing config as JSON the CLI reads (``--config``)."""
        from core.config import save_json

        try:
            save_json(self.config, path)
        except OSError as exc:
            self.error.emit("Could not export", f"{path}: {exc.strerror or exc}")
            return False
        return True

    def mark_dirty(self) -> None:
        """The project changed outside the session's own edits (e.g. a run was added)."""
        self._set_dirty(True)

    def _set_dirty(self, dirty: bool) -> None:
        if dirty != self.dirty:
            self.dirty = dirty
            self.dirty_changed.emit(dirty)

    @property
    def title(self) -> str:
        if self.project is None:
            return "Bearing Inspector"
        return f"{self.project.name}{' *' if self.dirty else ''} — Bearing Inspector"

    # -- navigation ----------------------------------------------------------------------------
    @property
    def current(self):
        return self.samples[self.index] if 0 <= self.index < len(self.samples) else None

    def select(self, index: int) -> None:
        if not self.samples:
            return
        index = max(0, min(len(self.samples) - 1, index))
        if index == self.index and self.loaded is not None:
            return
        self.index = index
        sample = self.samples[index]
        self.sample_selected.emit(sample)
        root = self.project.dataset_root
        self._loader.submit(lambda s=sample: read_sample(s, root), sample.key)

    def select_key(self, key: str) -> None:
        for i, s in enumerate(self.samples):
            if s.key == key:
                self.select(i)
                return

    def step(self, delta: int, keys: list[str] | None = None) -> None:
        """Next/previous sample; ``keys`` limits the walk to the browser's visible samples."""
        if not self.samples:
            return
        if keys:
            cur = self.current.key if self.current else None
            pos = keys.index(cur) if cur in keys else -1
            new = keys[max(0, min(len(keys) - 1, pos + delta))]
            self.select_key(new)
        else:
            self.select(self.index + delta)

    def _on_loaded(self, key, loaded: LoadedSample) -> None:
        if self.current is None or key != self.current.key:
            return
        self.loaded = loaded
        self.result = None
        self.result_error = ""
        ambiguous = self._ambiguous_mask(key)
        if ambiguous:
            # One mask file named for two samples (train and test): showing it would claim it
            # belongs to this one, and drawing would change the other sample's mask too.
            loaded.mask, loaded.mask_error = None, ambiguous
        shape = loaded.shape
        if shape is not None:
            from core.io.masks import mask_path_for

            s = loaded.sample
            self.labels.set_target(LabelTarget(s.key, s.group, mask_path_for(
                self.project.dataset_root, s), shape, loaded.mask))
        else:
            self.labels.set_target(None)
        if loaded.errors:
            self.roi_status[key] = "unreadable"
            self.status_changed.emit(key)
        if ambiguous:
            self.error.emit("Mask not loaded", ambiguous + ". The mask is shown empty until then.")
        elif loaded.mask_error:
            self.error.emit("Mask not loaded", loaded.mask_error + " The mask is shown empty; "
                            "drawing on this sample replaces the file.")
        self.sample_loaded.emit(loaded)
        self.request_preprocess()

    def _ambiguous_mask(self, key: str) -> str:
        """The scan's problem text when ``key``'s mask file is shared with a same-named sample, else ''."""
        problems = self.dataset.problems if self.dataset is not None else []
        return next((str(p) for p in problems if p.sample_key == key and p.code == "ambiguous_mask"), "")

    def _on_load_failed(self, key, message: str) -> None:
        self.error.emit("Cannot read sample", message)

    # -- preprocessing -------------------------------------------------------------------------
    @property
    def current_class(self) -> str | None:
        return self.current.cls if self.current is not None else None

    def class_config(self, cls: str | None = None):
        cls = cls or self.current_class
        return None if cls is None or self.config is None else self.config.for_class(cls)

    def request_preprocess(self) -> None:
        """Recompute the current sample with the current config (latest request wins)."""
        loaded = self.loaded
        if loaded is None or not self.live_preprocess:
            return
        if not loaded.complete:
            msg = "; ".join(loaded.errors.values()) or "sample incomplete"
            self.result, self.result_error = None, msg
            self.preprocess_failed.emit(loaded.sample.key, msg)
            return
        from core.preprocess.pipeline import preprocess_sample

        cls = loaded.sample.cls
        cfg = self.config.for_class(cls)
        levels = loaded.levels
        path = loaded.sample.level_paths[0]
        started = time.perf_counter()

        def job():
            result = preprocess_sample(levels, cls, cfg, keep_stages=True, path=path)
            return result, started

        self._preproc.submit(job, loaded.sample.key)

    def _on_preprocessed(self, key, payload) -> None:
        result, started = payload
        self.last_latency_ms = (time.perf_counter() - started) * 1000.0
        if self.current is None or key != self.current.key:
            return
        self.result, self.result_error = result, ""
        self.roi_status[key] = "ok"
        self.status_changed.emit(key)
        self.preprocess_done.emit(key, result)

    def _on_preprocess_failed(self, key, message: str) -> None:
        if self.current is None or key != self.current.key:
            return
        self.result, self.result_error = None, message
        self.roi_status[key] = message
        self.status_changed.emit(key)
        self.preprocess_failed.emit(key, message)

    def patch_grid(self, input_size: int, patch_size: int):
        """(cells, reason): the (rows, cols) bool grid of patches the current mask marks abnormal
        at the model input size, as the patch-classification task will see them."""
        res, mask = self.result, self.labels.mask
        if res is None or mask is None:
            return None, "needs a found ROI and a loaded sample"
        if input_size % patch_size:
            return None, f"input size {input_size} is not a multiple of patch size {patch_size}"
        from core.models.patch_labels import patch_labels
        from core.train.data import mask_to_size

        small = mask_to_size(res.crop_mask(mask), input_size)[:, 0]
        n = input_size // patch_size
        return patch_labels(small, patch_size)[0].reshape(n, n).numpy() == 1, ""

    def wait_idle(self, ms: int = 10000) -> None:
        self._loader.wait(ms)
        self._preproc.wait(ms)

    # -- config editing ------------------------------------------------------------------------
    def set_param(self, cls: str, path: tuple, value: Any) -> bool:
        """Change one parameter of class ``cls``; invalid values are reported, not applied."""
        old = self.config.for_class(cls)
        if get_path(old, path) == value:
            return True
        try:
            new = replace_path(old, path, value)
            validate(new, cls)
        except (ConfigError, TypeError, ValueError) as exc:
            self.error.emit("Invalid value", str(exc))
            self.config_changed.emit(cls)
            return False
        self.set_class_config(cls, new)
        return True

    def set_class_config(self, cls: str, new) -> None:
        self.config = dataclasses.replace(self.config, **{cls: new})
        self._set_dirty(True)
        self.config_changed.emit(cls)
        if cls == self.current_class:
            self.request_preprocess()

    def reset_params(self, cls: str, paths: list[tuple]) -> None:
        from core.preprocess.pipeline import default_class_config

        default = default_class_config(cls)
        new = self.config.for_class(cls)
        for path in paths:
            try:
                new = replace_path(new, path, get_path(default, path))
            except AttributeError:
                continue
        self.set_class_config(cls, new)

    # -- OD crop handles -----------------------------------------------------------------------
    def od_boxes(self) -> dict[str, tuple[int, int, int, int]]:
        """The OD pre-crop and crop rectangles of the current sample (level-0 pixels)."""
        if self.current_class != "OD" or self.loaded is None or self.loaded.shape is None:
            return {}
        from core.preprocess.eggcc import global_crop_box, precrop_box

        p = self.class_config().eggcc
        shape = self.loaded.shape
        boxes = {"precrop": precrop_box(shape, p)}
        centre = p.global_centre
        if centre is None and self.result is not None:
            centre = self.result.extras.get("global_centre")
        if centre is not None:
            boxes["crop"] = global_crop_box(tuple(centre), shape, p)
        return boxes

    def set_od_box(self, name: str, box: tuple[float, float, float, float]) -> None:
        """A dragged OD rectangle back into the (fractional) config fields."""
        if self.current_class != "OD" or self.loaded is None:
            return
        h, w = self.loaded.shape
        p = self.class_config().eggcc
        x0, y0, x1, y1 = box
        if name == "precrop":
            changes = {"margin_left": x0 / w, "margin_right": (w - x1) / w,
                       "margin_top": y0 / h, "margin_bottom": (h - y1) / h}
        else:
            centre = p.global_centre or (self.result.extras.get("global_centre")
                                         if self.result is not None else None)
            if centre is None:
                return
            gx, gy = centre
            # inverse of core.preprocess.eggcc.global_crop_box (x1/y1 exclusive, +1)
            changes = {"crop_left": (gx - x0) / w, "crop_right": (x1 - 1 - gx) / w,
                       "crop_up": (gy - y0) / h, "crop_down": (y1 - 1 - gy) / h}
        clamped = {}
        for f in dataclasses.fields(p):
            if f.name in changes:
                v = changes[f.name]
                lo, hi = f.metadata.get("min"), f.metadata.get("max")
                v = max(lo, v) if lo is not None else v
                v = min(hi, v) if hi is not None else v
                clamped[f.name] = round(v, 4)  # finer than the spin-box step: follow the hand
        new_p = dataclasses.replace(p, **clamped)
        self.set_class_config("OD", dataclasses.replace(self.class_config(), eggcc=new_p))

""""Apply to class": fit the data-set statistics, then preprocess every sample of the class.

Runs ``core.preprocess.batch.preprocess_dataset`` (the same call as ``bearing-inspect
preprocess``) for one class as a background job with progress and cancel. The class's fitted
statistics (r_mean for LC/SC, the global centre for OD) are cleared first, so they are fitted again
with the current settings. The gallery gets one entry per sample with a small image of its crop,
failures first with the reason.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from bearing_gui.controllers.workers import Job, global_pool
from bearing_gui.qt import QtCore, QtGui
from core.errors import BearingError

GALLERY_SIZE = 128


@dataclass
class GalleryEntry:
    key: str
    ok: bool
    message: str
    image: QtGui.QImage | None  # small picture of the crop (or of level 0 on failure)


def _qimage(arr: np.ndarray) -> QtGui.QImage:
    """A small QImage of a uint8 grey or RGB array (scaled by Qt, copied so it owns its data)."""
    arr = np.ascontiguousarray(arr)
    h, w = arr.shape[:2]
    if arr.ndim == 2:
        img = QtGui.QImage(arr.data, w, h, arr.strides[0], QtGui.QImage.Format.Format_Grayscale8)
    else:
        img = QtGui.QImage(arr.data, w, h, arr.strides[0], QtGui.QImage.Format.Format_RGB888)
    return img.scaled(GALLERY_SIZE, GALLERY_SIZE, QtCore.Qt.AspectRatioMode.KeepAspectRatio,
                      QtCore.Qt.TransformationMode.SmoothTransformation).copy()


def unfitted(class_config):
    """``class_config`` with its data-set statistics cleared (so the batch fits them again)."""
    if class_config.cgcm is not None:
        return dataclasses.replace(class_config,
                                   cgcm=dataclasses.replace(class_config.cgcm, r_mean=None))
    if class_config.eggcc is not None:
        return dataclasses.replace(
            class_config, eggcc=dataclasses.replace(class_config.eggcc, global_centre=None))
    return class_config


def run_class(dataset, cls: str, config, report, cancel) -> tuple[object, list, str]:
    """Worker side: (fitted class config, gallery entries failures first, note)."""
    from core.io.cache import CacheParams
    from core.io.images import read_grey
    from core.preprocess.batch import preprocess_dataset

    config = dataclasses.replace(config, **{cls: unfitted(config.for_class(cls))})
    images: dict[str, QtGui.QImage] = {}

    def sink(record) -> None:
        images[record.key] = _qimage(record.composed)

    result = preprocess_dataset(dataset, config, CacheParams(size=GALLERY_SIZE),
                                progress=lambda done, total, _msg="": report(done, total),
                                cancel=cancel.is_set, classes=[cls], sink=sink)
    if result.cancelled:
        from bearing_gui.controllers.workers import Cancelled

        raise Cancelled()
    reasons = {p.sample_key: str(p) for p in result.problems if p.sample_key}
    notes = [str(p) for p in result.problems if not p.sample_key]
    entries: list[GalleryEntry] = []
    for s in dataset.select(cls=cls):
        if s.key in images:
            entries.append(GalleryEntry(s.key, True, "", images[s.key]))
            continue
        img = None
        try:
            img = _qimage(read_grey(s.first_path))
        except BearingError:
            pass
        entries.append(GalleryEntry(s.key, False, reasons.get(s.key, "not processed"), img))
    entries.sort(key=lambda e: e.ok)  # failures first, otherwise data set order
    return result.config.for_class(cls), entries, " ".join(notes)


class ClassRunController(QtCore.QObject):
    progress = QtCore.Signal(int, int)
    finished = QtCore.Signal(str, list, str)  # class, entries, note
    failed = QtCore.Signal(str)

    def __init__(self, session, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.job: Job | None = None
        self.cls = ""

    @property
    def running(self) -> bool:
        return self.job is not None

    def start(self, cls: str) -> None:
        if self.job is not None:
            return
        dataset, config = self.session.dataset, self.session.config
        self.cls = cls
        job = Job(lambda report, cancel: run_class(dataset, cls, config, report, cancel), cls)
        job.signals.progress.connect(lambda _t, d, n: self.progress.emit(d, n))
        job.signals.finished.connect(self._on_finished)
        job.signals.failed.connect(self._on_failed)
        self.job = job
        self._signals = job.signals
        global_pool().start(job)

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel_event.set()

    def _on_finished(self, cls, payload) -> None:
        self.job = None
        fitted, entries, note = payload
        for e in entries:
            self.session.roi_status[e.key] = "ok" if e.ok else e.message
            self.session.status_changed.emit(e.key)
        self.session.set_class_config(cls, fitted)
        self.finished.emit(cls, entries, note)

    def _on_failed(self, cls, message: str) -> None:
        self.job = None
        self.failed.emit(message)

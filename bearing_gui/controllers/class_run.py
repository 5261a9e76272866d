""""Apply to class": fit the data-set statistics, then preprocess every sample of the class.

Runs as a background job with progress and cancel. The fit uses the class's train/good samples
(r_mean for LC/SC, the global centre for OD), exactly as the CLI's fit step does; then every
sample is preprocessed with the fitted config, and the gallery gets one entry per sample with a
small image of its crop, failures first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bearing_gui.controllers.workers import Cancelled, Job, global_pool
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


def run_class(samples: list, cls: str, class_config, report, cancel) -> tuple[object, list, str]:
    """Worker side: (fitted config, gallery entries, fit note)."""
    from core.io.dataset import load_levels
    from core.io.images import read_grey
    from core.preprocess.pipeline import fit_class_statistics, preprocess_sample

    fit_samples = [s for s in samples if s.split == "train" and not s.is_anomalous
                   and s.level_paths and s.level_paths[0] is not None]
    total = len(fit_samples) + len(samples)
    done = 0

    def level0_images():
        nonlocal done
        for s in fit_samples:
            if cancel.is_set():
                raise Cancelled()
            try:
                img = read_grey(s.level_paths[0])
            except BearingError:
                continue
            done += 1
            report(done, total)
            yield img

    note = ""
    fitted = class_config
    if fit_samples:
        try:
            fitted = fit_class_statistics(level0_images(), cls, class_config)
        except BearingError as exc:
            note = f"Fit failed, kept the old statistics: {exc}"
    else:
        note = "No train/good samples to fit the statistics on; kept the old values."
    done = len(fit_samples)
    entries: list[GalleryEntry] = []
    for s in samples:
        if cancel.is_set():
            raise Cancelled()
        try:
            levels = load_levels(s)
            res = preprocess_sample(levels, cls, fitted, keep_stages=False, path=s.level_paths[0])
            entries.append(GalleryEntry(s.key, True, "", _qimage(res.composed)))
        except BearingError as exc:
            img = None
            try:
                img = _qimage(read_grey(s.first_path))
            except BearingError:
                pass
            entries.append(GalleryEntry(s.key, False, str(exc), img))
        done += 1
        report(done, total)
    entries.sort(key=lambda e: e.ok)  # failures first, otherwise data set order
    return fitted, entries, note


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
        samples = [s for s in self.session.samples if s.cls == cls]
        cfg = self.session.class_config(cls)
        self.cls = cls
        job = Job(lambda report, cancel: run_class(samples, cls, cfg, report, cancel), cls)
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

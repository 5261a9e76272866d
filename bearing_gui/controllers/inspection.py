"""Batch inspection of a folder with a trained run, streamed, and report export.

The worker walks the samples one at a time (one sample's images and map in memory), writes the
same output folder as ``bearing-inspect inspect`` (results.csv, overlays/, summary.json, so
``bearing-inspect report`` and the GUI's report export read it), and hands each finished row to
the GUI through a locked list that a timer drains. Cancel stops after the current sample; what was
done is still written (status "interrupted").
"""

from __future__ import annotations

import csv
import threading
from dataclasses import dataclass
from pathlib import Path

from bearing_gui.controllers.workers import Job, PolledJob
from bearing_gui.qt import QtCore
from core.inference.batch import InspectRow  # noqa: F401 (rows the panel shows)

POLL_MS = 100


@dataclass
class InspectRequest:
    folder: Path
    run: Path                 # a run root (class sub-folders) or one class run
    out: Path
    cls: str | None = None    # every sample's class; None: from a LC/SC/OD folder on the path
    pattern: str | None = None
    overlays: bool = True


class RowBuffer:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: list[InspectRow] = []
        self.done = 0
        self.total = 0

    def add(self, row: InspectRow) -> None:
        with self._lock:
            self._rows.append(row)
            self.done += 1

    def take(self) -> list[InspectRow]:
        with self._lock:
            rows, self._rows = self._rows, []
        return rows


def run_inspection(req: InspectRequest, buf: RowBuffer, cancel: threading.Event) -> dict:
    """Worker side: the whole batch; returns the summary (also written as summary.json)."""
    from core.commands.inspect import OVERLAY_DIR, RESULTS_FILE, SUMMARY_FILE, csv_cell, natural_key
    from core.inference.batch import COLUMNS, DECISIONS, batch_summary, inspect_sample
    from core.inference import Inspector, class_run_folders
    from core.io.atomic import atomic_path, atomic_write_json
    from core.io.dataset import CLASSES, LayoutParams, scan_folder

    layout = LayoutParams(pattern=req.pattern) if req.pattern else LayoutParams()
    dataset = scan_folder(req.folder, layout, cls=req.cls)
    samples = sorted(dataset.samples, key=lambda s: natural_key(csv_cell(s.key)))
    buf.total = len(samples)
    runs = class_run_folders(req.run)
    needed = sorted({s.cls for s in samples} & set(runs), key=CLASSES.index)
    inspectors = {c: Inspector.from_run(runs[c], c, device="auto") for c in needed}
    req.out.mkdir(parents=True, exist_ok=True)
    overlay_dir = req.out / OVERLAY_DIR if req.overlays else None
    counts = {d: 0 for d in DECISIONS}
    status = "finished"
    with atomic_path(req.out / RESULTS_FILE) as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(COLUMNS)
            for s in samples:
                if cancel.is_set():
                    status = "interrupted"
                    break
                row = inspect_sample(s, inspectors, overlay_dir)
                counts[row.decision] = counts.get(row.decision, 0) + 1
                w.writerow([csv_cell(row.sample), row.cls, "" if row.score is None else repr(float(row.score)),
                            row.decision, "" if row.threshold is None else repr(float(row.threshold)),
                            csv_cell(row.reason)])
                buf.add(row)
    summary = batch_summary(status=status, folder=req.folder, run=req.run, samples=samples, counts=counts,
                            inspectors=inspectors, problems=dataset.problems,
                            overlays=OVERLAY_DIR if req.overlays else None)
    atomic_write_json(req.out / SUMMARY_FILE, summary)
    return summary


class InspectionController(PolledJob):
    rows_ready = QtCore.Signal(list)        # new InspectRow objects (timer-paced)
    progress = QtCore.Signal(int, int)
    finished = QtCore.Signal(object)        # summary dict
    failed = QtCore.Signal(str)

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(POLL_MS, parent)
        self.buffer = RowBuffer()
        self.out: Path | None = None

    def start(self, req: InspectRequest) -> bool:
        if self.running:
            return False
        self.buffer = buf = RowBuffer()
        self.out = req.out
        return self._launch(lambda _r, cancel: run_inspection(req, buf, cancel))

    def poll(self) -> None:
        rows = self.buffer.take()
        if rows:
            self.rows_ready.emit(rows)
        self.progress.emit(self.buffer.done, self.buffer.total)

    def _job_finished(self, summary: dict) -> None:
        self.finished.emit(summary)

    def _job_failed(self, message: str) -> None:
        self.failed.emit(message)


def export_report(folder: str | Path, target: str | Path) -> Path:
    """Worker side: the report of a run folder or an inspection folder, in ``target``'s format."""
    from core.report import write_report
    from core.report.build import build_report, check_report_target

    check_report_target(target)
    return write_report(build_report(folder), target)


class ReportExporter(QtCore.QObject):
    finished = QtCore.Signal(str)   # written file
    failed = QtCore.Signal(str)

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = QtCore.QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self._keep: list = []

    def export(self, folder: str | Path, target: str | Path) -> None:
        job = Job(lambda _r, _c: export_report(folder, target))
        job.signals.finished.connect(lambda _t, p: self.finished.emit(str(p)))
        job.signals.failed.connect(lambda _t, m: self.failed.emit(m))
        self._keep = [job.signals]
        self.pool.start(job)

    def wait(self, ms: int = 60000) -> bool:
        return self.pool.waitForDone(ms)

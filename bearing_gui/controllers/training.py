"""Training in the background: preprocess (cached), train each class, evaluate, with live progress.

The worker (a thread of a private one-thread pool) calls ``core.train`` and only appends what it
learns (progress events, log lines) to a :class:`LiveBuffer` under a lock; it never emits Qt
signals with Python objects and never touches a widget. A GUI timer drains the buffer ten times a
second, so the curves are redrawn at a fixed rate however fast the iterations come. Cancel is a
flag checked by the training loop after every iteration (it checkpoints, so the run can be resumed).

Run folders: ``RUNS_ROOT/<name>/<class>/`` (the same layout as ``bearing-inspect train --out``).
"""

from __future__ import annotations

import datetime as _dt
import math
import threading
from dataclasses import dataclass, field
from pathlib import Path

from bearing_gui.controllers.workers import Cancelled, PolledJob
from bearing_gui.qt import QtCore

DETECTORS = ("dinomaly", "vitad")
RESUMABLE = ("interrupted", "cancelled", "failed")
POLL_MS = 100


@dataclass
class TrainRequest:
    """What the training panel asks for. ``resume_dir``: a class run folder to continue instead."""

    data_root: Path
    classes: list[str]
    config: object = None            # core.train.stages.TrainConfig
    preprocess: object = None        # core.preprocess.pipeline.PreprocessConfig
    run_root: Path | None = None     # RUNS_ROOT/<name>
    resume_dir: Path | None = None
    evaluate: bool = True


class LiveBuffer:
    """Thread-safe hand-over from the worker to the GUI timer."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: list[tuple] = []
        self._log: list[str] = []
        self.phase = ""

    def event(self, cls: str, ev) -> None:
        with self._lock:
            self._events.append((cls, ev.iteration, ev.total, dict(ev.losses), ev.lr, ev.eta_s,
                                 ev.elapsed_s, ev.phase))

    def log(self, line: str) -> None:
        with self._lock:
            self._log.append(line)

    def take(self) -> tuple[list[tuple], list[str]]:
        with self._lock:
            ev, lg = self._events, self._log
            self._events, self._log = [], []
        return ev, lg


def new_run_name(model: str, classes: list[str]) -> str:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{model}-{'-'.join(classes)}"


def run_training(req: TrainRequest, buf: LiveBuffer, cancel: threading.Event) -> list[dict]:
    """Worker side: preprocess into the cache, train every class, evaluate detectors.

    Returns one dict per class: run folder, status, message.
    """
    from core.errors import BearingError
    from core.train.datasource import resolve_cache
    from core.train.runs import Run
    from core.train.stages import evaluate_run, train_class

    def prep_progress(done, total=None, *_):
        if cancel.is_set():
            raise Cancelled()
        buf.phase = f"preprocessing {done}/{total or '?'}"

    if req.resume_dir is not None:
        run = Run(req.resume_dir)
        rec = run.load_record()
        jobs = [(rec.cls, run.folder, True)]
        cache = Path(rec.config.get("cache", ""))
        if not cache.is_file():
            buf.log(f"the run's cache {cache} is gone; preprocessing the data set again")
            cache = resolve_cache(req.data_root, [rec.cls], req.preprocess, progress=prep_progress,
                                  cancel=cancel.is_set, log=buf.log)
        kind = rec.kind
        device = rec.config.get("train", {}).get("device", "auto")
    else:
        jobs = [(c, req.run_root / c, False) for c in req.classes]
        buf.phase = "preprocessing"
        cache = resolve_cache(req.data_root, req.classes, req.preprocess, progress=prep_progress,
                              cancel=cancel.is_set, log=buf.log)
        kind, device = req.config.model, req.config.device
    out = []
    for cls, folder, resume in jobs:
        if cancel.is_set():
            out.append({"run": str(folder), "cls": cls, "status": "cancelled", "message": "not started"})
            continue
        buf.phase = f"training {cls}"
        outcome = train_class(cache, cls, req.config, folder, resume=resume,
                              progress=lambda ev, c=cls: buf.event(c, ev), cancel=cancel.is_set,
                              log=buf.log)
        entry = {"run": str(outcome.run_dir), "cls": cls, "status": outcome.status,
                 "message": outcome.message}
        if outcome.status == "finished" and kind in DETECTORS and req.evaluate:
            buf.phase = f"evaluating {cls}"
            try:
                m = evaluate_run(folder, cache, split="test", device=device)
                line = ", ".join(f"{k} {v:.3f}" for k, v in m["metrics"].items() if math.isfinite(v))
                buf.log(f"{cls} evaluated on the test split: {line}")
            except BearingError as exc:
                buf.log(f"{cls}: not evaluated: {exc}")
        out.append(entry)
    return out


SCHEDULE_KEYS = frozenset({"hard_mining_p"})  # Dinomaly's hard-mining share, a schedule value


@dataclass
class Curves:
    """Per-name (iteration, value) series of the training shown now (GUI thread only)."""

    cls: str = ""
    iterations: list[int] = field(default_factory=list)
    values: dict[str, list[float]] = field(default_factory=dict)
    lr: list[float] = field(default_factory=list)

    def clear(self, cls: str = "") -> None:
        self.cls, self.iterations, self.values, self.lr = cls, [], {}, []

    def add(self, iteration: int, losses: dict, lr: float) -> None:
        n = len(self.iterations)
        self.iterations.append(iteration)
        self.lr.append(lr)
        for k, v in losses.items():
            if k in SCHEDULE_KEYS:  # logged next to the losses, but not a loss: no loss curve
                continue
            series = self.values.setdefault(k, [math.nan] * n)
            series.append(float(v))
        for k, series in self.values.items():  # a loss absent this iteration (other phase)
            if len(series) < n + 1:
                series.append(math.nan)


class TrainingController(PolledJob):
    """Starts, cancels and resumes trainings; exposes live curves, progress and the log."""

    started = QtCore.Signal(str)                 # run root / run folder
    updated = QtCore.Signal()                    # new curve points or progress (timer-paced)
    log_lines = QtCore.Signal(list)              # new log lines
    finished = QtCore.Signal(str, list)          # status ("finished"/"cancelled"/"failed"), outcomes
    failed = QtCore.Signal(str)                  # message

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(POLL_MS, parent)
        self.buffer = LiveBuffer()
        self.curves = Curves()
        self.iteration = 0
        self.total = 0
        self.eta_s = math.nan
        self.elapsed_s = 0.0
        self.phase = ""
        self.last_outcomes: list[dict] = []

    def start(self, req: TrainRequest) -> bool:
        if self.running:
            return False
        self.buffer = LiveBuffer()
        self.curves.clear()
        self.iteration, self.total, self.eta_s, self.phase = 0, 0, math.nan, "starting"
        if req.resume_dir is not None:
            self._load_history(req.resume_dir)
        buf = self.buffer
        self._launch(lambda _report, cancel: run_training(req, buf, cancel))
        self.started.emit(str(req.resume_dir or req.run_root))
        return True

    def _load_history(self, folder: Path) -> None:
        """A resumed run's curves start with what it had done (up to its checkpoint)."""
        from core.train.checkpoint import checkpoint_iteration
        from core.train.runs import Run

        run = Run(folder)
        try:
            self.curves.cls = run.load_record().cls
            last = checkpoint_iteration(run.checkpoint_dir) or 0
        except Exception:  # an unreadable record is reported by the worker
            return
        for r in run.read_history():
            if r.get("iteration", 0) <= last:
                losses = {k: v for k, v in r.items() if k not in ("iteration", "lr", "phase")}
                self.curves.add(int(r["iteration"]), losses, float(r.get("lr", math.nan)))
        self.iteration = last

    def cancel(self) -> None:
        if self.job is not None:
            super().cancel()
            self.phase = "cancelling (saving a checkpoint)…"

    def poll(self) -> None:
        events, lines = self.buffer.take()
        for cls, it, total, losses, lr, eta, elapsed, _phase in events:
            if cls != self.curves.cls:
                self.curves.clear(cls)
            self.curves.add(it, losses, lr)
            self.iteration, self.total, self.eta_s, self.elapsed_s = it, total, eta, elapsed
        if self.job is not None and not self.phase.startswith("cancelling"):
            self.phase = self.buffer.phase
        if lines:
            self.log_lines.emit(lines)
        if events or lines or self.job is not None:
            self.updated.emit()

    def _job_finished(self, outcomes: list) -> None:
        self.last_outcomes = outcomes
        statuses = {o["status"] for o in outcomes}
        status = "finished" if statuses == {"finished"} else (
            "cancelled" if "cancelled" in statuses else "failed")
        self.phase = status
        self.updated.emit()
        self.finished.emit(status, outcomes)

    def _job_failed(self, message: str) -> None:
        if message == "cancelled":
            self.phase = "cancelled"
            self.updated.emit()
            self.finished.emit("cancelled", [])
            return
        self.phase = "failed"
        self.log_lines.emit([f"error: {message}"])
        self.updated.emit()
        self.failed.emit(message)


# -- runs list -------------------------------------------------------------------------------------
@dataclass
class RunRow:
    """One class run as the runs list shows it."""

    folder: Path
    name: str
    status: str
    cls: str
    model: str
    encoder: str
    date: str
    metrics: dict = field(default_factory=dict)
    random_weights: bool = False
    message: str = ""
    resumable: bool = False


def scan_runs(root: str | Path) -> tuple[list[RunRow], list[str]]:
    """Every class run below ``root`` (newest first) and the folders that could not be read."""
    from core.errors import BearingError
    from core.train.checkpoint import CHECKPOINT_NAME
    from core.train.runs import list_runs

    root = Path(root)
    if not root.is_dir():
        return [], []
    rows, problems = [], []
    for run in list_runs(root):
        try:
            rec = run.load_record()
            status = run.effective_status()
            metrics = (run.load_metrics() or {}).get("metrics", {})
        except (BearingError, ValueError, OSError) as exc:
            problems.append(str(exc))
            continue
        enc = rec.encoder.get("backbone") or rec.encoder.get("name") or ""
        if rec.config.get("train", {}).get("encoder_run"):
            enc += " (fine-tuned)"
        try:
            name = str(run.folder.relative_to(root))
        except ValueError:
            name = run.folder.name
        has_ckpt = (run.checkpoint_dir / CHECKPOINT_NAME).is_file()
        rows.append(RunRow(run.folder, name, status, rec.cls, rec.kind, enc, rec.updated[:16].replace("T", " "),
                           metrics, rec.random_weights, rec.message,
                           status in RESUMABLE and has_ckpt))
    return rows, problems

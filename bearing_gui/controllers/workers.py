"""Background work: a QRunnable that calls a function and reports back through queued signals.

Workers never touch widgets; results come back on the GUI thread through signals. ``LatestOnly``
runs at most one job at a time and keeps only the newest waiting request (latest request wins), so
dragging a slider queues nothing stale.
"""

from __future__ import annotations

import threading
import traceback
from typing import Any, Callable

from bearing_gui.qt import QtCore
from core.errors import BearingError


class Cancelled(Exception):
    """Raised inside a job when its cancel flag is set."""


class _Signals(QtCore.QObject):
    """Lives in the GUI thread. The worker only emits argument-free / integer signals across the
    thread boundary (Python objects in queued signals have crashed PySide6 under load); the
    result is read from the job here, on the GUI thread, and re-emitted directly."""

    finished = QtCore.Signal(object, object)  # token, result   (GUI thread only)
    failed = QtCore.Signal(object, str)  # token, message       (GUI thread only)
    progress = QtCore.Signal(object, int, int)  # token, done, total
    _done = QtCore.Signal()
    _progress = QtCore.Signal(int, int)

    def __init__(self, job: "Job") -> None:
        super().__init__()
        self._job = job
        self._done.connect(self._deliver, QtCore.Qt.ConnectionType.QueuedConnection)
        self._progress.connect(self._deliver_progress, QtCore.Qt.ConnectionType.QueuedConnection)

    def _deliver(self) -> None:
        job = self._job
        _LIVE.discard(job)
        if job.error is None:
            self.finished.emit(job.token, job.result)
        else:
            self.failed.emit(job.token, job.error)

    def _deliver_progress(self, done: int, total: int) -> None:
        self.progress.emit(self._job.token, done, total)


_LIVE: set = set()  # jobs whose result has not been delivered yet (keeps them alive)


class Job(QtCore.QRunnable):
    """Run ``fn(report, cancel_event)``; ``report(done, total)`` emits progress."""

    def __init__(self, fn: Callable[..., Any], token: Any = None) -> None:
        super().__init__()
        self.setAutoDelete(False)  # Python owns it (see _LIVE) until the result is delivered
        self.fn = fn
        self.token = token
        self.result: Any = None
        self.error: str | None = None
        self.cancel_event = threading.Event()
        self.signals = _Signals(self)
        _LIVE.add(self)

    def run(self) -> None:
        try:
            self.result = self.fn(self._report, self.cancel_event)
        except Cancelled:
            self.error = "cancelled"
        except BearingError as exc:
            self.error = str(exc)
        except Exception as exc:  # unexpected: keep the GUI alive, show what happened
            detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
            self.error = f"Unexpected error: {detail}"
        self.signals._done.emit()

    def _report(self, done: int, total: int) -> None:
        if self.cancel_event.is_set():
            raise Cancelled()
        self.signals._progress.emit(int(done), int(total))


def global_pool() -> QtCore.QThreadPool:
    return QtCore.QThreadPool.globalInstance()


class LatestOnly(QtCore.QObject):
    """One job at a time on a private pool; a new request replaces the waiting one."""

    finished = QtCore.Signal(object, object)
    failed = QtCore.Signal(object, str)

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = QtCore.QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self._running = False
        self._pending: tuple[Callable, Any] | None = None

    @property
    def busy(self) -> bool:
        return self._running or self._pending is not None

    def submit(self, fn: Callable[[], Any], token: Any = None) -> None:
        if self._running:
            self._pending = (fn, token)
            return
        self._start(fn, token)

    def _start(self, fn, token) -> None:
        self._running = True
        job = Job(lambda report, cancel: fn(), token)
        job.signals.finished.connect(self._on_finished)
        job.signals.failed.connect(self._on_failed)
        self._job_signals = job.signals  # keep the QObject alive until its signal is delivered
        self.pool.start(job)

    def _next(self) -> bool:
        self._running = False
        if self._pending is not None:
            fn, token = self._pending
            self._pending = None
            self._start(fn, token)
            return True
        return False

    def _on_finished(self, token, result) -> None:
        if not self._next():  # a newer request is running: this result is stale, drop it
            self.finished.emit(token, result)

    def _on_failed(self, token, message) -> None:
        if not self._next():
            self.failed.emit(token, message)

    def wait(self, ms: int = 10000) -> None:
        self.pool.waitForDone(ms)


class PolledJob(QtCore.QObject):
    """One long job at a time on its own thread, with a GUI timer that drains what the job buffers.

    Subclasses implement ``poll()`` (called every ``interval_ms`` while the job runs, and once more at
    the end) and ``_job_finished(result)`` / ``_job_failed(message)``. The worker never touches Qt
    objects: it writes into a locked buffer that ``poll`` reads on the GUI thread.
    """

    def __init__(self, interval_ms: int = 100, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = QtCore.QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self.job: Job | None = None
        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.poll)

    @property
    def running(self) -> bool:
        return self.job is not None

    def _launch(self, fn: Callable[[Any, threading.Event], Any]) -> bool:
        """Start ``fn(report, cancel_event)`` unless a job is running; False if one is."""
        if self.job is not None:
            return False
        job = Job(fn)
        job.signals.finished.connect(lambda _t, result: (self._end(), self._job_finished(result)))
        job.signals.failed.connect(lambda _t, message: (self._end(), self._job_failed(message)))
        self.job = job
        self._signals = job.signals
        self.pool.start(job)
        self.timer.start()
        return True

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel_event.set()

    def wait(self, ms: int = 30000) -> bool:
        return self.pool.waitForDone(ms)

    def _end(self) -> None:
        self.job = None
        self.timer.stop()
        self.poll()

    def poll(self) -> None:  # pragma: no cover - subclasses
        raise NotImplementedError

    def _job_finished(self, result: Any) -> None:  # pragma: no cover - subclasses
        raise NotImplementedError

    def _job_failed(self, message: str) -> None:  # pragma: no cover - subclasses
        raise NotImplementedError

import threading
import time

import pytest

from bearing_gui.controllers.workers import Job, LatestOnly, global_pool

pytestmark = pytest.mark.gui


def test_latest_request_wins(qtbot):
    runner = LatestOnly()
    gate = threading.Event()
    started = []
    results = []
    runner.finished.connect(lambda token, result: results.append((token, result)))

    def make(i):
        def job():
            started.append(i)
            if i == 0:
                gate.wait(5)
            return i * 10
        return job

    runner.submit(make(0), 0)
    qtbot.waitUntil(lambda: started == [0], timeout=5000)
    for i in (1, 2, 3):  # arrive while job 0 runs: only the newest survives
        runner.submit(make(i), i)
    gate.set()
    qtbot.waitUntil(lambda: results == [(3, 30)], timeout=5000)
    runner.wait()
    assert started == [0, 3]  # 1 and 2 never ran; 0's stale result was dropped


def test_job_reports_errors_as_messages_and_cancels(qtbot):
    from core.errors import InputError

    def bad(report, cancel):
        raise InputError("/x/y.png", "cannot read")

    job = Job(bad, "t")
    with qtbot.waitSignal(job.signals.failed, timeout=5000) as blocker:
        global_pool().start(job)
    assert blocker.args == ["t", "/x/y.png: cannot read."]

    def slow(report, cancel):
        for i in range(1000):
            report(i, 1000)
            time.sleep(0.001)
        return "done"

    job = Job(slow, "s")
    job.cancel_event.set()
    with qtbot.waitSignal(job.signals.failed, timeout=5000) as blocker:
        global_pool().start(job)
    assert blocker.args == ["s", "cancelled"]

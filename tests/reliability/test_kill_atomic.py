"""kill -9 at random moments while saving: every file is always one complete version, never broken.

A subprocess (``saver.py``) forks a child per round that saves version 0, 1, 0, 1, ... of one file
with the project's own save function; the test SIGKILLs the child after a random delay, waits
until it is gone, and loads the file with the project's own reader. Before the first complete save
the file may be absent; after that it must always be exactly version 0 or 1. Temporary files a
killed save leaves behind are counted: they must look like the atomic writer's temporaries
(hidden, ``.NAME.*.tmp``, or safetensors' own ``.tmpXXXXXX``), never like the target, and never
be mistaken for it.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.reliability.versions import FILE_NAMES, READERS

SAVER = Path(__file__).with_name("saver.py")
ROOT = Path(__file__).resolve().parents[2]

# kind: (rounds, longest delay before the kill in seconds); delays span a few whole saves
PLAN = {"mask": (40, 0.04), "project": (40, 0.01), "checkpoint": (30, 0.12),
        "cache": (30, 0.15), "report": (40, 0.04), "model": (30, 0.1)}
COMPANIONS = {"model": ["encoder.json"]}  # files saved together with the target


class Saver:
    def __init__(self, kind: str, path: Path) -> None:
        env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
        self.proc = subprocess.Popen([sys.executable, str(SAVER), kind, str(path)], cwd=ROOT,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     env=env)
        assert self._ask(None) == "ready"

    def _ask(self, line: str | None) -> str:
        if line is not None:
            self.proc.stdin.write(line + "\n")
            self.proc.stdin.flush()
        answer = self.proc.stdout.readline().strip()
        assert answer, f"saver exited with {self.proc.poll()}"
        return answer

    def fork(self, first: int) -> int:
        return int(self._ask(f"fork {first}"))

    def reap(self, pid: int) -> int:
        _, got, status = self._ask(f"reap {pid}").split()
        assert int(got) == pid
        return int(status)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
            self.proc.wait(timeout=10)


@pytest.mark.parametrize("kind", list(PLAN))
def test_kill_9_while_saving_leaves_old_or_new_version(kind, tmp_path):
    rounds, max_delay = PLAN[kind]
    folder = tmp_path / "out dir"
    folder.mkdir()
    path = folder / FILE_NAMES[kind]
    read = READERS[kind]
    rng = random.Random(f"kill-{kind}")
    saver = Saver(kind, path)
    seen: list[int] = []
    strays_after: list[int] = []
    try:
        for i in range(rounds):
            pid = saver.fork(first=i % 2)  # each child overwrites the other version first
            time.sleep(rng.uniform(0.0, max_delay))
            os.kill(pid, signal.SIGKILL)
            status = saver.reap(pid)
            assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, (
                f"round {i}: the saver ended by itself (status {status}): a save raised")
            if path.exists():
                try:
                    seen.append(read(path))
                except Exception as exc:  # noqa: BLE001 - any failure to read is the finding
                    pytest.fail(f"round {i}: {path.name} is broken after kill -9: {exc!r}")
            else:
                assert not seen, f"round {i}: {path.name} vanished after a complete save"
            names = [path.name, *COMPANIONS.get(kind, [])]
            others = [p for p in folder.iterdir() if p.name not in names]
            # a killed save can leave its temporary (it cannot clean up after SIGKILL); anything
            # else would be a half-written file under some other name
            for p in others:  # ours: .NAME.tmp.EXT; safetensors' own: .tmpXXXXXX
                assert p.name.startswith((*(f".{n}." for n in names), ".tmp")), p.name
            for n in names:  # a killed save leaves at most one temporary per file, reused next time
                ours = [p.name for p in others if p.name.startswith(f".{n}.")]
                assert len(ours) <= 1, f"round {i}: temporaries pile up: {ours}"
            strays_after.append(len(others))
    finally:
        saver.close()
    assert set(seen) == {0, 1}, f"kills never caught both versions ({seen}); adjust PLAN delays"
    # some kills must have landed inside a save (leaving its temporary), or the test proves nothing
    assert any(n > 0 for n in strays_after), "no kill landed inside a save"


def test_kill_9_during_the_preprocess_command_keeps_the_old_cache(corpus, tmp_path):
    """The whole ``bearing-inspect preprocess`` run writes the cache: kill it anywhere in it."""
    from core.io.cache import CacheParams, open_cache, write_cache

    out = tmp_path / "cache.h5"
    write_cache(out, [], {"old": True}, params=CacheParams(size=32))
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "core.cli", "preprocess", str(corpus.root), "--out", str(out),
           "--size", "256", "--quiet"]
    rng = random.Random("kill-cli")
    inside = 0
    for _ in range(3):
        started = time.time()

        def writing() -> bool:  # the cache's temporary (reused after a kill) is being written
            return any(p.stat().st_mtime >= started for p in tmp_path.glob(".cache.h5.tmp*"))

        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while not writing() and proc.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, 0.3))  # somewhere in the run, while the new cache is written
        inside += writing()
        proc.kill()
        proc.wait()
        with open_cache(out) as cache:  # verifies the completeness marker and every checksum
            if cache.config != {"old": True}:  # finished before the kill: start again from old
                write_cache(out, [], {"old": True}, params=CacheParams(size=32))
    assert inside >= 1, "no kill landed while the cache was being written"
    res = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    with open_cache(out) as cache:
        assert cache.config != {"old": True} and len(cache) == len(corpus.good)

"""A training run killed with SIGKILL mid-way resumes from its last checkpoint and ends with exactly
the weights of an uninterrupted run (same seed, CPU, one thread)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch
from safetensors.torch import load_file

TRAINER = Path(__file__).with_name("trainer.py")
ROOT = Path(__file__).resolve().parents[2]
ITERS, EVERY = 400, 7


def _start(run_dir: Path, out: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, str(TRAINER), str(run_dir), str(ITERS), str(EVERY),
                             str(out)], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)


def _run_to_end(run_dir: Path, out: Path, proc: subprocess.Popen | None = None) -> int:
    proc = proc or _start(run_dir, out)
    lines = proc.communicate(timeout=300)[0].split()
    assert proc.returncode == 0 and lines[-1] == "done"
    return int(lines[1])  # "start N"


def _run_and_kill(run_dir: Path, out: Path, after: int, rng: random.Random) -> tuple[int, int]:
    """Start (or resume) a run, SIGKILL it once it reports iteration ``after`` (plus a random
    moment); return (iteration it started at, last iteration it reported)."""
    proc = _start(run_dir, out)
    start, last = None, 0
    for line in proc.stdout:
        word, n = line.split()
        if word == "start":
            start = int(n)
        elif int(n) >= after:
            last = int(n)
            time.sleep(rng.uniform(0, 0.01))  # somewhere inside the next iteration(s)
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    return start, last


def test_killed_run_resumes_and_ends_with_the_uninterrupted_weights(tmp_path):
    rng = random.Random(7)
    ref_run, ref_out = tmp_path / "reference run", tmp_path / "reference.safetensors"
    reference = _start(ref_run, ref_out)  # alongside the first killed run: two cores

    run, out = tmp_path / "killed run", tmp_path / "resumed.safetensors"
    start1, last1 = _run_and_kill(run, out, after=rng.randrange(60, 140), rng=rng)
    assert start1 == 0
    assert _run_to_end(ref_run, ref_out, reference) == 0
    start2, last2 = _run_and_kill(run, out, after=rng.randrange(200, 300), rng=rng)
    # resumed from a checkpoint at least as late as the last one announced before the kill (the
    # process may have run on a little after the line the test read)
    assert start2 % EVERY == 0 and (last1 - 1) // EVERY * EVERY <= start2 < ITERS
    assert not out.exists()  # the killed runs never got to the end
    start3 = _run_to_end(run, out)
    assert start3 % EVERY == 0 and (last2 - 1) // EVERY * EVERY <= start3 < ITERS
    ref, got = load_file(ref_out), load_file(out)
    assert ref.keys() == got.keys()
    for k in ref:
        assert torch.equal(ref[k], got[k]), f"{k} differs from the uninterrupted run"
    # and the training really moved the weights (the comparison is not between two inits)
    init = {f"net.{k}": v for k, v in _init_weights().items()}
    assert any(not torch.equal(init[k], ref[k]) for k in ref)


def _init_weights() -> dict:
    sys.path.insert(0, str(ROOT))
    from tests.reliability.trainer import Step

    return Step().net.state_dict()

"""Fixtures of the reliability suite: the generated bad-input corpus and a CLI runner."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.reliability.corpus import Corpus, build_corpus

ROOT = Path(__file__).resolve().parents[2]
FAULTS = Path(__file__).with_name("faults.py")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Corpus:
    """The corpus, written once per module; tests must not modify it (copy it first)."""
    return build_corpus(tmp_path_factory.mktemp("corpus") / "bad data")


def run_cli(*args: str | Path, fault: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """``python -m core.cli ARGS`` (or under ``faults.py FAULT --``) in a fresh interpreter."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1")
    head = [sys.executable, str(FAULTS), *fault, "--"] if fault else [sys.executable, "-m", "core.cli"]
    return subprocess.run([*head, *map(str, args)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)

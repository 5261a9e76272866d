"""A tiny rendered demo data set and its cache, shared by the end-to-end tests of one session."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str, check: bool = True, timeout: float = 600, env_extra: dict | None = None
        ) -> subprocess.CompletedProcess:
    """Run ``bearing-inspect ARGS`` in a subprocess, as a user would."""
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT), **(env_extra or {}))
    p = subprocess.run([sys.executable, "-m", "core.cli", *args], capture_output=True, text=True,
                       timeout=timeout, env=env, cwd=ROOT)
    if check and p.returncode != 0:
        raise AssertionError(f"bearing-inspect {' '.join(args)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p


@pytest.fixture(scope="session")
def tiny_demo(tmp_path_factory) -> Path:
    """A small demo data set (all classes, train and test, good and dent) at 384x384."""
    from core.synth.dataset import render_demo

    out = tmp_path_factory.mktemp("demo") / "data"
    render_demo(out, seed=11, size=(384, 384), counts=0.1)
    return out


@pytest.fixture(scope="session")
def tiny_cache(tiny_demo, tmp_path_factory) -> Path:
    cache = tmp_path_factory.mktemp("cache") / "cache.h5"
    cli("preprocess", str(tiny_demo), "--out", str(cache), "--size", "128", "--quiet")
    return cache

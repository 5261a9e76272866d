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


@pytest.fixture(scope="session")
def tiny_lc_run(tmp_path_factory) -> Path:
    """An evaluated LC Dinomaly run (random tiny encoder, 3 iterations) trained on the good LC
    samples of a corpus of its own; a run root with only an LC folder, so OD samples get 'no-model'."""
    from core.config import from_dict, to_dict
    from core.io.cache import CacheParams, CacheWriter
    from core.io.dataset import scan_dataset
    from core.preprocess.batch import preprocess_dataset
    from core.preprocess.pipeline import PreprocessConfig
    from core.train.stages import TrainConfig, evaluate_run, train_class

    tmp = tmp_path_factory.mktemp("tiny_run")
    corpus = build_corpus(tmp / "data")
    cache = tmp / "cache.h5"
    params = CacheParams(size=64)
    with CacheWriter(cache, params) as w:
        res = preprocess_dataset(scan_dataset(corpus.root, classes=("LC",)), PreprocessConfig(), params,
                                 sink=w.add, classes=["LC"])
        w.finish(to_dict(res.config), res.fingerprint)
    cfg = from_dict(TrainConfig, {
        "model": "dinomaly", "encoder": {"backbone": "tiny", "weights": "random"}, "device": "cpu",
        "optim": {"total_iters": 3, "warmup_iters": 1}, "batch_size": 2, "checkpoint_every": 3,
        "dinomaly": {"image_size": 56}})
    run = tmp / "runs" / "LC"
    assert train_class(cache, "LC", cfg, run, log=lambda m: None).status == "finished"
    evaluate_run(run, cache, device="cpu")
    return run.parent

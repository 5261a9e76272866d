"""End to end through the command line: fine-tune, train both detectors, evaluate, resume, DDP."""

from __future__ import annotations

import json
import sys

import pytest
from safetensors.torch import load_file

from tests.e2e.conftest import ROOT, cli
from core.train.runs import Run

TINY = ["--backbone", "tiny", "--image-size", "56", "--batch-size", "4", "--device", "cpu", "--quiet"]
KEYS = {"I-AUROC", "I-AP", "I-F1", "P-AUROC", "P-AP", "P-F1", "P-AUPRO"}


def test_finetune_then_both_detectors_then_evaluate(tiny_cache, tmp_path):
    ft = tmp_path / "ft"
    p = cli("finetune-encoder", str(tiny_cache), "--out", str(ft), "--classes", "LC", "--epochs", "22", *TINY)
    assert "RANDOM weights" in p.stderr
    rec = Run(ft / "LC").load_record()
    assert rec.status == "finished" and rec.kind == "finetune" and rec.random_weights
    phases = {h["phase"] for h in Run(ft / "LC").read_history()}
    assert phases == {"reconstruction", "patch"}  # epoch 20 onwards is the patch task
    assert (ft / "LC" / "encoder.safetensors").is_file()

    for model in ("dinomaly", "vitad"):
        run = tmp_path / model
        cli("train", str(tiny_cache), "--model", model, "--out", str(run), "--classes", "LC",
            "--iters", "4", "--encoder", str(ft), *TINY)
        rec = Run(run / "LC").load_record()
        assert rec.status == "finished" and rec.kind == model
        assert rec.config["train"]["encoder_run"] == str(ft)
        assert rec.config["preprocess"], "the run must keep the preprocessing it was trained with"
        out = tmp_path / f"{model}.json"
        p = cli("evaluate", str(run), str(tiny_cache), "--json", str(out), "--device", "cpu", "--quiet")
        table = json.loads(out.read_text())
        assert set(table) == {"LC", "mean"} and set(table["LC"]) == KEYS
        assert all(0.0 <= v <= 1.0 for v in table["LC"].values())
        assert "I-AUROC" in p.stdout and "RANDOM" in p.stdout
        saved = json.loads((run / "LC" / "metrics.json").read_text())
        assert len(saved["samples"]) > 0 and saved["image_threshold"] == saved["image_threshold"]


def test_cancelled_run_resumes_to_the_same_weights(tiny_cache, tmp_path):
    from core.train.stages import TrainConfig, train_class
    from core.config import from_dict

    cfg = from_dict(TrainConfig, {"model": "dinomaly", "encoder": {"backbone": "tiny", "weights": "random"},
                                  "optim": {"total_iters": 6, "warmup_iters": 2}, "batch_size": 4,
                                  "device": "cpu", "checkpoint_every": 2, "dinomaly": {"image_size": 56}})
    ref = train_class(tiny_cache, "SC", cfg, tmp_path / "ref", log=lambda m: None)
    assert ref.status == "finished"
    calls = {"n": 0}

    def cancel():
        calls["n"] += 1
        return calls["n"] > 3

    part = train_class(tiny_cache, "SC", cfg, tmp_path / "part", cancel=cancel, log=lambda m: None)
    assert part.status == "cancelled" and part.iterations == 3
    assert Run(tmp_path / "part").load_record().status == "cancelled"
    p = cli("train", str(tiny_cache), "--out", str(tmp_path), "--classes", "SC", "--resume", "--quiet",
            check=False)  # resume needs the folder of the class runs: tmp_path/SC does not exist
    assert p.returncode != 0 and "not a run folder" in p.stderr
    done = train_class(tiny_cache, "SC", cfg, tmp_path / "part", resume=True, log=lambda m: None)
    assert done.status == "finished"
    a = load_file(str(tmp_path / "ref" / "model.safetensors"))
    b = load_file(str(tmp_path / "part" / "model.safetensors"))
    assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)
    hist = Run(tmp_path / "part").read_history()
    assert [h["iteration"] for h in hist] == list(range(1, 7))


def test_torchrun_two_processes_match_one_process(tiny_cache, tmp_path):
    common = ["--model", "vitad", "--classes", "OD", "--iters", "3", *TINY]
    cli("train", str(tiny_cache), "--out", str(tmp_path / "one"), *common)
    import os
    import subprocess
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    p = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--standalone",
                        "-m", "core.cli", "train", str(tiny_cache), "--out", str(tmp_path / "two"), *common],
                       capture_output=True, text=True, timeout=600, env=env, cwd=ROOT)
    assert p.returncode == 0, p.stdout + p.stderr
    a = load_file(str(tmp_path / "one" / "OD" / "model.safetensors"))
    b = load_file(str(tmp_path / "two" / "OD" / "model.safetensors"))
    import torch
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-4, atol=1e-5, msg=lambda m: f"{k}: {m}")
    assert Run(tmp_path / "two" / "OD").load_record().status == "finished"


def test_missing_pretrained_weights_offline_says_what_to_do(tiny_cache, tmp_path):
    p = cli("train", str(tiny_cache), "--out", str(tmp_path / "x"), "--classes", "LC",
            "--backbone", "vit_small_patch14_reg4_dinov2.lvd142m", "--iters", "1", "--device", "cpu",
            "--quiet", check=False, env_extra={"HF_HOME": str(tmp_path / "empty_hf")})
    assert p.returncode == 1
    assert "Traceback" not in p.stderr
    assert "--weights" in p.stderr or "weights" in p.stderr.lower()

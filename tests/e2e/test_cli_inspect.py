"""``bearing-inspect inspect`` end to end: rows for good and bad files, overlays, summary, torchrun."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from core.commands.inspect import natural_key
from tests.e2e.conftest import ROOT, cli

TINY = ["--backbone", "tiny", "--image-size", "56", "--batch-size", "4", "--device", "cpu", "--quiet"]


@pytest.fixture(scope="module")
def trained_run(tiny_cache, tmp_path_factory) -> Path:
    """An evaluated Dinomaly run of LC and OD (no SC detector: SC samples get 'no-model')."""
    run = tmp_path_factory.mktemp("inspect_run") / "run"
    cli("train", str(tiny_cache), "--model", "dinomaly", "--out", str(run), "--classes", "LC,OD",
        "--iters", "2", *TINY)
    cli("evaluate", str(run), str(tiny_cache), "--device", "cpu", "--quiet")
    return run


def make_inspection_folder(demo: Path, out: Path) -> dict[str, str]:
    """Copy test samples into a nested folder and add bad ones; returns {key: expected decision}."""
    expect: dict[str, str] = {}
    for cls, dest in (("LC", out / "line1" / "LC" / "lotA"), ("OD", out / "OD")):
        dest.mkdir(parents=True)
        for group in ("good", "dent"):
            for f in sorted((demo / cls / "test" / group).iterdir()):
                sid = f"{group}{f.stem.split('_')[0]}"
                shutil.copy(f, dest / f"{sid}_{f.stem.split('_')[1]}{f.suffix}")
                expect[f"{dest.relative_to(out).as_posix()}/{sid}"] = "scored"
    lot = out / "line1" / "LC" / "lotA"
    src = sorted((demo / "LC" / "test" / "good").glob("*_0.png"))[0]
    lv = [src.with_name(src.name.replace("_0.", f"_{i}.")) for i in range(3)]
    for sid, decision in (("900", "unreadable"), ("901", "unreadable"), ("902", "unreadable")):
        for i in range(3):
            shutil.copy(lv[i], lot / f"{sid}_{i}.png")
        expect[f"line1/LC/lotA/{sid}"] = decision
    (lot / "900_1.png").write_bytes(b"")                                  # zero bytes
    (lot / "901_0.png").write_bytes(lv[0].read_bytes()[:200])            # truncated
    (lot / "902_2.png").unlink()                                         # missing level
    h, w = cv2.imread(str(lv[0]), cv2.IMREAD_GRAYSCALE).shape
    for i in range(3):                                                   # blank: no ROI
        cv2.imwrite(str(lot / f"903_{i}.png"), np.full((h, w), 120, np.uint8))
    expect["line1/LC/lotA/903"] = "ROI-failed"
    sc = out / "SC"
    sc.mkdir()
    first = sorted((demo / "SC" / "test" / "good").glob("*_0.png"))[0].stem[:-2]
    for f in sorted((demo / "SC" / "test" / "good").glob(f"{first}_*")):
        shutil.copy(f, sc / f.name.replace(first, "000"))
    expect["SC/000"] = "no-model"
    (out / "notes.txt").write_text("not an image")
    for i in range(3):                                                   # class cannot be told
        shutil.copy(lv[i], out / f"loose_{i}.png")
    return expect


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def inspected(trained_run, tiny_demo, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("inspect")
    expect = make_inspection_folder(tiny_demo, tmp / "in")
    p = cli("inspect", str(tmp / "in"), "--run", str(trained_run), "--out", str(tmp / "out"), "--device", "cpu")
    return tmp, expect, p


def test_every_sample_gets_its_row_overlay_and_summary(inspected, trained_run, tiny_demo):
    tmp, expect, p = inspected
    out = tmp / "out"
    rows = read_csv(out / "results.csv")
    assert list(rows[0]) == ["sample", "class", "score", "decision", "threshold", "reason"]
    assert sorted(r["sample"] for r in rows) == sorted(expect)
    assert [r["sample"] for r in rows] == sorted((r["sample"] for r in rows), key=natural_key)
    thresholds = {c: json.loads((trained_run / c / "metrics.json").read_text())["image_threshold"]
                  for c in ("LC", "OD")}
    for r in rows:
        want = expect[r["sample"]]
        if want == "scored":
            score, t = float(r["score"]), float(r["threshold"])
            assert t == pytest.approx(thresholds[r["class"]])
            assert r["decision"] == ("NG" if score >= t else "OK") and r["reason"] == ""
            assert (out / "overlays" / f"{r['sample']}.png").stat().st_size > 1000
        else:
            assert r["decision"] == want and r["score"] == "" and r["reason"], r
            assert not (out / "overlays" / f"{r['sample']}.png").exists()
    by_key = {r["sample"]: r for r in rows}
    assert "900_1.png" in by_key["line1/LC/lotA/900"]["reason"]
    assert "901_0.png" in by_key["line1/LC/lotA/901"]["reason"]
    assert "level 2" in by_key["line1/LC/lotA/902"]["reason"]
    assert "blank" in by_key["line1/LC/lotA/903"]["reason"]
    assert "no SC detector" in by_key["SC/000"]["reason"]
    # the same scores as evaluation gave the same images (same preprocessing and resizing)
    ev = {s["key"]: s["score"] for s in json.loads((trained_run / "LC" / "metrics.json").read_text())["samples"]}
    for key, score in ev.items():
        _, _, group, sid = key.split("/")
        assert float(by_key[f"line1/LC/lotA/{group}{sid}"]["score"]) == pytest.approx(score, rel=1e-3, abs=1e-5)

    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["samples"] == len(expect) == summary["inspected"]
    assert summary["random_weights"] is True and "RANDOM" in p.stderr
    counts = summary["counts"]
    assert counts["unreadable"] == 3 and counts["ROI-failed"] == 1 and counts["no-model"] == 1
    assert counts["OK"] + counts["NG"] == sum(1 for v in expect.values() if v == "scored")
    skipped = {Path(s["path"]).name: s["reason"] for s in summary["skipped"]}
    assert "unsupported" in skipped["notes.txt"] and "class" in skipped["loose_0.png"]
    assert summary["classes"]["LC"]["threshold"] == pytest.approx(thresholds["LC"])
    assert not list(out.glob(".results*"))                       # shard files merged and removed


def test_torchrun_two_processes_write_the_same_csv(inspected, trained_run):
    tmp, _, _ = inspected
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    # --standalone picks a free port (--master_port=0 makes the workers wait forever with torch 2.14)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "core.cli", "inspect", str(tmp / "in"), "--run-dir", str(trained_run),
           "--out", str(tmp / "out2"), "--device", "cpu", "--quiet", "--no-overlays"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT,
                            start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)   # torchrun and its workers, not only torchrun
        output, _ = proc.communicate()
    assert proc.returncode == 0, output
    one, two = read_csv(tmp / "out" / "results.csv"), read_csv(tmp / "out2" / "results.csv")
    assert [r["sample"] for r in one] == [r["sample"] for r in two]
    for a, b in zip(one, two):
        assert (a["class"], a["decision"], a["reason"], a["threshold"]) == \
               (b["class"], b["decision"], b["reason"], b["threshold"])
        if a["score"]:
            assert float(a["score"]) == pytest.approx(float(b["score"]), rel=1e-5, abs=1e-7)
    summary = json.loads((tmp / "out2" / "summary.json").read_text())
    assert summary["processes"] == 2 and summary["overlays"] is None
    assert not (tmp / "out2" / "overlays").exists()


def test_unevaluated_run_needs_a_threshold(trained_run, tiny_demo, tmp_path):
    run = tmp_path / "LC"
    shutil.copytree(trained_run / "LC", run)
    (run / "metrics.json").unlink()
    src = tiny_demo / "LC" / "test" / "good"
    p = cli("inspect", str(src), "--run", str(run), "--out", str(tmp_path / "o"), "--class", "LC", check=False)
    assert p.returncode == 1 and "Traceback" not in p.stderr
    assert "evaluate" in p.stderr and "--threshold" in p.stderr
    p = cli("inspect", str(src), "--run", str(run), "--out", str(tmp_path / "o"), "--class", "LC",
            "--threshold", "-1", "--quiet", "--no-overlays")
    rows = read_csv(tmp_path / "o" / "results.csv")
    assert rows and all(r["decision"] == "NG" and r["class"] == "LC" for r in rows)


def test_custom_pattern_and_ctrl_c_keeps_what_was_done(trained_run, tiny_demo, tmp_path, monkeypatch):
    from core.cli import main
    import core.commands.inspect as inspect_cmd

    folder = tmp_path / "renamed"
    folder.mkdir()
    for f in (tiny_demo / "LC" / "test" / "good").iterdir():
        sid, level = f.stem.split("_")
        shutil.copy(f, folder / f"part{sid}-L{level}.png")
    pattern = r"^part(?P<sample>\d+)-L(?P<level>\d)$"
    real = inspect_cmd._inspect_one
    calls = {"n": 0}

    def interrupted_after_one(*a, **k):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(inspect_cmd, "_inspect_one", interrupted_after_one)
    code = main(["inspect", str(folder), "--run", str(trained_run), "--class", "LC", "--pattern", pattern,
                 "--out", str(tmp_path / "o"), "--device", "cpu", "--quiet"])
    assert code == 130
    rows = read_csv(tmp_path / "o" / "results.csv")
    n = len(list((tiny_demo / "LC" / "test" / "good").glob("*_0.png")))
    assert n >= 2 and len(rows) == 1 and rows[0]["decision"] in ("OK", "NG")
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["status"] == "interrupted" and summary["samples"] == n and summary["inspected"] == 1

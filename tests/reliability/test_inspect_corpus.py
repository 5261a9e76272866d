"""``bearing-inspect inspect`` over the bad-input corpus, as a user runs it (a subprocess).

Every sample found gets a row: the good ones a score and OK/NG (or 'no-model' for the class the
run has no detector for), each unreadable one 'unreadable' with a reason naming its file and the
problem, each one without a ring 'ROI-failed' with the problem; files that are no sample are
listed as skipped in summary.json with their path and why. The batch always finishes, never prints
a traceback, and exits 0; a missing folder, a folder that is no run, or an output folder it cannot
write are errors (exit 1) that name the path.
"""

from __future__ import annotations

import csv
import json
import shutil

import pytest

from core.io.dataset import scan_folder
from tests.reliability.conftest import run_cli

SCORED = {"OK", "NG"}


def read_rows(path) -> dict[str, dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return {r["sample"]: r for r in csv.DictReader(f)}


@pytest.fixture(scope="module")
def inspected(corpus, tiny_lc_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("inspect_corpus") / "out"
    res = run_cli("inspect", corpus.root, "--run", tiny_lc_run, "--out", out, "--device", "cpu")
    return out, res


def test_every_sample_gets_a_row_and_the_batch_finishes(corpus, inspected):
    out, res = inspected
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr and "Traceback" not in res.stdout
    rows = read_rows(out / "results.csv")
    found = {s.key for s in scan_folder(corpus.root).samples}
    assert set(rows) == found
    assert set(corpus.good) | {c.key for c in corpus.bad} <= found

    for key in corpus.good:
        r = rows[key]
        if r["class"] == "LC":
            assert r["decision"] in SCORED and r["reason"] == "", r
            assert float(r["score"]) == float(r["score"])            # a number, not NaN
            assert (out / "overlays" / f"{key}.png").stat().st_size > 0
        else:
            assert r["decision"] == "no-model" and "no OD detector" in r["reason"], r

    for case in corpus.bad:
        r = rows[case.key]
        if case.stage == "load":
            assert r["decision"] == "unreadable", r
            assert str(case.path) in r["reason"], r
            assert case.problem.lower() in r["reason"].lower(), r
        elif case.stage == "roi":
            assert r["decision"] == "ROI-failed" and r["reason"], r
            assert case.problem.lower() in f"ROI not found: {r['reason']}".lower(), r
        else:
            # inspection reads no masks: a sample with a bad mask is scored like any other
            assert r["decision"] in SCORED, r
        if r["decision"] not in SCORED:
            assert r["score"] == "" and not (out / "overlays" / f"{case.key}.png").exists()

    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["inspected"] == summary["samples"] == len(found)
    assert summary["counts"]["unreadable"] == sum(c.stage == "load" for c in corpus.bad)
    assert summary["counts"]["ROI-failed"] == sum(c.stage == "roi" for c in corpus.bad)
    assert f"inspected {len(found)} of {len(found)} samples" in res.stdout
    assert not list(out.glob(".results*"))


def test_files_that_are_no_sample_are_listed_with_path_and_reason(corpus, inspected):
    out, _ = inspected
    summary = json.loads((out / "summary.json").read_text())
    listed = summary["skipped"] + summary["notes"]
    for case in corpus.layout:
        if case.problem in ("defect sample has no mask", "mask is ambiguous", "unexpected sub-folder"):
            continue  # inspection reads no masks, and walks sub-folders (folder_0.png is an empty one)
        hits = [s for s in listed if s["path"] == str(case.path) and case.problem in s["reason"]]
        assert hits, f"{case.path.name}: not listed with {case.problem!r}"
    gt = corpus.root / "LC" / "ground_truth"
    assert any(s["path"] == str(gt) and "skipped" in s["reason"] for s in summary["skipped"])
    assert all(s["reason"] for s in listed)


def test_a_folder_of_only_bad_files_still_writes_a_row_each(corpus, tmp_path, tiny_lc_run):
    root = tmp_path / "in" / "LC"
    root.mkdir(parents=True)
    bad = [c for c in corpus.bad if c.stage in ("load", "roi") and c.key.startswith("LC/train/good/")]
    for case in bad:
        sid = case.key.rsplit("/", 1)[1]
        for f in case.path.parent.glob(f"{sid}_*"):
            shutil.copy(f, root / f.name)
    res = run_cli("inspect", tmp_path / "in", "--run", tiny_lc_run, "--out", tmp_path / "out",
                  "--device", "cpu", "--quiet", "--no-overlays")
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
    rows = read_rows(tmp_path / "out" / "results.csv")
    assert len(rows) == len(bad) >= 5
    assert all(r["decision"] in ("unreadable", "ROI-failed") and r["reason"] for r in rows.values())


def test_user_errors_exit_1_naming_the_path(corpus, tmp_path, tiny_lc_run):
    # a folder that does not exist
    res = run_cli("inspect", tmp_path / "nowhere", "--run", tiny_lc_run, "--out", tmp_path / "o")
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert str(tmp_path / "nowhere") in res.stderr
    # a run folder that is no run
    res = run_cli("inspect", corpus.root, "--run", corpus.root, "--out", tmp_path / "o")
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert str(corpus.root) in res.stderr and "not a run folder" in res.stderr


def test_full_disk_is_an_error_naming_the_file(corpus, tmp_path, tiny_lc_run):
    out = tmp_path / "full"
    res = run_cli("inspect", corpus.root, "--run", tiny_lc_run, "--out", out, "--device", "cpu", "--quiet",
                  "--no-overlays", fault=("enospc",))
    assert res.returncode == 1 and "Traceback" not in res.stderr, res.stderr
    assert str(out) in res.stderr and "No space left" in res.stderr
    assert not (out / "results.csv").exists()

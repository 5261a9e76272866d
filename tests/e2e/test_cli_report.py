"""``bearing-inspect report`` end to end: run reports and inspection reports in HTML, PDF and CSV."""

from __future__ import annotations

import csv
import io
import json
import shutil

import numpy as np
import pytest

from tests.e2e.conftest import cli
from tests.e2e.test_cli_inspect import trained_run  # noqa: F401  (module fixture: an evaluated LC + OD run)

WEIRD = "=HYPERLINK(1)<b>&amp"       # a formula for spreadsheets, markup for browsers


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_run_report_has_metrics_curves_histogram_and_config(trained_run, tmp_path):  # noqa: F811
    from core.metrics import roc_curve
    from core.report.build import build_report

    for ext in ("html", "pdf", "csv"):
        p = cli("report", str(trained_run), "--out", str(tmp_path / f"r.{ext}"))
        assert "RANDOM" in p.stdout
    metrics = {c: json.loads((trained_run / c / "metrics.json").read_text()) for c in ("LC", "OD")}
    table = rows((tmp_path / "r.csv").read_text())
    assert table[0][0] == "row" and table[0][1:] == ["I-AUROC", "I-AP", "I-F1", "P-AUROC", "P-AP", "P-F1", "P-AUPRO"]
    by_row = {r[0]: [float(v) for v in r[1:]] for r in table[1:]}
    assert set(by_row) == {"LC", "OD", "mean"}
    for c in ("LC", "OD"):
        assert by_row[c] == pytest.approx([metrics[c]["metrics"][k] for k in table[0][1:]], abs=1e-6)
    assert by_row["mean"] == pytest.approx(np.mean([by_row["LC"], by_row["OD"]], axis=0), abs=1e-6)

    html = (tmp_path / "r.html").read_text()
    for text in ("I-AUROC", "ROC curve", "PR curve", "<svg", "RANDOM weights", "threshold", "preprocess"):
        assert text in html, text
    assert (tmp_path / "r.pdf").read_bytes()[:5] == b"%PDF-"
    assert "PRO curve" in html          # evaluate stores thinned pixel curves in metrics.json

    report = build_report(trained_run)
    pro = {c.label: c for c in report.curves["PRO"]}
    assert pro["LC"].x == metrics["LC"]["pixel_curves"]["fpr"] and pro["LC"].y == metrics["LC"]["pixel_curves"]["pro"]
    lc = metrics["LC"]["samples"]
    fpr, tpr, _ = roc_curve([s["score"] for s in lc], [s["label"] for s in lc])
    roc = {c.label: c for c in report.curves["ROC"]}
    assert roc["LC"].x == pytest.approx(fpr.tolist()) and roc["LC"].y == pytest.approx(tpr.tolist())
    h = report.histogram
    assert h["threshold"] == 1.0     # two classes: scores divided by each class's threshold
    assert len(h["good"]) + len(h["defect"]) == len(lc) + len(metrics["OD"]["samples"])


@pytest.fixture(scope="module")
def inspection(trained_run, tiny_demo, tmp_path_factory):  # noqa: F811
    tmp = tmp_path_factory.mktemp("report_inspection")
    folder = tmp / "in"
    folder.mkdir()
    src = sorted((tiny_demo / "LC" / "test" / "dent").glob("*_0.png"))
    for n, f in enumerate(src[:2]):
        sid = WEIRD if n == 0 else "plain"
        for i in range(3):
            shutil.copy(f.with_name(f.name.replace("_0.", f"_{i}.")), folder / f"{sid}_{i}.png")
    (folder / "bad_0.png").write_bytes(b"")
    (folder / "notes.txt").write_text("x")
    out = tmp / "out"
    cli("inspect", str(folder), "--run", str(trained_run), "--class", "LC", "--threshold", "-1", "--out", str(out),
        "--device", "cpu", "--quiet")
    return tmp, out


def test_inspection_report_shows_ng_overlays_skipped_files_escaped(inspection):
    tmp, out = inspection
    for ext in ("html", "pdf", "csv"):
        cli("report", str(out), "--out", str(tmp / f"i.{ext}"))
    html = (tmp / "i.html").read_text()
    assert html.count("data:image/png;base64,") == 2        # both scored samples are NG (threshold -1)
    assert "=HYPERLINK(1)&lt;b&gt;&amp;amp" in html and "<b>&amp" not in html
    assert "notes.txt" in html and "unsupported" in html      # skipped file and why
    assert "unreadable" in html and "bad_0.png" in html
    assert "RANDOM" in html
    table = rows((tmp / "i.csv").read_text())
    assert table[0] == ["sample", "class", "score", "decision", "threshold", "reason"]
    by_key = {r[0]: r for r in table[1:]}
    assert by_key["'" + WEIRD][3] == "NG" and float(by_key["'" + WEIRD][4]) == -1.0   # formula defused once
    assert by_key["plain"][3] == "NG" and by_key["bad"][3] == "unreadable"
    assert any(r[3] == "skipped" and r[0].endswith("notes.txt") for r in table[1:])
    assert (tmp / "i.pdf").read_bytes()[:5] == b"%PDF-"

    p = cli("report", str(out), "--out", str(tmp / "one.html"), "--max-images", "1")
    assert (tmp / "one.html").read_text().count("data:image/png;base64,") == 1
    assert "1 NG sample(s) shown without their overlay" in p.stdout


def test_report_errors_name_the_problem(inspection, tmp_path):
    _, out = inspection
    p = cli("report", str(out), "--out", str(tmp_path / "r.docx"), check=False)
    assert p.returncode == 1 and "unknown report format" in p.stderr and not (tmp_path / "r.docx").exists()
    p = cli("report", str(tmp_path / "missing"), "--out", str(tmp_path / "r.html"), check=False)
    assert p.returncode == 1 and "folder not found" in p.stderr
    (tmp_path / "empty").mkdir()
    p = cli("report", str(tmp_path / "empty"), "--out", str(tmp_path / "r.html"), check=False)
    assert p.returncode == 1 and "not a run folder" in p.stderr and "Traceback" not in p.stderr


def test_run_report_with_data_draws_pro_curves(trained_run, tiny_cache, tmp_path):  # noqa: F811
    from core.report.build import build_report

    report = build_report(trained_run, data=tiny_cache, device="cpu")
    pro = {c.label: c for c in report.curves["PRO"]}
    assert set(pro) == {"LC", "OD"}
    for c in pro.values():
        assert c.x[0] == 0.0 and c.x[-1] == pytest.approx(1.0) and np.all(np.diff(c.x) >= 0)
        assert all(0.0 <= v <= 1.0 for v in c.y) and c.y[-1] == pytest.approx(1.0)
    assert "pixel curves" not in report.summary
    cli("report", str(trained_run), "--out", str(tmp_path / "r.html"), "--data", str(tiny_cache), "--device", "cpu")
    assert "PRO curve" in (tmp_path / "r.html").read_text()

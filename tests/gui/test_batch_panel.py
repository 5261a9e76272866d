"""Batch inspection panel on a folder with good samples and bad files, cancel, and report export
(HTML, PDF, CSV) of a batch and of a run."""

from __future__ import annotations

import csv
import shutil

import cv2
import numpy as np
import pytest

from tests.gui.conftest import pump
from tests.gui.test_results_panel import results_window, runs  # noqa: F401 (fixtures)


@pytest.fixture
def incoming(demo_master, tmp_path):
    """LC test samples (any depth) plus an unreadable sample and one without a ring."""
    root = tmp_path / "incoming"
    lot = root / "LC" / "lot7"
    lot.mkdir(parents=True)
    src = sorted((demo_master / "LC" / "test").rglob("*_0.png"))[:3]
    for p in src:
        for lv in range(3):
            f = p.with_name(p.name.replace("_0.png", f"_{lv}.png"))
            shutil.copy(f, lot / f"{p.parent.name}-{f.name}")
    for lv in range(3):
        (lot / f"broken_{lv}.png").write_bytes(b"this is not a PNG file")
        cv2.imwrite(str(lot / f"blank_{lv}.png"), np.zeros((320, 320), np.uint8))
    return root


def wait_batch(qtbot, w):
    qtbot.waitUntil(lambda: not w.inspector.running, timeout=120000)
    pump(0.15)


def test_batch_streams_rows_with_reasons_then_exports_reports(results_window, runs, incoming, qtbot,  # noqa: F811
                                                              tmp_path):
    w = results_window
    bp = w.batch_panel
    run_root = runs[1][0]
    # the runs list offers the finished detector runs
    assert str(run_root / "LC") in [bp.run.itemText(i) for i in range(bp.run.count())]
    bp.folder.setText(str(incoming))
    bp.run.setCurrentText(str(run_root))
    out = tmp_path / "out"
    bp.out.setText(str(out))
    assert bp.start()
    assert bp.cancel_btn.isEnabled() and not bp.start_btn.isEnabled()
    wait_batch(qtbot, w)
    rows = {bp.table.item(i, 0).text(): (bp.table.item(i, 3).text(), bp.table.item(i, 4).text())
            for i in range(bp.table.rowCount())}
    assert len(rows) == 5
    assert rows["LC/lot7/broken"][0] == "unreadable" and "broken_0.png" in rows["LC/lot7/broken"][1]
    assert rows["LC/lot7/blank"][0] == "ROI-failed" and rows["LC/lot7/blank"][1]
    scored = [d for k, (d, _r) in rows.items() if k not in ("LC/lot7/broken", "LC/lot7/blank")]
    assert len(scored) == 3 and set(scored) <= {"OK", "NG"}
    assert bp.progress.value() == bp.progress.maximum() == 5
    assert "finished" in bp.status.text() and "RANDOM" in bp.status.text()
    # the same folder layout as 'bearing-inspect inspect'
    with open(out / "results.csv", newline="", encoding="utf-8") as f:
        table = list(csv.DictReader(f))
    assert [r["sample"] for r in table] == sorted(rows, key=lambda k: k)  # natural order = sorted here
    assert {r["sample"]: r["decision"] for r in table} == {k: v[0] for k, v in rows.items()}
    assert all((out / "overlays" / f"{k}.png").is_file() for k, (d, _r) in rows.items() if d in ("OK", "NG"))

    # reports of the batch, each format
    assert bp.export_btn.isEnabled()
    for ext in ("html", "pdf", "csv"):
        target = tmp_path / f"batch.{ext}"
        w.reporter.export(out, target)
        assert w.reporter.wait()
        pump(0.05)
        assert target.is_file(), w.last_error
    html = (tmp_path / "batch.html").read_text(encoding="utf-8")
    assert "LC/lot7/broken" in html and "unreadable" in html and "ROI-failed" in html
    for k, (d, _r) in rows.items():
        if d == "NG":
            assert k in html
    assert (tmp_path / "batch.pdf").read_bytes()[:5] == b"%PDF-"
    with open(tmp_path / "batch.csv", newline="", encoding="utf-8") as f:
        csv_rows = list(csv.reader(f))
    assert len(csv_rows) == 1 + 5 and any("unreadable" in r for r in csv_rows)

    # report of the run, from the results browser's export
    target = tmp_path / "run.html"
    w.reporter.export(run_root, target)
    assert w.reporter.wait()
    pump(0.05)
    text = target.read_text(encoding="utf-8")
    assert "I-AUROC" in text and "LC" in text


def test_cancel_and_bad_inputs(results_window, runs, incoming, qtbot, tmp_path):  # noqa: F811
    w = results_window
    bp = w.batch_panel
    bp.folder.setText(str(incoming))
    bp.run.setCurrentText(str(runs[1][0]))
    bp.out.setText(str(tmp_path / "cancelled"))
    assert bp.start()
    bp.cancel_btn.click()          # before the first sample: nothing inspected, results still written
    wait_batch(qtbot, w)
    assert "interrupted" in bp.status.text()
    assert (tmp_path / "cancelled" / "results.csv").is_file()
    assert bp.start_btn.isEnabled()
    # a folder that does not exist / a run folder that is not one: messages, not tracebacks
    bp.folder.setText(str(tmp_path / "nope"))
    assert not bp.start()
    assert "nope" in w.last_error
    bp.folder.setText(str(incoming))
    bp.run.setCurrentText(str(tmp_path))
    assert bp.start()
    wait_batch(qtbot, w)
    assert "failed" in bp.status.text() and "not a run folder" in w.last_error
    assert "Traceback" not in w.last_error
    # a report to an unknown format is refused with a message
    w.reporter.export(tmp_path / "cancelled", tmp_path / "report.docx")
    w.reporter.wait()
    qtbot.waitUntil(lambda: "unknown report format" in w.last_error, timeout=10000)


def test_class_and_file_pattern_from_the_panel(results_window, runs, demo_master, qtbot, tmp_path):  # noqa: F811
    w = results_window
    bp = w.batch_panel
    flat = tmp_path / "flat" / "lot9"          # no LC/SC/OD folder: the class comes from the panel
    flat.mkdir(parents=True)
    src = sorted((demo_master / "LC" / "test" / "good").glob("*_0.png"))[:2]
    for p in src:
        stem = p.name[:-len("_0.png")]
        for lv in range(3):
            shutil.copy(p.with_name(f"{stem}_{lv}.png"), flat / f"{stem}-L{lv}.png")
    bp.folder.setText(str(tmp_path / "flat"))
    bp.run.setCurrentText(str(runs[1][0]))
    bp.out.setText(str(tmp_path / "flat_out"))
    bp.pattern.setText(r"^(?P<sample>.+)-L(?P<level>[0-9])$")
    bp.cls.setCurrentIndex(bp.cls.findData("LC"))
    assert bp.start()
    wait_batch(qtbot, w)
    decisions = [bp.table.item(i, 3).text() for i in range(bp.table.rowCount())]
    classes = {bp.table.item(i, 1).text() for i in range(bp.table.rowCount())}
    assert len(decisions) == 2 and set(decisions) <= {"OK", "NG"} and classes == {"LC"}

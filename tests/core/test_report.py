"""Reports: content, escaping of hostile names, and each format on disk."""

from __future__ import annotations

import csv
import io

import cv2
import numpy as np
import pytest

from core.errors import BearingError
from core.report import Report, ReportSample, write_report
from core.report.content import Curve

EVIL = '<script>alert("x")</script> & "quotes" 한글'


def _report() -> Report:
    ok, png = cv2.imencode(".png", np.full((32, 32, 3), 200, np.uint8))
    return Report(
        title=f"Inspection of {EVIL}", kind="inspection",
        summary={"folder": EVIL, "samples": 3, "threshold": 0.25},
        warnings=["The encoder has RANDOM weights: results are not meaningful."],
        metrics={"LC": {"I-AUROC": 0.91, "P-AUPRO": 0.8}, "mean": {"I-AUROC": 0.91}},
        curves={"ROC": [Curve([0, 0.2, 1], [0, 0.8, 1], "LC")], "PRO": [Curve([0, 0.1, 0.3], [0, 0.5, 0.7], "LC")]},
        histogram={"good": [0.1, 0.12, 0.2], "defect": [0.3, 0.5], "threshold": 0.25, "band": [0.22, 0.28]},
        samples=[ReportSample(f"LC/{EVIL}/001", "LC", 0.5, "NG", image_png=png.tobytes()),
                 ReportSample("LC/002", "LC", 0.1, "OK"),
                 ReportSample("=cmd|' /C calc'!A0", "LC", None, "unreadable", reason="truncated PNG")],
        skipped=[(f"/data/{EVIL}.png", "not an image")],
        config={"note": EVIL},
    )


def test_html_is_self_contained_and_escapes_every_name(tmp_path):
    p = write_report(_report(), tmp_path / "r.html")
    html = p.read_text(encoding="utf-8")
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "data:image/png;base64," in html and "<svg" in html
    assert "RANDOM weights" in html and "0.9100" in html
    assert "truncated PNG" in html and "not an image" in html


def test_csv_has_one_row_per_sample_and_defuses_formulas(tmp_path):
    p = write_report(_report(), tmp_path / "r.csv")
    rows = list(csv.DictReader(io.StringIO(p.read_text(encoding="utf-8"))))
    assert [r["decision"] for r in rows] == ["NG", "OK", "unreadable", "skipped"]
    assert rows[0]["threshold"] == "0.25"
    assert rows[2]["sample"].startswith("'=")


def test_pdf_is_written_and_contains_the_text(tmp_path):
    p = write_report(_report(), tmp_path / "r.pdf")
    data = p.read_bytes()
    assert data.startswith(b"%PDF") and data.rstrip().endswith(b"%%EOF")
    assert len(data) > 2000


def test_unknown_extension_is_an_error(tmp_path):
    with pytest.raises(BearingError, match="unknown report format .docx"):
        write_report(_report(), tmp_path / "r.docx")

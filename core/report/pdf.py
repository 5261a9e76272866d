"""PDF report (fpdf2): the same content as the HTML report, laid out on A4 pages.

Charts are the HTML report's SVGs. Text uses DejaVu Sans when the system has it (any script);
otherwise the PDF core font Helvetica, where characters outside Latin-1 print as '?'.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from core.report.charts_for import report_charts
from core.report.content import METRIC_KEYS, Report

_FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu", "/Library/Fonts",
              "C:/Windows/Fonts")


def _find_font() -> Path | None:
    for d in _FONT_DIRS:
        p = Path(d) / "DejaVuSans.ttf"
        if p.exists():
            return p
    return None


def render_pdf(report: Report) -> bytes:
    """The report as PDF bytes."""
    from fpdf import FPDF  # imported here: only report writing needs it

    pdf = FPDF(format="A4", unit="mm")
    pdf.set_auto_page_break(True, margin=14)
    font = _find_font()
    if font is not None:
        pdf.add_font("DejaVu", "", str(font))
        bold = font.with_name("DejaVuSans-Bold.ttf")
        pdf.add_font("DejaVu", "B", str(bold if bold.exists() else font))
        family = "DejaVu"

        def t(s: str) -> str:
            return s
    else:
        family = "Helvetica"

        def t(s: str) -> str:
            return s.encode("latin-1", "replace").decode("latin-1")

    pdf.add_page()
    epw = pdf.epw

    def heading(text: str, size: int = 13) -> None:
        pdf.ln(3)
        pdf.set_font(family, "B", size)
        pdf.multi_cell(epw, 7, t(text), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(family, "", 9)

    heading(report.title, 16)
    for w in report.warnings:
        pdf.set_fill_color(255, 243, 205)
        pdf.multi_cell(epw, 6, t("WARNING: " + w), fill=True, new_x="LMARGIN", new_y="NEXT")
        pdf.set_fill_color(255, 255, 255)
    if report.summary:
        heading("Summary")
        for k, v in report.summary.items():
            v = f"{v:.4f}" if isinstance(v, float) else str(v)
            pdf.multi_cell(epw, 5, t(f"{k}: {v}"), new_x="LMARGIN", new_y="NEXT")
    if report.metrics:
        heading("Metrics")
        with pdf.table(text_align="RIGHT", col_widths=(22,) + (14,) * len(METRIC_KEYS)) as table:
            table.row(("",) + METRIC_KEYS)
            for row, vals in report.metrics.items():
                table.row((t(str(row)),) + tuple(f"{vals[k]:.4f}" if k in vals else "" for k in METRIC_KEYS))
    charts = report_charts(report)
    if charts:
        heading("Curves and scores")
        w = (epw - 6) / 2
        for i, (_, svg) in enumerate(charts):
            if i % 2 == 0 and pdf.get_y() + w * 0.72 > pdf.h - 16:
                pdf.add_page()
            x = pdf.l_margin + (i % 2) * (w + 6)
            y = pdf.get_y()
            pdf.image(io.BytesIO(svg.encode("utf-8")), x=x, y=y, w=w)
            if i % 2 == 1 or i == len(charts) - 1:
                pdf.set_y(y + w * 300 / 420 + 3)
    ng = [s for s in report.samples if s.image_png]
    if ng:
        size = (epw - 3 * 4) / 4
        if pdf.get_y() + size + 24 > pdf.h - 14:  # keep the heading with its first row
            pdf.add_page()
        heading(f"Flagged samples ({len(ng)})")
        for i, s in enumerate(ng):
            if i % 4 == 0:
                if pdf.get_y() + size + 10 > pdf.h - 14:
                    pdf.add_page()
                row_y = pdf.get_y()
            x = pdf.l_margin + (i % 4) * (size + 4)
            pdf.image(io.BytesIO(s.image_png), x=x, y=row_y, w=size, h=size)
            pdf.set_xy(x, row_y + size + 0.5)
            score = "" if s.score is None else f" {s.score:.4g}"
            pdf.set_font(family, "", 7)
            pdf.multi_cell(size, 3.2, t(s.key + score), new_x="RIGHT", new_y="TOP")
            pdf.set_font(family, "", 9)
            if i % 4 == 3 or i == len(ng) - 1:
                pdf.set_xy(pdf.l_margin, row_y + size + 9)
    if report.samples:
        heading(f"All samples ({len(report.samples)})")
        with pdf.table(col_widths=(60, 12, 18, 20, 60), text_align="LEFT") as table:
            table.row(("sample", "class", "score", "decision", "reason"))
            for s in report.samples:
                table.row((t(s.key), s.cls, "" if s.score is None else f"{s.score:.5g}", s.decision, t(s.reason)))
    heading(f"Skipped files ({len(report.skipped)})")
    if report.skipped:
        for p, r in report.skipped:
            pdf.multi_cell(epw, 5, t(f"{p}: {r}"), new_x="LMARGIN", new_y="NEXT")
    else:
        pdf.multi_cell(epw, 5, "None.", new_x="LMARGIN", new_y="NEXT")
    if report.config:
        heading("Configuration")
        pdf.set_font(family, "", 7)
        pdf.multi_cell(epw, 3.4, t(json.dumps(report.config, indent=1, default=str)), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())

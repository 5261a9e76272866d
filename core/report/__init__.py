"""Reports of a training run or a batch inspection: self-contained HTML, PDF and CSV.

Build a :class:`core.report.content.Report` (plain data), then render it with
:func:`core.report.html.render_html`, :func:`core.report.pdf.render_pdf` or
:func:`core.report.tables.write_csv`; :func:`write_report` picks the format from the file extension.
"""

from core.report.content import Report, ReportSample, write_report

__all__ = ["Report", "ReportSample", "write_report"]

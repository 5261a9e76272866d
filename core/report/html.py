"""Self-contained HTML report: one file, charts inline as SVG, images inline as base64 PNG."""

from __future__ import annotations

import base64
import json
from html import escape

from core.report.charts_for import report_charts
from core.report.content import METRIC_KEYS, Report

_CSS = """
body{font-family:Helvetica,Arial,sans-serif;margin:24px auto;max-width:1100px;color:#222}
h1{font-size:22px;margin-bottom:4px} h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:8px 0} td,th{border:1px solid #ccc;padding:4px 8px;font-size:13px}
th{background:#f3f3f3;text-align:left} td.num{text-align:right;font-variant-numeric:tabular-nums}
.warn{background:#fff3cd;border:1px solid #e0b000;padding:8px 12px;margin:8px 0}
.charts{display:flex;flex-wrap:wrap;gap:12px} .ng{display:flex;flex-wrap:wrap;gap:12px}
.ng figure{margin:0;width:256px} .ng img{width:256px;border:1px solid #ccc}
.ng figcaption{font-size:12px;word-break:break-all} pre{background:#f7f7f7;padding:8px;font-size:12px;overflow:auto}
.NG{color:#b00020;font-weight:bold} .OK{color:#1b7f2a}
"""


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4f}"
    return escape(str(v))


def render_html(report: Report) -> str:
    """The report as one HTML document. Every file name and user string is escaped."""
    e = escape
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             f"<title>{e(report.title)}</title><style>{_CSS}</style></head><body>",
             f"<h1>{e(report.title)}</h1>"]
    for w in report.warnings:
        parts.append(f'<div class="warn">{e(w)}</div>')
    if report.summary:
        parts.append("<h2>Summary</h2><table>")
        for k, v in report.summary.items():
            parts.append(f"<tr><th>{e(str(k))}</th><td>{_fmt(v)}</td></tr>")
        parts.append("</table>")
    if report.metrics:
        parts.append("<h2>Metrics</h2><table><tr><th></th>" + "".join(f"<th>{k}</th>" for k in METRIC_KEYS) + "</tr>")
        for row, vals in report.metrics.items():
            cells = "".join(f'<td class="num">{_fmt(vals.get(k, ""))}</td>' for k in METRIC_KEYS)
            parts.append(f"<tr><th>{e(str(row))}</th>{cells}</tr>")
        parts.append("</table>")
    charts = report_charts(report)
    if charts:
        parts.append('<h2>Curves and scores</h2><div class="charts">')
        parts.extend(svg for _, svg in charts)
        parts.append("</div>")
    ng = [s for s in report.samples if s.image_png]
    if ng:
        parts.append(f"<h2>Flagged samples ({len(ng)})</h2><div class=\"ng\">")
        for s in ng:
            b64 = base64.b64encode(s.image_png).decode("ascii")
            score = "" if s.score is None else f" score {s.score:.4g}"
            parts.append(f'<figure><img alt="{e(s.key)}" src="data:image/png;base64,{b64}">'
                         f"<figcaption>{e(s.key)}{e(score)}</figcaption></figure>")
        parts.append("</div>")
    if report.samples:
        parts.append(f"<h2>All samples ({len(report.samples)})</h2><table>"
                     "<tr><th>sample</th><th>class</th><th>score</th><th>decision</th><th>reason</th></tr>")
        for s in report.samples:
            score = "" if s.score is None else f"{s.score:.5g}"
            parts.append(f'<tr><td>{e(s.key)}</td><td>{e(s.cls)}</td><td class="num">{score}</td>'
                         f'<td class="{e(s.decision)}">{e(s.decision)}</td><td>{e(s.reason)}</td></tr>')
        parts.append("</table>")
    parts.append(f"<h2>Skipped files ({len(report.skipped)})</h2>")
    if report.skipped:
        parts.append("<table><tr><th>file</th><th>why</th></tr>")
        parts.extend(f"<tr><td>{e(p)}</td><td>{e(r)}</td></tr>" for p, r in report.skipped)
        parts.append("</table>")
    else:
        parts.append("<p>None.</p>")
    if report.config:
        parts.append("<h2>Configuration</h2><pre>" + e(json.dumps(report.config, indent=2, default=str)) + "</pre>")
    parts.append("</body></html>")
    return "\n".join(parts)

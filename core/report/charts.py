"""Small SVG charts (line plots and score histograms) with no plotting library.

The same SVG text is inlined in the HTML report and drawn into the PDF, so both show one picture.
All text is XML-escaped.
"""

from __future__ import annotations

from html import escape
from typing import Sequence

import numpy as np

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf")
W, H = 420, 300
ML, MR, MT, MB = 52, 14, 28, 42   # margins: left, right, top, bottom


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    return list(np.linspace(lo, hi, n))


def _frame(title: str, xlabel: str, ylabel: str, xlim: tuple[float, float], ylim: tuple[float, float]
           ) -> list[str]:
    pw, ph = W - ML - MR, H - MT - MB
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
           f'font-family="Helvetica, Arial, sans-serif" font-size="11">',
           f'<rect x="0" y="0" width="{W}" height="{H}" fill="white"/>',
           f'<text fill="#222" x="{W / 2:.1f}" y="17" text-anchor="middle" font-size="13" font-weight="bold">'
           f'{escape(title)}</text>',
           f'<rect x="{ML}" y="{MT}" width="{pw}" height="{ph}" fill="none" stroke="#444"/>']
    for t in _ticks(*xlim):
        x = ML + (t - xlim[0]) / (xlim[1] - xlim[0] or 1) * pw
        out.append(f'<line x1="{x:.1f}" y1="{MT}" x2="{x:.1f}" y2="{MT + ph}" stroke="#e4e4e4"/>')
        out.append(f'<text fill="#222" x="{x:.1f}" y="{MT + ph + 14}" text-anchor="middle">{t:.3g}</text>')
    for t in _ticks(*ylim):
        y = MT + ph - (t - ylim[0]) / (ylim[1] - ylim[0] or 1) * ph
        out.append(f'<line x1="{ML}" y1="{y:.1f}" x2="{ML + pw}" y2="{y:.1f}" stroke="#e4e4e4"/>')
        out.append(f'<text fill="#222" x="{ML - 5}" y="{y + 4:.1f}" text-anchor="end">{t:.3g}</text>')
    out.append(f'<text fill="#222" x="{ML + pw / 2:.1f}" y="{H - 8}" text-anchor="middle">{escape(xlabel)}</text>')
    out.append(f'<text fill="#222" x="14" y="{MT + ph / 2:.1f}" text-anchor="middle" '
               f'transform="rotate(-90 14 {MT + ph / 2:.1f})">{escape(ylabel)}</text>')
    return out


def _decimate(x: np.ndarray, y: np.ndarray, max_points: int = 600) -> tuple[np.ndarray, np.ndarray]:
    # curves over millions of pixels: keep the picture, not every point
    if len(x) <= max_points:
        return x, y
    idx = np.unique(np.linspace(0, len(x) - 1, max_points).round().astype(int))
    return x[idx], y[idx]


def line_chart(series: Sequence[tuple[Sequence[float], Sequence[float], str]], title: str, xlabel: str,
               ylabel: str, xlim: tuple[float, float] = (0.0, 1.0), ylim: tuple[float, float] = (0.0, 1.0),
               diagonal: bool = False) -> str:
    """An SVG line chart of ``(x, y, label)`` series."""
    pw, ph = W - ML - MR, H - MT - MB
    out = _frame(title, xlabel, ylabel, xlim, ylim)
    if diagonal:
        out.append(f'<line x1="{ML}" y1="{MT + ph}" x2="{ML + pw}" y2="{MT}" stroke="#999" '
                   f'stroke-dasharray="4 3"/>')
    for i, (xs, ys, label) in enumerate(series):
        x, y = _decimate(np.asarray(xs, float), np.asarray(ys, float))
        ok = np.isfinite(x) & np.isfinite(y) & (x <= xlim[1])  # e.g. PRO is plotted up to FPR 0.3 only
        x, y = x[ok], y[ok]
        if len(x) == 0:
            continue
        px = ML + (np.clip(x, *xlim) - xlim[0]) / (xlim[1] - xlim[0] or 1) * pw
        py = MT + ph - (np.clip(y, *ylim) - ylim[0]) / (ylim[1] - ylim[0] or 1) * ph
        pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(px, py))
        color = PALETTE[i % len(PALETTE)]
        out.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="1.8"/>')
        if label:
            ly = MT + 14 + 14 * i
            out.append(f'<line x1="{ML + pw - 120}" y1="{ly - 4}" x2="{ML + pw - 104}" y2="{ly - 4}" '
                       f'stroke="{color}" stroke-width="2"/>')
            out.append(f'<text fill="#222" x="{ML + pw - 100}" y="{ly}">{escape(label)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def score_histogram(good: Sequence[float], defect: Sequence[float], threshold: float | None = None,
                    band: tuple[float, float] | None = None, bins: int = 30,
                    title: str = "Image scores") -> str:
    """Overlaid histograms of good and defect image scores, the threshold and an uncertain band."""
    g, d = np.asarray(good, float), np.asarray(defect, float)
    allv = np.concatenate([g, d, [threshold] if threshold is not None else []])
    allv = allv[np.isfinite(allv)]
    lo, hi = (float(allv.min()), float(allv.max())) if len(allv) else (0.0, 1.0)
    if hi <= lo:
        hi = lo + 1.0
    edges = np.linspace(lo, hi, bins + 1)
    hg, _ = np.histogram(g, edges)
    hd, _ = np.histogram(d, edges)
    top = max(1, int(max(hg.max(initial=0), hd.max(initial=0))))
    pw, ph = W - ML - MR, H - MT - MB
    out = _frame(title, "score", "samples", (lo, hi), (0, top))

    def xpix(v):
        return ML + (v - lo) / (hi - lo) * pw

    if band is not None:
        out.append(f'<rect x="{xpix(band[0]):.1f}" y="{MT}" width="{max(0.0, xpix(band[1]) - xpix(band[0])):.1f}" '
                   f'height="{ph}" fill="#ffd54f" fill-opacity="0.35"/>')
    for counts, color, label, k in ((hg, PALETTE[2], "good", 0), (hd, PALETTE[1], "defect", 1)):
        for c, a, b in zip(counts, edges[:-1], edges[1:]):
            if c:
                hpx = c / top * ph
                out.append(f'<rect x="{xpix(a):.1f}" y="{MT + ph - hpx:.1f}" width="{max(1.0, xpix(b) - xpix(a) - 1):.1f}" '
                           f'height="{hpx:.1f}" fill="{color}" fill-opacity="0.55"/>')
        ly = MT + 14 + 14 * k
        out.append(f'<rect x="{ML + pw - 90}" y="{ly - 9}" width="10" height="10" fill="{color}" fill-opacity="0.6"/>')
        out.append(f'<text fill="#222" x="{ML + pw - 76}" y="{ly}">{label} ({int(counts.sum())})</text>')
    if threshold is not None and np.isfinite(threshold):
        x = xpix(threshold)
        out.append(f'<line x1="{x:.1f}" y1="{MT}" x2="{x:.1f}" y2="{MT + ph}" stroke="black" stroke-width="1.5" '
                   f'stroke-dasharray="5 3"/>')
        out.append(f'<text fill="#222" x="{x + 3:.1f}" y="{MT + 12}">threshold {threshold:.4g}</text>')
    out.append("</svg>")
    return "\n".join(out)

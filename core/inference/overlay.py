"""A PNG of an inspection result for people: heat map over level 0, threshold contour, colour bar.

The colour scale is fixed per run (0 .. 2 x threshold, clipped), so the threshold sits in the
middle of the bar and pictures of different samples compare at a glance; the white contour
encloses the pixels whose anomaly value reaches the image threshold.
"""

from __future__ import annotations

import cv2
import numpy as np

from core.inference.inspector import InspectionResult

_BAR_W = 64


def _colour_scale(threshold: float, amap: np.ndarray) -> float:
    if np.isfinite(threshold) and threshold > 0:
        return 2.0 * float(threshold)
    top = float(amap.max()) if amap.size else 0.0
    return top if top > 0 else 1.0


def _colour_bar(height: int, vmax: float, threshold: float, scale: float) -> np.ndarray:
    bar = np.full((height, _BAR_W, 3), 255, np.uint8)
    top, bottom = 24, height - 12
    if bottom - top < 20:
        return bar
    ramp = np.linspace(255, 0, bottom - top).astype(np.uint8)[:, None].repeat(14, axis=1)
    bar[top:bottom, 6:20] = cv2.applyColorMap(ramp, cv2.COLORMAP_JET)[..., ::-1]
    font, fs, th = cv2.FONT_HERSHEY_SIMPLEX, 0.35 * scale, 1
    for value, label in ((vmax, f"{vmax:.3g}"), (threshold, "T"), (0.0, "0")):
        if not np.isfinite(value):
            continue
        y = int(round(bottom - (value / vmax) * (bottom - top))) if vmax > 0 else bottom
        cv2.line(bar, (4, y), (22, y), (0, 0, 0), 1)
        cv2.putText(bar, label, (24, min(height - 2, y + 4)), font, fs, (0, 0, 0), th, cv2.LINE_AA)
    return bar


def overlay_image(level0: np.ndarray, result: InspectionResult, max_side: int = 1024) -> np.ndarray:
    """RGB uint8 picture: level 0 (shrunk to ``max_side``), the heat map inside the ROI, the
    threshold contour, a header with decision and score, and a colour bar."""
    if result.anomaly_map is None:
        raise ValueError("the result has no level-0 anomaly map (scored from a composed input)")
    h, w = level0.shape[:2]
    f = min(1.0, max_side / max(h, w))
    size = (max(1, int(round(w * f))), max(1, int(round(h * f))))
    grey = cv2.resize(level0, size, interpolation=cv2.INTER_AREA) if f < 1 else level0
    amap = cv2.resize(result.anomaly_map, size, interpolation=cv2.INTER_LINEAR) if f < 1 else result.anomaly_map
    inside = np.zeros(amap.shape, bool)
    if result.crop is not None and result.roi_mask is not None:
        roi_full = np.zeros((h, w), np.uint8)
        x0, y0, x1, y1 = result.crop
        ix0, iy0, ix1, iy1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
        if ix1 > ix0 and iy1 > iy0:
            roi_full[iy0:iy1, ix0:ix1] = result.roi_mask[iy0 - y0:iy1 - y0, ix0 - x0:ix1 - x0]
        inside = (cv2.resize(roi_full, size, interpolation=cv2.INTER_NEAREST) if f < 1 else roi_full) > 0
    vmax = _colour_scale(result.threshold, amap)
    rgb = cv2.cvtColor(grey, cv2.COLOR_GRAY2RGB)
    heat = cv2.applyColorMap(np.clip(amap / vmax * 255.0, 0, 255).astype(np.uint8), cv2.COLORMAP_JET)[..., ::-1]
    rgb[inside] = (0.55 * rgb[inside] + 0.45 * heat[inside]).astype(np.uint8)
    scale = max(1.0, max(size) / 512)
    if np.isfinite(result.threshold):
        hot = ((amap >= result.threshold) & inside).astype(np.uint8)
        contours, _ = cv2.findContours(hot, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(rgb, contours, -1, (255, 255, 255), max(1, int(round(scale))), cv2.LINE_AA)
    colour = (220, 30, 30) if result.decision == "NG" else (30, 160, 60)
    text = f"{result.cls} {result.decision}  score {result.score:.4g}  threshold {result.threshold:.4g}"
    if result.random_weights:
        text += "  RANDOM weights"
    cv2.rectangle(rgb, (0, 0), (size[0], int(22 * scale)), (255, 255, 255), -1)
    cv2.putText(rgb, text, (4, int(16 * scale)), cv2.FONT_HERSHEY_SIMPLEX, 0.45 * scale, colour,
                max(1, int(scale)), cv2.LINE_AA)
    return np.concatenate([rgb, _colour_bar(size[1], vmax, result.threshold, scale)], axis=1)


def overlay_png(level0: np.ndarray, result: InspectionResult, max_side: int = 1024) -> bytes:
    """:func:`overlay_image` encoded as PNG bytes (for reports and the CLI's overlay files)."""
    ok, buf = cv2.imencode(".png", overlay_image(level0, result, max_side)[..., ::-1])
    if not ok:  # pragma: no cover - OpenCV fails only on invalid arrays
        raise ValueError("PNG encoding failed")
    return buf.tobytes()

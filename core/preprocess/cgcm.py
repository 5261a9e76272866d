"""CGCM, Circle-Guided Cropping & Masking (LC and SC end faces).

Circle candidates are the contours of the CGMP binary image (SC: of its inverted Canny edges).
Each contour gets a circle: the disc of the same area at the area centroid (or, when that covers
too little of the contour, a consensus circle through point triples), refined by algebraic
least-squares (Kasa) fits on the contour points near it, so clutter merged into the contour (a
plate edge or a plate touching the ring) neither pulls the circle nor fails it. Candidates are
judged by area, roundness (angular coverage of the circle by contour points, RMS residual of
those points relative to the radius, the contour's fill of the fitted disc) and the radius
window ``r_mean * (1 +- dr)``. The chosen circle (cx, cy, cr) gives the ring mask between
``c_inner`` and ``c_outer`` and a square crop centred on (cx, cy). See
:class:`core.preprocess.params.CGCMParams` for the selection rule.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import cv2
import numpy as np

from core.errors import ROINotFoundError
from core.preprocess.params import CGCMParams


@dataclass
class CircleShape:
    """A circle in original level-0 pixels; as a chosen ROI, ``r_inner`` is c_inner (else None)."""

    cx: float
    cy: float
    r: float
    r_inner: float | None = None
    area: float = 0.0        # area inside the source contour, px^2
    residual: float = 0.0    # RMS radial fit residual / r
    fill: float = 0.0        # contour area / (pi r^2)
    coverage: float = 1.0    # fraction of angle sectors with contour points on the circle

    def to_geometry(self) -> dict:
        return {"kind": "circle", "cx": float(self.cx), "cy": float(self.cy), "r": float(self.r),
                "r_inner": None if self.r_inner is None else float(self.r_inner)}


def fit_circle(points: np.ndarray) -> tuple[float, float, float, float]:
    """Kasa least-squares circle through ``points`` (N, 2): (cx, cy, r, rms radial residual)."""
    pts = points.reshape(-1, 2).astype(np.float64)
    mean = pts.mean(axis=0)
    p = pts - mean  # centring keeps the normal equations well conditioned
    x, y = p[:, 0], p[:, 1]
    z = x * x + y * y
    # Normal equations of [x y 1] [d e f]^T = z: a 3 x 3 solve instead of an SVD of N x 3.
    sxx, syy, sxy, n = x @ x, y @ y, x @ y, float(len(x))
    a = np.array([[sxx, sxy, 0.0], [sxy, syy, 0.0], [0.0, 0.0, n]])  # sum(x) = sum(y) = 0
    b = np.array([x @ z, y @ z, z.sum()])
    try:
        d, e, f = np.linalg.solve(a, b)
    except np.linalg.LinAlgError:  # collinear points: no circle
        return float(mean[0]), float(mean[1]), 0.0, float("inf")
    cx, cy = d / 2.0, e / 2.0
    r = math.sqrt(max(f + cx * cx + cy * cy, 0.0))
    resid = np.sqrt((x - cx) ** 2 + (y - cy) ** 2) - r
    return float(cx + mean[0]), float(cy + mean[1]), r, float(np.sqrt(np.mean(resid * resid)))


def _refine(pts: np.ndarray, cx: float, cy: float, r: float, inlier_tol: float, bins: int
            ) -> tuple[float, float, float, float, float]:
    """Kasa refits on the points within a shrinking band (4, 2, 1 x inlier_tol x r, >= 1.5 px)
    around the seed circle; returns (cx, cy, r, rms of the inliers, angular coverage)."""
    rms = float("inf")
    for k in (4.0, 2.0, 1.0):
        inliers = np.abs(np.hypot(pts[:, 0] - cx, pts[:, 1] - cy) - r) <= max(k * inlier_tol * r,
                                                                               1.5)
        if inliers.sum() < 8:
            return cx, cy, r, rms, 0.0
        cx, cy, r, rms = fit_circle(pts[inliers])
    dx, dy = pts[:, 0] - cx, pts[:, 1] - cy
    inliers = np.abs(np.hypot(dx, dy) - r) <= max(inlier_tol * r, 1.5)
    sector = ((np.arctan2(dy[inliers], dx[inliers]) + math.pi) * (bins / (2 * math.pi))).astype(int)
    return cx, cy, r, rms, np.unique(np.minimum(sector, bins - 1)).size / bins


def _consensus_seed(pts: np.ndarray, inlier_tol: float, trials: int = 160, scored: int = 400
                    ) -> tuple[float, float, float]:
    """RANSAC-style seed: circles through random point triples at least a twelfth of the contour
    apart (close points give unstable circles), scored by how many of (a subsample of) the points
    lie on them. Deterministic (fixed random seed)."""
    n = len(pts)
    rng = np.random.default_rng(0)
    idx = np.sort(rng.integers(0, n, (trials, 3)), axis=1)
    gaps = np.diff(np.concatenate([idx, idx[:, :1] + n], axis=1), axis=1)
    idx = idx[gaps.min(axis=1) >= n // 12]
    if len(idx) == 0:
        return fit_circle(pts)[:3]
    p1, p2, p3 = pts[idx[:, 0]], pts[idx[:, 1]], pts[idx[:, 2]]
    (ax, ay), (bx, by), (qx, qy) = p1.T, p2.T, p3.T
    d = 2.0 * (ax * (by - qy) + bx * (qy - ay) + qx * (ay - by))
    d = np.where(np.abs(d) < 1e-9, np.nan, d)  # collinear triples score nothing
    a2, b2, q2 = ax * ax + ay * ay, bx * bx + by * by, qx * qx + qy * qy
    ux = (a2 * (by - qy) + b2 * (qy - ay) + q2 * (ay - by)) / d
    uy = (a2 * (qx - bx) + b2 * (ax - qx) + q2 * (bx - ax)) / d
    ur = np.hypot(ax - ux, ay - uy)
    sub = pts[:: max(1, n // scored)]
    dist = np.abs(np.hypot(sub[None, :, 0] - ux[:, None], sub[None, :, 1] - uy[:, None])
                  - ur[:, None])
    score = np.nan_to_num(dist <= np.maximum(inlier_tol * ur, 1.5)[:, None]).sum(axis=1)
    best = int(np.argmax(score))
    return float(ux[best]), float(uy[best]), float(ur[best])


def fit_circle_robust(contour: np.ndarray, inlier_tol: float, min_coverage: float = 0.85,
                      bins: int = 72, max_points: int = 2000
                      ) -> tuple[float, float, float, float, float]:
    """Circle through a contour that may carry clutter (plate edges, a plate touching the ring).

    Seeded with the disc of the contour's area at its area centroid (thin structures attached to
    the ring add almost no area, so this is usually close already), refined by least-squares fits
    on the points near it. Only when that circle covers less than ``min_coverage`` of its
    circumference (a large blob merged into the ring drags the centroid) a consensus seed from
    point triples is tried as well, and the better-covered result is kept.
    Returns (cx, cy, r, RMS residual of the inliers, angular coverage: the fraction of ``bins``
    equal angle sectors around the centre holding a contour point on the circle).
    """
    pts = contour.reshape(-1, 2)
    if len(pts) > max_points:  # a long contour: every k-th point fits as well, much faster
        pts = pts[:: -(-len(pts) // max_points)]
    pts = pts.astype(np.float64)
    m = cv2.moments(contour)
    if m["m00"] > 0:
        seed = m["m10"] / m["m00"], m["m01"] / m["m00"], math.sqrt(m["m00"] / math.pi)
    else:
        seed = fit_circle(pts)[:3]
    best = _refine(pts, *seed, inlier_tol, bins)
    if best[4] < min_coverage and len(pts) >= 12:
        other = _refine(pts, *_consensus_seed(pts, inlier_tol), inlier_tol, bins)
        if other[4] > best[4]:
            best = other
    return best


def circle_edges(binary: np.ndarray, params: CGCMParams,
                 stages: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """SC variant: invert the CGMP image, then Canny edges of the inverted image.

    The edges are closed with a small disc: where another edge meets the circle, Canny's thinning
    can open a one- or two-pixel gap, and an open loop has no inside to be a candidate.
    """
    inverted = cv2.bitwise_not(binary)
    edges = cv2.Canny(inverted, params.canny_low, params.canny_high)
    if params.edge_close_kernel > 1:
        k = params.edge_close_kernel
        edges = cv2.morphologyEx(edges, cv2.MORPH_CLOSE,
                                 cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    if stages is not None:
        stages["inverted"] = inverted
        stages["edges"] = edges
    return edges


def circle_candidates(binary: np.ndarray, params: CGCMParams
                      ) -> tuple[list[CircleShape], list[CircleShape], dict]:
    """All circle candidates above the minimum area, those that pass every filter, and counts.

    The effective minimum area is the larger of ``min_area`` and the area of a disc of 0.85 x the
    smallest radius the window allows.

    ``passed`` is sorted by radius, descending. The counts dict says how many contours each filter
    kept, for error messages and the GUI.
    """
    h, w = binary.shape
    side = min(h, w)
    contours, _ = cv2.findContours(binary, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    r_lo, r_hi = params.min_radius * side, params.max_radius * side
    if params.r_mean is not None:
        r_lo = max(r_lo, params.r_mean * (1.0 - params.dr))
        r_hi = min(r_hi, params.r_mean * (1.0 + params.dr))
    # Contours too small to hold a disc of (nearly) the smallest allowed radius cannot pass the
    # radius window; dropping them with the area filter saves their circle fits (the bore, once
    # r_mean is fitted).
    min_area = max(params.min_area * h * w, math.pi * (0.85 * r_lo) ** 2)
    counts = {"contours": len(contours), "area": 0, "round": 0, "radius": 0}
    candidates: list[CircleShape] = []
    passed: list[CircleShape] = []
    for c in contours:
        if len(c) < 8:
            continue
        area = cv2.contourArea(c)
        if area < min_area:
            continue
        counts["area"] += 1
        cx, cy, r, rms, coverage = fit_circle_robust(c, params.inlier_tol, params.min_coverage)
        if r <= 0:
            continue
        cand = CircleShape(cx, cy, r, area=area, residual=rms / r, fill=area / (math.pi * r * r),
                           coverage=coverage)
        candidates.append(cand)
        if (cand.residual > params.max_fit_residual or cand.fill < params.min_fill
                or coverage < params.min_coverage):
            continue
        counts["round"] += 1
        if not r_lo <= r <= r_hi:
            continue
        counts["radius"] += 1
        passed.append(cand)
    passed.sort(key=lambda s: s.r, reverse=True)
    return candidates, passed, counts


def select_circle(passed: list[CircleShape], shape: tuple[int, int], params: CGCMParams
                  ) -> CircleShape | None:
    """Of the ``top_k`` largest passed candidates, the one nearest the image centre; if another of
    them is concentric with it (centres closer than 5 % of its radius: the bore or the rib of the
    same ring), the largest of those, i.e. the ring's outer edge."""
    if not passed:
        return None
    h, w = shape
    mx, my = (w - 1) / 2.0, (h - 1) / 2.0
    top = passed[:params.top_k]
    nearest = min(top, key=lambda s: (s.cx - mx) ** 2 + (s.cy - my) ** 2)
    same_ring = [s for s in top
                 if math.hypot(s.cx - nearest.cx, s.cy - nearest.cy) <= 0.05 * nearest.r]
    return max(same_ring, key=lambda s: s.r)


def ring_boundaries(cr: float, params: CGCMParams) -> tuple[float, float]:
    """(c_inner, c_outer) from the chosen radius by the configured rule."""
    if params.boundary_rule == "ratio":
        c_inner, c_outer = params.c_inner_ratio * cr, params.c_outer_ratio * cr
    else:
        c_inner, c_outer = cr + params.c_inner_offset, cr + params.c_outer_offset
    return max(c_inner, 0.0), max(c_outer, 0.0)


def find_circle_roi(binary: np.ndarray, params: CGCMParams, path=None
                    ) -> tuple[CircleShape, list[CircleShape], list[CircleShape], dict]:
    """Run candidate search and selection; the chosen circle carries c_inner as ``r_inner``.

    Raises :class:`ROINotFoundError` saying which filter removed the last candidate.
    """
    candidates, passed, counts = circle_candidates(binary, params)
    chosen = select_circle(passed, binary.shape, params)
    if chosen is None:
        window = (f"r_mean {params.r_mean:.1f} px +- {params.dr:.0%}" if params.r_mean is not None
                  else f"{params.min_radius:.2f}-{params.max_radius:.2f} x min(W,H)")
        raise ROINotFoundError(
            path, f"no ring-face circle found: {counts['contours']} contours, {counts['area']} "
                  f"above the minimum area, {counts['round']} round enough, {counts['radius']} "
                  f"with a radius in the window ({window})")
    c_inner, c_outer = ring_boundaries(chosen.r, params)
    chosen = dataclasses.replace(chosen, r_inner=c_inner)
    return chosen, candidates, passed, {"c_inner": c_inner, "c_outer": c_outer, "counts": counts}


def circle_crop_box(circle: CircleShape, c_inner: float, c_outer: float, params: CGCMParams
                    ) -> tuple[int, int, int, int]:
    """Square (x0, y0, x1, y1), x1/y1 exclusive, centred on the circle; half side from the rule."""
    half = math.ceil(c_outer if params.crop_boundary == "outer" else c_inner)
    half = max(half, 1)
    x, y = int(round(circle.cx)), int(round(circle.cy))
    return x - half, y - half, x + half + 1, y + half + 1


def ring_mask(box: tuple[int, int, int, int], cx: float, cy: float, c_inner: float,
              c_outer: float) -> np.ndarray:
    """Bool mask in crop coordinates: True between c_inner and c_outer around (cx, cy)."""
    x0, y0, x1, y1 = box
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    shift = 4  # sub-pixel centre and radius (1/16 px), so the mask follows the fitted circle
    s = 1 << shift
    centre = (int(round((cx - x0) * s)), int(round((cy - y0) * s)))
    cv2.circle(mask, centre, int(round(c_outer * s)), 1, -1, cv2.LINE_8, shift)
    if c_inner > 0:
        cv2.circle(mask, centre, int(round(c_inner * s)), 0, -1, cv2.LINE_8, shift)
    return mask.view(bool)

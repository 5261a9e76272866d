#!/usr/bin/env python
"""Benchmark: preprocessing time per sample at 2048 x 2048 on one core, against the OpenCV floor.

For LC, SC and OD it renders demo samples (core.synth), fits the class statistics on a few
training samples, then times ``preprocess_sample`` (keep_stages=False) and, in the same run and
interleaved with it, the *floor*: the bare chain of OpenCV calls the pipeline makes for that sample
(same arguments, no Python logic around them). The ratio pipeline / floor is the cost of everything
that is not OpenCV (candidate logic, circle fits in numpy, dataclasses, checks).

    .venv/bin/python scripts/bench_preprocess.py                 # 2048 x 2048, 6 samples, 7 reps
    .venv/bin/python scripts/bench_preprocess.py --size 1024 --samples 4 --json out.json

Aim (issue 2): <= 25 ms per LC sample at 2048 x 2048, ratio <= 1.3.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one core, numpy's BLAS included (before numpy loads)

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.preprocess import (default_class_config, fit_class_statistics,  # noqa: E402
                             preprocess_sample)
from core.preprocess.eggcc import precrop_box  # noqa: E402
from core.synth import render_sample, sample_rng  # noqa: E402

_SHAPES = {"ellipse": cv2.MORPH_ELLIPSE, "rect": cv2.MORPH_RECT, "cross": cv2.MORPH_CROSS}


def render(cls: str, split: str, group: str, index: int, size: int, seed: int):
    return render_sample(cls, sample_rng(seed, cls, split, group, index), (size, size),
                         group == "dent")


def make_floor(levels, cls, config, result):
    """A closure running the bare OpenCV chain the pipeline runs for this sample."""
    g, cc = config.cgmp, config.cgcm
    k = g.blur_kernel | 1
    close_el = cv2.getStructuringElement(_SHAPES[g.close_shape], (g.close_kernel,) * 2)
    x0, y0, x1, y1 = result.crop
    l0, l1, l2 = levels
    s = 16
    w_mix = config.compose.mix_weight
    if cls == "OD":
        p = config.eggcc
        px0, py0, px1, py1 = precrop_box(l0.shape, p)
        pre_area = (px1 - px0) * (py1 - py0) * p.min_area

        def floor():
            cv2.meanStdDev(l0)
            img = cv2.createCLAHE(g.clahe_clip_limit, (g.clahe_tiles,) * 2).apply(
                l0[py0:py1, px0:px1])
            img = cv2.GaussianBlur(img, (k, k), g.blur_sigma)
            b = cv2.threshold(img, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)[1]
            b = cv2.morphologyEx(b, cv2.MORPH_CLOSE, close_el, iterations=g.close_iterations)
            cs = cv2.findContours(b, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)[0]
            [cv2.fitEllipse(c) for c in cs if len(c) >= 5 and cv2.contourArea(c) >= pre_area]
            m = np.zeros((y1 - y0, x1 - x0), np.uint8)
            m[max(0, -y0):l0.shape[0] - y0, max(0, -x0):l0.shape[1] - x0] = 1
            ch = [l0[y0:y1, x0:x1], l1[y0:y1, x0:x1], l2[y0:y1, x0:x1]]
            cv2.merge([cv2.bitwise_and(c, c, mask=m) for c in ch])
        return floor

    area = l0.shape[0] * l0.shape[1] * cc.min_area
    cx, cy = result.shape.cx, result.shape.cy
    c_in, c_out = result.extras["c_inner"], result.extras["c_outer"]
    edge_el = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (cc.edge_close_kernel,) * 2)

    def floor():
        cv2.meanStdDev(l0)
        img = cv2.createCLAHE(g.clahe_clip_limit, (g.clahe_tiles,) * 2).apply(l0)
        img = cv2.GaussianBlur(img, (k, k), g.blur_sigma)
        b = cv2.threshold(img, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)[1]
        b = cv2.morphologyEx(b, cv2.MORPH_CLOSE, close_el, iterations=g.close_iterations)
        if cc.edges:
            b = cv2.Canny(cv2.bitwise_not(b), cc.canny_low, cc.canny_high)
            b = cv2.morphologyEx(b, cv2.MORPH_CLOSE, edge_el)
        cs = cv2.findContours(b, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)[0]
        [cv2.contourArea(c) >= area for c in cs]
        m = np.zeros((y1 - y0, x1 - x0), np.uint8)
        centre = (int(round((cx - x0) * s)), int(round((cy - y0) * s)))
        cv2.circle(m, centre, int(round(c_out * s)), 1, -1, cv2.LINE_8, 4)
        cv2.circle(m, centre, int(round(c_in * s)), 0, -1, cv2.LINE_8, 4)
        a, c = l0[y0:y1, x0:x1], l1[y0:y1, x0:x1]
        mid = cv2.addWeighted(a, 1.0 - w_mix, c, w_mix, 0.0)
        cv2.merge([cv2.bitwise_and(v, v, mask=m) for v in (a, mid, c)])
    return floor


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=2048, help="image side in px (default 2048)")
    ap.add_argument("--samples", type=int, default=6, help="test samples per class (default 6)")
    ap.add_argument("--repeats", type=int, default=7, help="timed runs per sample (default 7)")
    ap.add_argument("--fit", type=int, default=3, help="training samples for the fit step")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--classes", default="LC,SC,OD")
    ap.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = ap.parse_args(argv)
    cv2.setNumThreads(1)
    rows = {}
    print(f"preprocess_sample at {args.size}x{args.size}, one core (cv2.setNumThreads(1)), "
          f"{args.samples} samples x {args.repeats} runs, median ms per sample")
    for cls in args.classes.split(","):
        train = [render(cls, "train", "good", i, args.size, args.seed).levels[0]
                 for i in range(args.fit)]
        config = fit_class_statistics(train, cls, default_class_config(cls))
        pipe_ms, floor_ms = [], []
        for i in range(args.samples):
            levels = render(cls, "test", "dent" if i % 2 else "good", i // 2, args.size,
                            args.seed).levels
            result = preprocess_sample(levels, cls, config)  # warm-up, and the floor's inputs
            floor = make_floor(levels, cls, config, result)
            floor()
            tp, tf = [], []
            for _ in range(args.repeats):  # interleaved, so drift hits both alike
                t0 = time.perf_counter()
                preprocess_sample(levels, cls, config)
                t1 = time.perf_counter()
                floor()
                t2 = time.perf_counter()
                tp.append(t1 - t0)
                tf.append(t2 - t1)
            pipe_ms.append(1000 * statistics.median(tp))
            floor_ms.append(1000 * statistics.median(tf))
        p, f = statistics.median(pipe_ms), statistics.median(floor_ms)
        rows[cls] = {"pipeline_ms": round(p, 2), "floor_ms": round(f, 2), "ratio": round(p / f, 3)}
        print(f"{cls}: pipeline {p:6.2f} ms   OpenCV floor {f:6.2f} ms   ratio {p / f:.2f}")
    if args.json:
        from core.io.atomic import atomic_write_json

        atomic_write_json(args.json, {"size": args.size, "samples": args.samples,
                                      "repeats": args.repeats, "results": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark core.metrics: the four pixel metrics of 100 maps of 448x448 (20 M pixels) on one core.

Prints our time (best of --repeat), peak extra memory in units of the maps' size, and the ratio to
scikit-learn (roc_auc_score + average_precision_score + precision_recall_curve, one sort each) and to
anomalib's AUPRO, both measured in this run on the same data and the same single core. anomalib lives
in its own environment (``bash scripts/bench_env.sh`` -> /tmp/bearing_bench_env, or $BENCH_ENV) and
runs in a subprocess; without it that line says so.

    .venv/bin/python scripts/bench_metrics.py                 # full size, ~1 minute
    .venv/bin/python scripts/bench_metrics.py --n 10 --size 128 --repeat 1   # quick look

Goal from issue 3: <= 3 s and <= 4x the maps' size of extra memory for all four pixel metrics.
"""

from __future__ import annotations

import os

# One core, everywhere: set before numpy/torch load their thread pools.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from core.metrics import evaluate, pixel_metrics  # noqa: E402

DEFAULT_ENV = os.environ.get("BENCH_ENV", "/tmp/bearing_bench_env")

# Runs inside the anomalib environment: times anomalib's AUPRO (torchmetrics state, OpenCV labels).
ANOMALIB_SNIPPET = r"""
import json, os, sys, time
import numpy as np, torch
torch.set_num_threads(1)
import anomalib
from anomalib.metrics.aupro import _AUPRO
d = sys.argv[1]
maps = torch.from_numpy(np.load(os.path.join(d, "maps.npy")))
masks = torch.from_numpy(np.load(os.path.join(d, "masks.npy")).astype(np.int64))
best, value = float("inf"), None
for _ in range(int(sys.argv[2])):
    metric = _AUPRO(fpr_limit=0.3)
    t = time.perf_counter()
    metric.update(maps, masks)
    value = float(metric.compute())
    best = min(best, time.perf_counter() - t)
print(json.dumps({"seconds": best, "aupro": value, "version": anomalib.__version__}))
"""


def pin_one_core() -> str:
    try:
        core = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})      # inherited by the subprocesses
        return f"pinned to CPU {core}"
    except (AttributeError, OSError):
        return "not pinned (no sched_setaffinity); numpy sorts are single-threaded anyway"


def make_data(n: int, size: int, seed: int):
    """Smooth float32 maps with brighter defect blobs on half the images, like a model's output."""
    rng = np.random.default_rng(seed)
    maps = np.empty((n, size, size), dtype=np.float32)
    masks = np.zeros((n, size, size), dtype=np.uint8)
    for i in range(n):
        coarse = rng.random((size // 8, size // 8)).astype(np.float32)
        maps[i] = cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)
        if i % 2:
            for _ in range(rng.integers(1, 6)):
                centre = (int(rng.integers(0, size)), int(rng.integers(0, size)))
                axes = (int(rng.integers(2, size // 12)), int(rng.integers(2, size // 12)))
                cv2.ellipse(masks[i], centre, axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
    maps += masks * rng.uniform(0.0, 0.6, size=(n, 1, 1)).astype(np.float32)
    labels = (masks.reshape(n, -1).max(axis=1) > 0).astype(np.int64)
    scores = maps.reshape(n, -1).max(axis=1)
    return scores, labels, maps, masks


def best_time(fn, repeat: int):
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def peak_extra_bytes(fn) -> int:
    """Peak of Python/numpy allocations during ``fn`` above what was allocated before it."""
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak - base


def _vm_hwm_bytes() -> int:
    """This process's peak resident memory (VmHWM; unlike ru_maxrss it is not inherited over exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise OSError("no VmHWM in /proc/self/status")


def child_rss(data_dir: str) -> None:
    """(--child-rss) Peak RSS growth of pixel_metrics in a fresh process: counts every allocator."""
    maps, masks = np.load(Path(data_dir, "maps.npy")), np.load(Path(data_dir, "masks.npy"))
    before = _vm_hwm_bytes()
    pixel_metrics(maps, masks)
    print(json.dumps({"rss_growth_bytes": _vm_hwm_bytes() - before}))


def sklearn_reference(maps, masks, repeat: int):
    from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score

    y, s = masks.ravel() != 0, maps.ravel()

    def run():
        auroc = roc_auc_score(y, s)
        ap = average_precision_score(y, s)
        p, r, _ = precision_recall_curve(y, s)
        with np.errstate(invalid="ignore", divide="ignore"):
            f1 = float(np.nanmax(2 * p * r / (p + r)))
        return {"P-AUROC": auroc, "P-AP": ap, "P-F1": f1}

    return best_time(run, repeat)


def anomalib_reference(env: str, data_dir: str, repeat: int):
    python = Path(env, "bin", "python")
    if not python.exists():
        return None, f"not measured: no benchmark environment at {env} (create it: bash scripts/bench_env.sh)"
    proc = subprocess.run([str(python), "-c", ANOMALIB_SNIPPET, data_dir, str(repeat)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["(no message)"])[-1]
        return None, f"not measured: anomalib run failed in {env}: {tail}"
    return json.loads(proc.stdout.strip().splitlines()[-1]), ""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=100, help="number of maps")
    ap.add_argument("--size", type=int, default=448, help="map height and width (px)")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs of ours (best is reported)")
    ap.add_argument("--ref-repeat", type=int, default=1, help="timed runs of each reference")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--bench-env", default=DEFAULT_ENV, help="venv with anomalib installed")
    ap.add_argument("--skip-sklearn", action="store_true")
    ap.add_argument("--skip-anomalib", action="store_true")
    ap.add_argument("--child-rss", metavar="DIR", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child_rss:
        child_rss(args.child_rss)
        return 0

    print(f"[bench_metrics] {pin_one_core()}; numpy {np.__version__}")
    scores, labels, maps, masks = make_data(args.n, args.size, args.seed)
    pixels = maps.size
    print(f"[bench_metrics] {args.n} maps of {args.size}x{args.size} = {pixels / 1e6:.1f} M pixels, "
          f"maps {maps.nbytes / 1e6:.1f} MB float32, {int(masks.any(axis=(1, 2)).sum())} defective images")

    ours_s, ours = best_time(lambda: pixel_metrics(maps, masks), args.repeat)
    extra = peak_extra_bytes(lambda: pixel_metrics(maps, masks))
    all_s, _ = best_time(lambda: evaluate(scores, labels, maps, masks), 1)
    print(f"ours      4 pixel metrics: {ours_s:7.3f} s (best of {args.repeat})   "
          f"{' '.join(f'{k}={v:.6f}' for k, v in ours.items())}")
    print(f"ours      all 7 (evaluate): {all_s:6.3f} s")
    print(f"ours      peak extra memory (tracemalloc): {extra / 1e6:.1f} MB = "
          f"{extra / maps.nbytes:.2f}x the maps' size")

    with tempfile.TemporaryDirectory(prefix="bench_metrics_") as tmp:
        np.save(Path(tmp, "maps.npy"), maps)
        np.save(Path(tmp, "masks.npy"), masks)
        proc = subprocess.run([sys.executable, __file__, "--child-rss", tmp], capture_output=True,
                              text=True)
        if proc.returncode == 0:
            rss = json.loads(proc.stdout.strip().splitlines()[-1])["rss_growth_bytes"]
            print(f"ours      peak RSS growth (fresh process): {rss / 1e6:.1f} MB = "
                  f"{rss / maps.nbytes:.2f}x the maps' size")
        else:
            print(f"ours      peak RSS growth: not measured ({proc.stderr.strip()[-200:]})")

        verdict = "meets" if ours_s <= 3.0 and extra <= 4 * maps.nbytes else "MISSES"
        if args.n * args.size * args.size != 100 * 448 * 448:
            verdict += " (at this size; the goal is stated for 100 x 448 x 448)"
        print(f"goal      <= 3 s and <= 4x maps' memory: {verdict}")

        if not args.skip_sklearn:
            sk_s, sk = sklearn_reference(maps, masks, args.ref_repeat)
            diff = max(abs(sk[k] - ours[k]) for k in sk)
            print(f"sklearn   AUROC + AP + PR curve: {sk_s:7.3f} s   ratio sklearn/ours = "
                  f"{sk_s / ours_s:.1f}x   max |difference| = {diff:.2e}")
        if not args.skip_anomalib:
            res, why = anomalib_reference(args.bench_env, tmp, args.ref_repeat)
            if res is None:
                print(f"anomalib  AUPRO: {why}")
            else:
                print(f"anomalib  AUPRO ({res['version']}): {res['seconds']:7.3f} s   ratio anomalib/ours"
                      f" = {res['seconds'] / ours_s:.1f}x (ours: all four)   "
                      f"|difference| = {abs(res['aupro'] - ours['P-AUPRO']):.2e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

#!/usr/bin/env python
"""Soak: preprocess a data set of thousands of samples into the h5 cache; memory must stay flat and
every sample must come out exactly as when it is preprocessed on its own.

Batch inspection (issue 7's 5,000-sample load item) needs core.inference, which has not landed;
this is the same soak for the part that exists: ``preprocess_dataset`` streaming into
``CacheWriter`` (what ``bearing-inspect preprocess`` does). A few unique samples are rendered with
core.synth and repeated by hard links (so 5,000 samples cost a few MB of disk), a handful of bad
files are mixed in, and the peak resident memory is sampled along the run.

    .venv/bin/python scripts/soak_preprocess.py                      # 5,000 samples at 256 x 256
    .venv/bin/python scripts/soak_preprocess.py --samples 1000 --size 384 --json soak.json

Checks (exit code 1 if one fails): the batch finishes, every bad file is listed as skipped, the
resident memory grows by less than --max-growth-mb between 20 % and 100 % of the samples, and the
cache rows of --check samples equal preprocess_sample run on each one alone.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.io.cache import CacheParams, CacheWriter, open_cache, resize_record  # noqa: E402
from core.io.cache import CacheRecord  # noqa: E402
from core.io.dataset import load_levels, load_mask, scan_dataset  # noqa: E402
from core.preprocess.batch import preprocess_dataset  # noqa: E402
from core.preprocess.pipeline import PreprocessConfig, preprocess_sample  # noqa: E402
from core.synth import render_sample  # noqa: E402


def rss_mb() -> float:
    """Resident memory of this process now (Linux /proc; falls back to the peak elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build(root: Path, n: int, unique: int, size: int, n_bad: int) -> list[str]:
    """``n`` samples (LC and OD, train and test) from ``unique`` renders; returns the bad keys."""
    pool = root / "_pool"
    pool.mkdir(parents=True)
    renders = []
    for u in range(unique):
        cls = "LC" if u % 2 == 0 else "OD"
        levels = render_sample(cls, 100 + u, size=(size, size)).levels
        paths = []
        for i, img in enumerate(levels):
            p = pool / f"{u}_{i}.png"
            cv2.imwrite(str(p), img)
            paths.append(p)
        renders.append((cls, paths))
    bad = []
    for k in range(n):
        cls, paths = renders[k % unique]
        split = "train" if k < 2 * unique else "test"
        folder = root / cls / split / "good"
        folder.mkdir(parents=True, exist_ok=True)
        for i, p in enumerate(paths):
            os.link(p, folder / f"{k:05d}_{i}.png")
    rng = random.Random(0)
    for j in range(n_bad):  # replace one level of a few test samples by a broken file
        k = rng.randrange(2 * unique, n)
        cls = renders[k % unique][0]
        target = root / cls / "test" / "good" / f"{k:05d}_1.png"
        if f"{cls}/test/good/{k:05d}" in bad:
            continue
        target.unlink()
        target.write_bytes(b"" if j % 2 else b"not a png")
        bad.append(f"{cls}/test/good/{k:05d}")
    return sorted(bad)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--samples", type=int, default=5000)
    ap.add_argument("--unique", type=int, default=40, help="distinct rendered samples")
    ap.add_argument("--size", type=int, default=256, help="rendered image side, px")
    ap.add_argument("--cache-size", type=int, default=64)
    ap.add_argument("--bad", type=int, default=10, help="broken files mixed in")
    ap.add_argument("--check", type=int, default=50, help="samples compared one by one")
    ap.add_argument("--max-growth-mb", type=float, default=50.0)
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        root, cache_path = Path(tmp) / "data", Path(tmp) / "cache.h5"
        t0 = time.perf_counter()
        bad = build(root, args.samples, args.unique, args.size, args.bad)
        t_build = time.perf_counter() - t0
        ds = scan_dataset(root, classes=("LC", "OD"))
        assert len(ds.samples) == args.samples, len(ds.samples)

        memory: list[tuple[int, float]] = []
        every = max(1, args.samples // 50)

        def progress(done, total, message=""):
            if done % every == 0 or done == total:
                memory.append((done, rss_mb()))

        t0 = time.perf_counter()
        params = CacheParams(size=args.cache_size)
        with CacheWriter(cache_path, params) as writer:
            result = preprocess_dataset(ds, PreprocessConfig(), params, progress=progress,
                                        sink=writer.add)
            writer.finish({"soak": True}, result.fingerprint)
        t_run = time.perf_counter() - t0

        total = memory[-1][0]
        at20 = next(m for d, m in memory if d >= 0.2 * total)
        growth = max(m for _, m in memory) - at20
        checks = {
            "finished": not result.cancelled and result.n_processed == args.samples - len(bad),
            "bad files listed": sorted(result.skipped) == bad,
            f"memory growth < {args.max_growth_mb} MB": growth < args.max_growth_mb,
        }

        # one by one: the same config (with the fitted statistics) on each sample alone
        config = result.config
        by_key = {s.key: s for s in ds.samples}
        identical = 0
        with open_cache(cache_path) as cache:
            rows = {k: (c, i) for c in cache.classes() for i, k in enumerate(cache.keys(c))}
            for key in random.Random(1).sample(sorted(rows), min(args.check, len(rows))):
                s = by_key[key]
                levels = load_levels(s)
                res = preprocess_sample(levels, s.cls, config.for_class(s.cls), path=s.first_path)
                rec = resize_record(CacheRecord(
                    s.cls, s.split, s.group, s.sample_id, s.key, 0, res.composed,
                    res.crop_mask(load_mask(s, levels[0].shape)), res.roi_mask, res.crop), params.size)
                cls, i = rows[key]
                identical += int(np.array_equal(cache.inputs(cls, [i])[0], rec.composed)
                                 and np.array_equal(cache.roi_masks(cls, [i])[0], rec.roi_mask)
                                 and tuple(cache.crops(cls)[i]) == tuple(rec.crop))
        checks[f"{args.check} samples identical one by one"] = identical == min(args.check, len(rows))

    figures = {
        "samples": args.samples, "image_size": args.size, "cache_size": args.cache_size,
        "processed": result.n_processed, "skipped": len(result.skipped),
        "build_s": round(t_build, 1), "run_s": round(t_run, 1),
        "ms_per_sample": round(1000 * t_run / args.samples, 2),
        "rss_mb_at_20pct": round(at20, 1), "rss_mb_peak": round(max(m for _, m in memory), 1),
        "rss_growth_mb_after_20pct": round(growth, 1),
        "rss_mb_trace": [(d, round(m, 1)) for d, m in memory[:: max(1, len(memory) // 10)]],
        "identical_one_by_one": identical, "checks": checks,
    }
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())

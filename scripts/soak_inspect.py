#!/usr/bin/env python
"""Soak: ``bearing-inspect inspect`` over thousands of samples on CPU with a tiny detector; memory
must stay flat and every row must equal inspecting that sample on its own.

A tiny LC Dinomaly run (random tiny encoder, a few iterations, evaluated for its threshold) is
trained on a small rendered demo set. The folder to inspect holds --samples samples in lots of 100:
each is one of a few rendered LC samples whose level 0 gets a small patch of seeded noise (so
every sample has its own score; levels 1 and 2 are hard links), plus a few bad files (empty,
truncated, text, blank). The CLI runs in a child process, as a user runs it; its peak resident
memory (VmHWM, and VmRSS) is read when 10 % and 50 % of the rows are written, when the batch ends
(before results.csv is merged), and last just before the process exits.

    .venv/bin/python scripts/soak_inspect.py                         # 5,000 samples at 160 x 160
    .venv/bin/python scripts/soak_inspect.py --samples 500 --size 128 --json soak.json

Checks (exit code 1 if one fails): the batch finishes (exit 0) with one row per sample; each bad
file gets its unreadable / ROI-failed row; peak RSS grows by less than --max-growth-mb from 10 %
to 100 %; and for --check random samples, ``Inspector.score_levels`` in this process gives the
same score and decision as the CLI's results.csv (both on one thread, so bit-identical).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import argparse  # noqa: E402
import csv  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TRAIN_COUNTS = {("LC", "train", "good"): 6, ("LC", "test", "good"): 3, ("LC", "test", "dent"): 3}
BAD = {"empty": "unreadable", "truncated": "unreadable", "text": "unreadable", "blank": "ROI-failed"}
LOT = 100


def train_run(tmp: Path, size: int) -> Path:
    """An evaluated tiny LC detector run root, trained on a small rendered demo set."""
    from core.config import from_dict, to_dict
    from core.io.cache import CacheParams, CacheWriter
    from core.io.dataset import scan_dataset
    from core.preprocess.batch import preprocess_dataset
    from core.preprocess.pipeline import PreprocessConfig
    from core.synth.dataset import render_demo
    from core.train.stages import TrainConfig, evaluate_run, train_class

    data = tmp / "train_data"
    render_demo(data, seed=3, size=(size, size), counts=TRAIN_COUNTS)
    cache = tmp / "cache.h5"
    params = CacheParams(size=64)
    with CacheWriter(cache, params) as w:
        res = preprocess_dataset(scan_dataset(data, classes=("LC",)), PreprocessConfig(), params, sink=w.add)
        w.finish(to_dict(res.config), res.fingerprint)
    cfg = from_dict(TrainConfig, {"model": "dinomaly", "encoder": {"backbone": "tiny", "weights": "random"},
                                  "optim": {"total_iters": 3, "warmup_iters": 1}, "batch_size": 4,
                                  "device": "cpu", "dinomaly": {"image_size": 56}})
    run = tmp / "run"
    if train_class(cache, "LC", cfg, run / "LC", log=lambda m: None).status != "finished":
        raise SystemExit("training the tiny run failed")
    evaluate_run(run / "LC", cache, device="cpu")
    return run


def build_folder(folder: Path, n: int, size: int, unique: int, seed: int) -> dict[str, str]:
    """``n`` samples (plus the bad ones) below ``folder``/LC; returns {key: expected decision or ''}."""
    from core.synth import render_sample

    rng = np.random.default_rng(seed)
    bases = [render_sample("LC", 100 + i, size=(size, size), defective=i % 3 == 2).levels for i in range(unique)]
    shared = folder / "shared"
    shared.mkdir(parents=True)
    for i, levels in enumerate(bases):
        for lv in (1, 2):
            cv2.imwrite(str(shared / f"base{i}_{lv}.png"), levels[lv])
    expect: dict[str, str] = {}
    patch = 12
    for k in range(n):
        b = k % unique
        lot = folder / "LC" / f"lot{k // LOT:03d}"
        lot.mkdir(parents=True, exist_ok=True)
        img = bases[b][0].astype(np.int16)
        y, x = rng.integers(size // 4, 3 * size // 4 - patch, 2)
        img[y:y + patch, x:x + patch] += rng.integers(-6, 7, (patch, patch), dtype=np.int16)
        cv2.imwrite(str(lot / f"s{k:05d}_0.png"), np.clip(img, 0, 255).astype(np.uint8))
        for lv in (1, 2):
            os.link(shared / f"base{b}_{lv}.png", lot / f"s{k:05d}_{lv}.png")
        expect[f"LC/{lot.name}/s{k:05d}"] = ""
    bad = folder / "LC" / "bad"
    bad.mkdir()
    good0 = (folder / "LC" / "lot000" / "s00000_0.png").read_bytes()
    blank = cv2.imencode(".png", np.full((size, size), 90, np.uint8))[1].tobytes()
    level0 = {"empty": b"", "truncated": good0[: len(good0) // 2], "text": b"not an image\n", "blank": blank}
    for name, data in level0.items():
        (bad / f"{name}_0.png").write_bytes(data)
        for lv in (1, 2):
            if name == "blank":
                (bad / f"{name}_{lv}.png").write_bytes(blank)
            else:
                os.link(shared / f"base0_{lv}.png", bad / f"{name}_{lv}.png")
        expect[f"LC/bad/{name}"] = BAD[name]
    return expect


def _status_kb(pid: int, field: str) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return float(line.split()[1])
    except OSError:
        return None
    return None


def _rows_written(part: Path) -> int:
    try:
        with open(part, "rb") as f:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
    except OSError:
        return 0


def run_inspect(folder: Path, run: Path, out: Path, total: int, overlays: bool) -> dict:
    """Run the CLI in a child; peak RSS (MiB) when 10 % and 50 % of the rows are written, and at the end."""
    cmd = [sys.executable, "-m", "core.cli", "inspect", str(folder), "--run", str(run), "--out", str(out),
           "--device", "cpu", "--quiet"] + ([] if overlays else ["--no-overlays"])
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    marks = {10: None, 50: None}
    batch_end = None
    trace = []
    part = out / ".results.rank0.csv.part"
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    stderr_lines: list[str] = []
    # drain stderr (warnings, errors) so the child never blocks on a full pipe
    reader = threading.Thread(target=lambda: stderr_lines.extend(proc.stderr), daemon=True)
    reader.start()
    while True:
        pid, status, _usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        done = _rows_written(part)
        hwm, rss = _status_kb(proc.pid, "VmHWM"), _status_kb(proc.pid, "VmRSS")
        if hwm is not None and rss is not None:
            trace.append((done, hwm / 1024, rss / 1024))
            if not (out / "results.csv").exists():   # not merged yet: still the batch itself
                batch_end = (hwm / 1024, rss / 1024)
            for pct in marks:
                if marks[pct] is None and done >= total * pct / 100:
                    marks[pct] = (hwm / 1024, rss / 1024)
        time.sleep(0.2)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    reader.join(10)
    stdout, stderr = "", "".join(stderr_lines)
    # 100 %: the last read (every 0.2 s) before results.csv is merged; "exit": the last read of
    # all, which may catch the interpreter's shutdown (up to +115 MB, the same for 300 or 5,000
    # samples). Never the largest read or wait4's ru_maxrss: between fork and exec the child
    # shares, and is charged for, the pages of this (large) process.
    last = trace[-1][1:] if trace else None
    return {"returncode": proc.returncode, "wall_s": wall, "stdout": stdout, "stderr": stderr,
            "at": {"10pct": marks[10], "50pct": marks[50], "100pct": batch_end, "exit": last}, "trace": trace}


def check_one_by_one(folder: Path, run: Path, rows: dict[str, dict], keys: list[str]) -> tuple[int, float]:
    """(number of mismatches, largest |score difference|) of ``keys`` scored alone in this process."""
    import torch

    from core.inference import Inspector
    from core.io.dataset import load_levels, scan_folder

    torch.set_num_threads(1)
    samples = {s.key: s for s in scan_folder(folder).samples}
    insp = Inspector.from_run(run / "LC", "LC", device="cpu")
    bad, worst = 0, 0.0
    for key in keys:
        s = samples[key]
        res = insp.score_levels(load_levels(s), path=s.first_path)
        row = rows[key]
        diff = abs(res.score - float(row["score"]))
        worst = max(worst, diff)
        if res.score != float(row["score"]) or res.decision != row["decision"] \
                or res.threshold != float(row["threshold"]):
            bad += 1
            print(f"  MISMATCH {key}: alone {res.score!r} {res.decision}, batch {row['score']} {row['decision']}")
    return bad, worst


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=5000)
    ap.add_argument("--size", type=int, default=160, help="image side in pixels (default 160)")
    ap.add_argument("--unique", type=int, default=6, help="rendered base samples (default 6)")
    ap.add_argument("--check", type=int, default=50, help="samples re-scored one by one (default 50)")
    ap.add_argument("--max-growth-mb", type=float, default=50.0,
                    help="allowed peak-RSS growth from 10 %% to 100 %% (default 50)")
    ap.add_argument("--no-overlays", action="store_true", help="inspect without overlay PNGs")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temporary one)")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="soak_inspect_") as tmpdir:
        tmp = args.keep or Path(tmpdir)
        tmp.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        run = train_run(tmp, args.size)
        t_train = time.perf_counter() - t0
        t0 = time.perf_counter()
        expect = build_folder(tmp / "in", args.samples, args.size, args.unique, seed=7)
        t_build = time.perf_counter() - t0
        print(f"trained the tiny run in {t_train:.0f} s; wrote {len(expect)} samples "
              f"({args.size} x {args.size}) in {t_build:.0f} s", flush=True)
        res = run_inspect(tmp / "in", run, tmp / "out", len(expect), not args.no_overlays)
        failures = []
        if res["returncode"] != 0:
            failures.append(f"inspect exited {res['returncode']}: {res['stderr'][-2000:]}")
        if "Traceback" in res["stderr"]:
            failures.append("a traceback on stderr")
        rows: dict[str, dict] = {}
        if (tmp / "out" / "results.csv").is_file():
            with open(tmp / "out" / "results.csv", newline="", encoding="utf-8") as f:
                rows = {r["sample"]: r for r in csv.DictReader(f)}
        if set(rows) != set(expect):
            failures.append(f"{len(rows)} rows for {len(expect)} samples")
        for key, want in expect.items():
            got = rows.get(key, {}).get("decision")
            if (want and got != want) or (not want and got not in ("OK", "NG")):
                failures.append(f"{key}: decision {got}, expected {want or 'OK/NG'}")
        counts = {}
        for r in rows.values():
            counts[r["decision"]] = counts.get(r["decision"], 0) + 1
        good_keys = sorted(k for k, v in expect.items() if not v and k in rows)
        picked = random.Random(1).sample(good_keys, min(args.check, len(good_keys)))
        t0 = time.perf_counter()
        mismatches, worst = check_one_by_one(tmp / "in", run, rows, picked) if picked else (0, 0.0)
        t_check = time.perf_counter() - t0
        if mismatches:
            failures.append(f"{mismatches} of {len(picked)} samples differ from inspecting them alone")
        at = res["at"]
        growth = None if None in (at["10pct"], at["100pct"]) else at["100pct"][0] - at["10pct"][0]
        if growth is None:
            failures.append("the 10 % memory mark was never read")
        elif growth > args.max_growth_mb:
            failures.append(f"peak RSS grew by {growth:.1f} MB from 10 % to 100 % (limit {args.max_growth_mb})")
        scores = np.array([float(r["score"]) for r in rows.values() if r["score"]])
        figures = {
            "samples": len(expect), "size_px": args.size, "overlays": not args.no_overlays,
            "inspect_wall_s": round(res["wall_s"], 1),
            "ms_per_sample": round(1000 * res["wall_s"] / max(1, len(expect)), 1),
            **{f"peak_rss_mb_{k}": None if v is None else round(v[0], 1) for k, v in at.items()},
            **{f"rss_mb_{k}": None if v is None else round(v[1], 1) for k, v in at.items()},
            "peak_rss_growth_mb_10_to_100pct": None if growth is None else round(growth, 1),
            "counts": counts, "distinct_scores": int(len(np.unique(scores))),
            "checked_one_by_one": len(picked), "one_by_one_mismatches": mismatches,
            "max_abs_score_diff": worst, "check_s": round(t_check, 1),
            "train_s": round(t_train, 1), "build_s": round(t_build, 1),
            "trace_rows_peak_rss_mb": [(d, round(m, 1), round(r, 1))
                                       for d, m, r in res["trace"][:: max(1, len(res["trace"]) // 12)]],
            "failures": failures,
        }
        print(json.dumps(figures, indent=2))
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2))
        print("SOAK OK" if not failures else "SOAK FAILED:\n  " + "\n  ".join(failures[:20]))
        return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())

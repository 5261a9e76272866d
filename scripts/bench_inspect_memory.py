"""Peak memory of ``bearing-inspect inspect`` against folder size: it should not grow with the folder.

Trains a tiny random-weight LC detector on a small rendered demo set, then inspects folders of
N samples (hard links to the rendered test samples, 100 per sub-folder) in a fresh process each
and reports that process's peak RSS and its wall time per sample. The peak is the child's own
``VmHWM`` (read from Linux's /proc in the child just before it exits): ``wait4``'s ``ru_maxrss`` of a
forked-then-exec'd child also counts the parent's image at fork time, which overstated it.

    .venv/bin/python scripts/bench_inspect_memory.py                 # 200 and 2000 samples
    .venv/bin/python scripts/bench_inspect_memory.py --sizes 100,1000 --no-overlays
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

COUNTS = {("LC", "train", "good"): 5, ("LC", "test", "good"): 4, ("LC", "test", "dent"): 4}


def build_run(tmp: Path, image_px: int) -> tuple[Path, Path]:
    """(rendered data root, evaluated tiny LC run folder)."""
    from core.config import from_dict, to_dict
    from core.io.cache import CacheParams, CacheWriter
    from core.io.dataset import scan_dataset
    from core.preprocess.batch import preprocess_dataset
    from core.preprocess.pipeline import PreprocessConfig
    from core.synth.dataset import render_demo
    from core.train.stages import TrainConfig, evaluate_run, train_class

    data = tmp / "data"
    render_demo(data, seed=5, size=(image_px, image_px), counts=COUNTS)
    cache = tmp / "cache.h5"
    with CacheWriter(cache, CacheParams(size=96)) as w:
        res = preprocess_dataset(scan_dataset(data, classes=("LC",)), PreprocessConfig(), CacheParams(size=96),
                                 sink=w.add)
        w.finish(to_dict(res.config), res.fingerprint)
    cfg = from_dict(TrainConfig, {"model": "dinomaly", "encoder": {"backbone": "tiny", "weights": "random"},
                                  "optim": {"total_iters": 2, "warmup_iters": 1}, "batch_size": 4,
                                  "device": "cpu", "dinomaly": {"image_size": 56}})
    run = tmp / "run"
    train_class(cache, "LC", cfg, run / "LC", log=lambda m: None)
    evaluate_run(run / "LC", cache, device="cpu")
    return data, run


def make_folder(data: Path, dest: Path, n: int) -> None:
    """``n`` samples below ``dest`` (hard links, 100 per sub-folder), cycling the rendered test samples."""
    sources = sorted(p for p in (data / "LC" / "test").rglob("*_0.png"))
    for k in range(n):
        src = sources[k % len(sources)]
        sub = dest / f"lot{k // 100:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        for level in range(3):
            os.link(src.with_name(src.name.replace("_0.", f"_{level}.")), sub / f"{k:05d}_{level}.png")


# Runs the CLI, then writes this process's peak RSS (VmHWM, KiB) to the file named in argv[1].
CHILD = """import sys
from core.cli import main
rc = main(sys.argv[2:])
with open("/proc/self/status") as f:
    hwm = next(line.split()[1] for line in f if line.startswith("VmHWM:"))
with open(sys.argv[1], "w") as f:
    f.write(hwm)
sys.exit(rc)
"""


def measure(folder: Path, run: Path, out: Path, overlays: bool) -> tuple[float, float]:
    """(peak RSS in MiB, seconds) of one ``inspect`` process."""
    hwm_file = out.with_suffix(".hwm")
    cmd = [sys.executable, "-c", CHILD, str(hwm_file), "inspect", str(folder), "--run", str(run),
           "--out", str(out), "--class", "LC", "--device", "cpu", "--quiet"] + ([] if overlays else ["--no-overlays"])
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT))
    t0 = time.perf_counter()
    rc = subprocess.run(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL).returncode
    secs = time.perf_counter() - t0
    if rc != 0:
        raise SystemExit(f"inspect failed with exit code {rc}")
    return int(hwm_file.read_text()) / 1024.0, secs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="200,2000", help="folder sizes to compare (default 200,2000)")
    ap.add_argument("--image-px", type=int, default=320, help="rendered image side (default 320)")
    ap.add_argument("--no-overlays", action="store_true", help="inspect without writing overlay PNGs")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="bench_inspect_") as d:
        tmp = Path(d)
        data, run = build_run(tmp, args.image_px)
        print(f"{'samples':>8} {'peak RSS MiB':>13} {'s/sample':>9}")
        for n in sizes:
            folder = tmp / f"in{n}"
            make_folder(data, folder, n)
            rss, secs = measure(folder, run, tmp / f"out{n}", not args.no_overlays)
            print(f"{n:>8} {rss:>13.1f} {secs / n:>9.4f}", flush=True)


if __name__ == "__main__":
    main()

"""Benchmark Dinomaly with a ViT-S/14 encoder (random weights) at 448 px: training and inference speed.

Prints our training iterations/s (bottleneck + decoder trained, encoder frozen, StableAdamW step
included) and inference images/s (anomaly map + image score), and the ratio of our inference speed
to anomalib's Dinomaly measured in the same run on the same input, with the same encoder weights
(ours, saved and handed to anomalib's model, so nothing is downloaded). anomalib lives in its own
environment (``bash scripts/bench_env.sh`` -> /tmp/bearing_bench_env, or $BENCH_ENV) and runs in a
subprocess; without it that line says so and the rest is still measured.

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/bench_model.py                   # CPU, a few minutes
    HF_HUB_OFFLINE=1 .venv/bin/python scripts/bench_model.py --device cuda     # bf16 autocast

Speeds are the median over the timed repetitions after warm-up; on a shared machine the load
average (printed) makes them noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_ENV = os.environ.get("BENCH_ENV", "/tmp/bearing_bench_env")
BACKBONE = "vit_small_patch14_reg4_dinov2.lvd142m"

# Runs in the benchmark environment: anomalib's DinomalyModel with our encoder weights, timed.
ANOMALIB_SNIPPET = r"""
import json, statistics, sys, time
import torch
from safetensors.torch import load_file
import anomalib
from anomalib.models.image.dinomaly import torch_model as tm

weights, backbone, size, batch, warmup, repeat, device, threads = sys.argv[1:9]
size, batch, warmup, repeat, threads = int(size), int(batch), int(warmup), int(repeat), int(threads)
if threads:
    torch.set_num_threads(threads)
_extractor = tm.TimmFeatureExtractor

def offline_extractor(*args, **kwargs):
    kwargs["pre_trained"] = False          # no download: the weights come from our file below
    return _extractor(*args, **kwargs)

tm.TimmFeatureExtractor = offline_extractor
torch.manual_seed(0)
model = tm.DinomalyModel(encoder_name=backbone)
vit = model.encoder.feature_extractor
state = load_file(weights)
missing, unexpected = vit.load_state_dict(state, strict=False)
if unexpected or [k for k in missing if not k.startswith("head.")]:
    raise SystemExit(f"encoder weights do not fit anomalib's model: missing {missing}, unexpected {unexpected}")
dev = torch.device(device)
model.to(dev).eval()
x = torch.randn(batch, 3, size, size, device=dev)

def step():
    with torch.no_grad(), torch.autocast(dev.type, dtype=torch.bfloat16, enabled=dev.type == "cuda"):
        out = model(x)
    out.anomaly_map.float().sum().item()
    out.pred_score.float().sum().item()

for _ in range(warmup):
    step()
times = []
for _ in range(repeat):
    if dev.type == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    times.append(time.perf_counter() - t)
print(json.dumps({"version": anomalib.__version__, "images_per_s": batch / statistics.median(times),
                  "times_s": times}))
"""


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="cpu", help="cpu (default) or cuda / cuda:K (bf16 autocast)")
    p.add_argument("--image-size", type=int, default=448, help="input side in px (default 448)")
    p.add_argument("--train-batch", type=int, default=0, help="training batch (default: 16 on CUDA, 4 on the CPU)")
    p.add_argument("--infer-batch", type=int, default=0, help="inference batch (default: 16 on CUDA, 4 on the CPU)")
    p.add_argument("--warmup", type=int, default=1, help="untimed repetitions first (default 1)")
    p.add_argument("--repeat", type=int, default=0, help="timed repetitions (default: 20 on CUDA, 3 on the CPU)")
    p.add_argument("--threads", type=int, default=0, help="torch threads, both sides (0: torch's default)")
    p.add_argument("--bench-env", default=DEFAULT_ENV, help=f"anomalib's environment (default {DEFAULT_ENV})")
    p.add_argument("--json", type=Path, help="also write the figures as JSON")
    return p.parse_args(argv)


def timed(fn, warmup: int, repeat: int, sync) -> list[float]:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        sync()
        t = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t)
    return times


def anomalib_reference(args, weights: Path, batch: int, repeat: int) -> tuple[dict | None, str]:
    python = Path(args.bench_env) / "bin" / "python"
    if not python.is_file():
        return None, (f"not measured: no benchmark environment at {args.bench_env} "
                      "(create it: bash scripts/bench_env.sh)")
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    env.pop("PYTHONPATH", None)
    proc = subprocess.run([str(python), "-c", ANOMALIB_SNIPPET, str(weights), BACKBONE, str(args.image_size),
                           str(batch), str(args.warmup), str(repeat), args.device, str(args.threads)],
                          capture_output=True, text=True, env=env, cwd=tempfile.gettempdir())
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return None, "not measured: anomalib run failed: " + " | ".join(tail)
    return json.loads(proc.stdout.strip().splitlines()[-1]), ""


def main(argv=None) -> int:
    args = parse_args(argv)
    import torch
    from safetensors.torch import save_file

    from core.device import autocast, resolve_device
    from core.models import Dinomaly, DinomalyConfig, create_encoder
    from core.train.optim import OptimConfig, StableAdamW

    if args.threads:
        torch.set_num_threads(args.threads)
    dev = resolve_device(args.device)
    cuda = dev.type == "cuda"
    train_batch = args.train_batch or (16 if cuda else 4)
    infer_batch = args.infer_batch or (16 if cuda else 4)
    repeat = args.repeat or (20 if cuda else 3)
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    load = os.getloadavg()[0]

    torch.manual_seed(0)
    encoder = create_encoder(BACKBONE, "random")
    with tempfile.TemporaryDirectory() as tmp:
        weights = Path(tmp) / "encoder.safetensors"
        save_file({k: v.contiguous() for k, v in encoder.vit.state_dict().items()}, str(weights))
        model = Dinomaly(encoder, DinomalyConfig(image_size=args.image_size)).to(dev)
        opt = StableAdamW.from_config(model.trainable_parameters(), OptimConfig())
        x_train = torch.randn(train_batch, 3, args.image_size, args.image_size, device=dev)
        x_infer = torch.randn(infer_batch, 3, args.image_size, args.image_size, device=dev)
        it = [0]

        def train_step():
            model.train()
            with autocast(dev):
                loss, _ = model.loss(model(x_train), None, it[0])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            it[0] += 1

        def infer_step():
            with autocast(dev):
                maps, scores = model.anomaly_map(x_infer)
            maps.sum().item()
            scores.sum().item()

        t_train = timed(train_step, args.warmup, repeat, sync)
        t_infer = timed(infer_step, args.warmup, repeat, sync)
        ref, why = anomalib_reference(args, weights, infer_batch, repeat)

    ours_train = 1.0 / statistics.median(t_train)
    ours_infer = infer_batch / statistics.median(t_infer)
    print(f"Dinomaly, {BACKBONE} (random weights), {args.image_size} px, device {dev}"
          f"{' (bf16 autocast)' if cuda else ''}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"load average {load:.2f} on {os.cpu_count()} CPUs")
    print(f"  training : {ours_train:8.3f} it/s  ({ours_train * train_batch:.2f} img/s; batch {train_batch}, "
          f"median of {repeat})")
    print(f"  inference: {ours_infer:8.3f} img/s (batch {infer_batch}, median of {repeat})")
    result = {"device": str(dev), "image_size": args.image_size, "backbone": BACKBONE,
              "train_batch": train_batch, "infer_batch": infer_batch, "repeat": repeat,
              "train_it_per_s": ours_train, "infer_img_per_s": ours_infer,
              "train_times_s": t_train, "infer_times_s": t_infer, "load_average": load}
    if ref is None:
        print(f"  anomalib : {why}")
    else:
        ratio = ours_infer / ref["images_per_s"]
        print(f"  anomalib {ref['version']} Dinomaly inference: {ref['images_per_s']:.3f} img/s -> ours / "
              f"anomalib = {ratio:.2f}x")
        result.update(anomalib_version=ref["version"], anomalib_infer_img_per_s=ref["images_per_s"],
                      infer_ratio_ours_to_anomalib=ratio)
    print(f"  load average after: {os.getloadavg()[0]:.2f}")
    if args.json:
        from core.io.atomic import atomic_write_json

        atomic_write_json(args.json, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

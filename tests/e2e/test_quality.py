"""End to end, quality: a small rendered LC set, the tiny random-init encoder on the CPU,
fine-tuning then Dinomaly and ViTAD on the fine-tuned encoder, scored on held-out test dents.

The encoder has random weights and trains for about a minute, so the bar is "clearly better than
chance", not the paper's figures: the pixel AUROC of both detectors on the test split (dents the models
never saw) must exceed 0.5 by a margin. The set is rendered with larger, clearer dents than the demo
presets (``make-demo --dent-size 0.02,0.05 --dent-contrast 0.3,0.6``): with the presets' dents (often
2-3 px at this size and 5-15 % contrast) Dinomaly on the frozen random encoder stayed near chance
(seed 5: P-AUROC 0.52 at 80 iterations, 0.55 at 300) and ViTAD reached 0.58 / 0.74.

Measured (``python -m tests.e2e.test_quality 1 2 3 5``, 2-core CPU, about 90 s a seed): P-AUROC
Dinomaly 0.71 / 0.80 / 0.80 / 0.71, ViTAD 0.88 / 0.91 / 0.88 / 0.85. The image-level AUROC of the same
runs is at chance (0.34-0.72 over 4 good test samples): the anomaly maps of a random encoder peak on
the ring's edges, which outscore the dents, so only pixel-level figures are asserted.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import cli

SIZE = 224                        # model input and cache side
COUNTS = {("LC", "train", "good"): 10, ("LC", "train", "dent"): 4,
          ("LC", "test", "good"): 4, ("LC", "test", "dent"): 8}
DENTS = {"size": (0.02, 0.05), "contrast": (0.3, 0.6)}   # clearer than the presets (see above)
MIN_P_AUROC = 0.65                # chance is 0.5


def render_and_preprocess(folder: Path, seed: int) -> Path:
    from core.synth.dataset import render_demo
    from core.synth.dent import DentParams

    render_demo(folder / "data", seed=seed, size=(512, 512), counts=COUNTS, dents=DentParams(**DENTS))
    cache = folder / "cache.h5"
    cli("preprocess", str(folder / "data"), "--out", str(cache), "--classes", "LC", "--size", str(SIZE),
        "--quiet")
    return cache


def train_and_evaluate(cache: Path, folder: Path, seed: int) -> dict[str, dict[str, float]]:
    """Fine-tune the tiny encoder, train both detectors on it, return their test metrics."""
    from core.config import from_dict
    from core.train.stages import TrainConfig, evaluate_run, train_class

    quiet = lambda m: None  # noqa: E731
    common = {"encoder": {"backbone": "tiny", "weights": "random"}, "batch_size": 4, "seed": seed,
              "device": "cpu", "checkpoint_every": 0}
    ft_cfg = from_dict(TrainConfig, {
        **common, "model": "finetune", "epochs": 60,
        "finetune_optim": {"lr": 1e-3, "final_lr": 1e-4, "warmup_iters": 5},
        # 4 dent images = 1 batch per patch epoch: 60 epochs give the patch task ~18 steps; dent
        # patches are ~0.3 % of a batch, so the class-balanced cross entropy keeps them heard.
        "finetune": {"image_size": SIZE, "reconstruction_epochs": 24, "alternate_every": 3,
                     "patch_labels": {"rule": "any"}, "patch_class_balance": True}})
    ft = train_class(cache, "LC", ft_cfg, folder / "finetune", log=quiet)
    assert ft.status == "finished"
    out = {}
    for model in ("dinomaly", "vitad"):
        cfg = from_dict(TrainConfig, {
            **common, "model": model, "encoder_run": str(ft.run_dir),
            "optim": {"total_iters": 300, "warmup_iters": 37},
            model: {"image_size": SIZE}})
        res = train_class(cache, "LC", cfg, folder / model, log=quiet)
        assert res.status == "finished"
        out[model] = evaluate_run(folder / model, cache, split="test", device="cpu")["metrics"]
    return out


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_finetuned_detectors_find_held_out_dents_better_than_chance(tmp_path):
    cache = render_and_preprocess(tmp_path, seed=5)
    metrics = train_and_evaluate(cache, tmp_path, seed=5)
    for model, m in metrics.items():
        assert all(0.0 <= m[k] <= 1.0 for k in ("I-AUROC", "P-AUROC", "P-AUPRO")), (model, m)
        assert m["P-AUROC"] > MIN_P_AUROC, f"{model}: P-AUROC {m['P-AUROC']:.3f} is not clearly above chance"


if __name__ == "__main__":   # robustness check over seeds: python -m tests.e2e.test_quality 1 2 3
    import tempfile
    import time

    for s in [int(a) for a in sys.argv[1:]] or [5]:
        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            c = render_and_preprocess(Path(tmp), s)
            res = train_and_evaluate(c, Path(tmp), s)
            print(f"seed {s} ({time.perf_counter() - t:.0f} s): " + "; ".join(
                f"{k} I-AUROC {v['I-AUROC']:.3f} P-AUROC {v['P-AUROC']:.3f} P-AUPRO {v['P-AUPRO']:.3f}"
                for k, v in res.items()), flush=True)

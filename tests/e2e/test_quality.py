"""End to end, quality: a small rendered LC demo set, the tiny random-init encoder on the CPU,
fine-tuning then Dinomaly and ViTAD on the fine-tuned encoder, scored on held-out test dents.

The encoder has random weights and trains for a few minutes at most, so the bar is "clearly better than
chance", not the paper's figures: the pixel AUROC of both detectors on the test split (dents the
models never saw) must exceed 0.5 by a margin (``python -m tests.e2e.test_quality SEED...``
prints the figures of other seeds).

KNOWN GAP (xfail, strict): at this CI budget the detectors are at chance. Measured for seed 5
(224 px, 80 iterations): Dinomaly P-AUROC 0.524, I-AUROC 0.375; ViTAD P-AUROC 0.540, I-AUROC
0.531. Random tiny-encoder features do carry the dents (a nearest-neighbour patch memory on the
same features reaches P-AUROC ~0.85 on LC), but Dinomaly on them stays near chance even with
400 iterations at 224 px (P-AUROC 0.52) or 300 at 448 px (0.59): more iterations alone do not
fix it. When a change makes this pass, strict xfail reports it: remove the marker then.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import cli

SIZE = 224                        # model input and cache side
COUNTS = {("LC", "train", "good"): 10, ("LC", "train", "dent"): 4,
          ("LC", "test", "good"): 4, ("LC", "test", "dent"): 8}
MIN_P_AUROC = 0.6                 # chance is 0.5


def render_and_preprocess(folder: Path, seed: int) -> Path:
    from core.synth.dataset import render_demo

    render_demo(folder / "data", seed=seed, size=(512, 512), counts=COUNTS)
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
        **common, "model": "finetune", "epochs": 10,
        "finetune_optim": {"lr": 1e-3, "final_lr": 1e-4, "warmup_iters": 5},
        "finetune": {"image_size": SIZE, "reconstruction_epochs": 4, "alternate_every": 3,
                     "patch_labels": {"rule": "any"}}})
    ft = train_class(cache, "LC", ft_cfg, folder / "finetune", log=quiet)
    assert ft.status == "finished"
    out = {}
    for model in ("dinomaly", "vitad"):
        cfg = from_dict(TrainConfig, {
            **common, "model": model, "encoder_run": str(ft.run_dir),
            "optim": {"total_iters": 80, "warmup_iters": 10},
            model: {"image_size": SIZE}})
        res = train_class(cache, "LC", cfg, folder / model, log=quiet)
        assert res.status == "finished"
        out[model] = evaluate_run(folder / model, cache, split="test", device="cpu")["metrics"]
    return out


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="known gap: detectors at chance at this budget (seed 5: P-AUROC 0.52 / 0.54)")
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

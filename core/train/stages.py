"""Training one class into a run folder (encoder fine-tuning, Dinomaly, ViTAD), and evaluating it.

This is what ``bearing-inspect finetune-encoder / train / evaluate`` and the GUI's training panel
call. One :class:`TrainConfig` describes a training completely; it is saved in the run folder, so
``--resume`` continues with exactly the same settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from core.config import from_dict, param, to_dict
from core.device import autocast, resolve_device
from core.errors import BearingError, InputError
from core.io.cache import open_cache
from core.metrics import evaluate as evaluate_metrics
from core.metrics import f1_optimal_threshold, pixel_curves
from core.models import (Dinomaly, DinomalyConfig, EncoderConfig, FineTuneConfig, FineTuneModel, ViTAD,
                         ViTADConfig, create_encoder, load_model, read_meta, save_encoder, save_model,
                         task_for_epoch, vitad_image_size)
from core.models.serialize import model_paths
from core.train.checkpoint import checkpoint_iteration
from core.train.data import (ArraySet, finetune_plan, make_batch, mask_to_size, rotation_angles, shard,
                             stream_indices, to_model_input)
from core.train.datasource import class_arrays
from core.train.distributed import is_main_process
from core.train.engine import ProgressEvent, run_training_loop
from core.train.optim import OptimConfig, StableAdamW, warm_cosine_lr
from core.train.runs import Run, RunRecord

MODELS = ("dinomaly", "vitad", "finetune")
ROTATED_CLASSES = ("LC", "SC")   # end faces: rotation-invariant; the OD side view is not


def _finetune_optim() -> OptimConfig:
    # Fine-tuning a pre-trained encoder with the detectors' 2e-3 would wash out its features;
    # the paper gives no value, so a conservative 1e-4 -> 1e-5 (our choice, tunable).
    return OptimConfig(lr=1e-4, final_lr=1e-5, warmup_iters=50, grad_clip_norm=1.0)


@dataclass
class TrainConfig:
    """One training: which model, which encoder, and every hyper-parameter (paper's defaults)."""

    model: str = param("dinomaly", "what to train: a detector (dinomaly, vitad) or the encoder "
                       "fine-tuning (finetune)", choices=MODELS, group="training")
    encoder: EncoderConfig = param(default_factory=EncoderConfig, help="the pre-trained encoder")
    encoder_run: str = param("", "fine-tuned encoder to use instead of the pre-trained one: a "
                             "finetune run folder or its encoder.safetensors (empty: pre-trained)",
                             group="encoder")
    optim: OptimConfig = param(default_factory=OptimConfig, help="detector optimiser and schedule")
    finetune_optim: OptimConfig = param(default_factory=_finetune_optim,
                                        help="fine-tuning optimiser (its total_iters is set by the epochs)")
    batch_size: int = param(16, "samples per iteration (all processes together)", min=1, max=1024,
                            group="training")
    epochs: int = param(40, "fine-tuning epochs (20 reconstruction-only, then alternating every 5)",
                        unit="epochs", min=1, group="training")
    rotation_deg: float = param(15.0, "random rotation augmentation for LC and SC (OD: none)",
                                unit="deg", min=0.0, max=180.0, group="training")
    seed: int = param(0, "random seed (data order, augmentation, dropout, initialisation)", min=0,
                      group="training")
    device: str = param("auto", "auto (CUDA if present), cpu, cuda or cuda:K", group="training")
    amp: bool = param(True, "bf16 autocast on CUDA (ignored on the CPU)", group="training",
                      advanced=True)
    checkpoint_every: int = param(250, "save a resumable checkpoint every this many iterations",
                                  unit="iterations", min=0, group="training", advanced=True)
    dinomaly: DinomalyConfig = param(default_factory=DinomalyConfig, help="Dinomaly settings")
    vitad: ViTADConfig = param(default_factory=ViTADConfig, help="ViTAD settings")
    finetune: FineTuneConfig = param(default_factory=FineTuneConfig, help="fine-tuning settings")

    def model_config(self):
        return {"dinomaly": self.dinomaly, "vitad": self.vitad, "finetune": self.finetune}[self.model]


@dataclass
class TrainOutcome:
    run_dir: Path
    status: str                      # finished | cancelled | failed
    iterations: int
    message: str = ""
    image_size: int = 0
    notes: list[str] = field(default_factory=list)


# -- building --------------------------------------------------------------------------------------
def finetuned_encoder_file(path: str | Path, cls: str) -> Path:
    """The encoder file of a fine-tuning run: ``path`` itself, ``path/encoder``, or ``path/<cls>/encoder``."""
    path = Path(path)
    if path.suffix in (".safetensors", ".json"):
        return model_paths(path)[0]
    for cand in (path / "encoder", path / cls / "encoder"):
        st, js = model_paths(cand)
        if st.is_file() and js.is_file():
            return st
    raise InputError(path, f"has no fine-tuned encoder for {cls} (looked for encoder.safetensors and "
                     f"{cls}/encoder.safetensors)", "run 'bearing-inspect finetune-encoder' first, or "
                     "leave --encoder out to use the pre-trained encoder")


def build_encoder(cfg: TrainConfig, cls: str):
    if cfg.encoder_run:
        st = finetuned_encoder_file(cfg.encoder_run, cls)
        backbone = read_meta(st).get("encoder", {}).get("backbone", cfg.encoder.backbone)
        return create_encoder(backbone, st)
    return create_encoder(cfg.encoder.backbone, cfg.encoder.weights)


def image_size_for(cfg: TrainConfig, patch_size: int) -> tuple[int, str]:
    """The model input side actually used, and a note when it had to be rounded to the patch size."""
    want = cfg.model_config().image_size
    size = vitad_image_size(want, patch_size)
    note = "" if size == want else (f"input size {want} is not a multiple of the encoder's patch size "
                                    f"{patch_size}; using {size}")
    return size, note


def build_model(cfg: TrainConfig, encoder, image_size: int) -> nn.Module:
    mcfg = replace(cfg.model_config(), image_size=image_size)
    return {"dinomaly": Dinomaly, "vitad": ViTAD, "finetune": FineTuneModel}[cfg.model](encoder, mcfg)


class _Step(nn.Module):
    """The engine's step protocol over a model's ``forward`` + ``loss``."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, batch: dict, iteration: int):
        if isinstance(self.model, FineTuneModel):
            out = self.model(batch["image"], task=batch["task"])
        else:
            out = self.model(batch["image"])
        return self.model.loss(out, batch, iteration)


# -- training -------------------------------------------------------------------------------------
def train_class(cache_path: str | Path, cls: str, cfg: TrainConfig, run_dir: str | Path, *,
                resume: bool = False, progress: Callable[[ProgressEvent], None] | None = None,
                cancel: Callable[[], bool] | None = None, log: Callable[[str], None] = print,
                device: torch.device | None = None) -> TrainOutcome:
    """Train ``cfg.model`` on class ``cls`` of the cache into ``run_dir`` (or continue it with ``resume``)."""
    run = Run(run_dir)
    main = is_main_process()
    if resume:
        rec = run.load_record()
        cfg = from_dict(TrainConfig, rec.config["train"])
        if rec.status == "finished":
            return TrainOutcome(run.folder, "finished", 0, "already finished; nothing to resume")
    device = device or resolve_device(cfg.device)
    torch.manual_seed(cfg.seed)
    encoder = build_encoder(cfg, cls)
    size, note = image_size_for(cfg, encoder.patch_size)
    notes = [note] if note else []
    if encoder.is_random:
        notes.append("the encoder has RANDOM weights (no pre-training): fine for tests and demos, "
                     "not for real inspection")
    model = build_model(cfg, encoder, size)

    with open_cache(cache_path) as cache:
        preprocess_cfg = cache.config.get(cls, {}) if isinstance(cache.config, dict) else {}
        fp = cache.fingerprint
        cache_size = cache.size
        normal = class_arrays(cache, cls, split="train", label=0)
        abnormal = class_arrays(cache, cls, split="train", label=1) if cfg.model == "finetune" else None
    if len(normal) == 0:
        raise BearingError(f"{cache_path}: no good {cls} training samples to train on")
    rot = cfg.rotation_deg if cls in ROTATED_CLASSES else 0.0

    if cfg.model == "finetune":
        ocfg = cfg.finetune_optim
        plan = finetune_plan(len(normal), len(abnormal), cfg.epochs, cfg.batch_size, cfg.seed,
                             lambda e: task_for_epoch(e, cfg.finetune))
        total = len(plan)
        # a short fine-tuning (few samples, few epochs) must still reach its peak rate
        ocfg = replace(ocfg, warmup_iters=min(ocfg.warmup_iters, max(1, total // 5)))

        def batch_at(it: int, rank: int, world: int) -> dict:
            step = plan[it]
            data = normal if step.phase == "reconstruction" else abnormal
            angles = rotation_angles(len(step.indices), rot, cfg.seed, it)
            idx = np.arange(len(step.indices))
            mine = shard(idx, rank, world)
            b = make_batch(data, step.indices[mine], size, angles[mine])
            b["task"] = step.phase
            return b

        def phase_at(it: int) -> str:
            return plan[it].phase
    else:
        ocfg = cfg.optim
        total = ocfg.total_iters

        def batch_at(it: int, rank: int, world: int) -> dict:
            idx = stream_indices(len(normal), cfg.batch_size, it, cfg.seed)
            angles = rotation_angles(len(idx), rot, cfg.seed, it)
            pos = shard(np.arange(len(idx)), rank, world)
            return make_batch(normal, idx[pos], size, angles[pos])

        phase_at = None

    def lr_at(it: int) -> float:
        return warm_cosine_lr(it, ocfg.lr, ocfg.final_lr, ocfg.warmup_iters, total, ocfg.warmup_start_lr)

    optimizer = StableAdamW.from_config(model.trainable_parameters(), ocfg)
    if main:
        if resume:
            rec = run.load_record()
            rec.message = ""
            run.save_record(rec)
        else:
            config = {"train": to_dict(cfg), "preprocess": preprocess_cfg, "image_size": size,
                      "cache": str(Path(cache_path).resolve()), "cache_size": cache_size, "total_iters": total,
                      "train_samples": {"good": len(normal), "defect": 0 if abnormal is None else len(abnormal)}}
            Run.create(run.folder, RunRecord(kind=cfg.model, cls=cls, config=config, encoder=encoder.describe()
                                             | {"random_weights": encoder.is_random}, dataset_fingerprint=fp))
        run.set_status("running")
    start_note = "resuming" if resume else "training"
    for n in notes:
        log(f"note: {n}")
    log(f"{start_note} {cfg.model} on {cls}: {len(normal)} good"
        + (f" + {len(abnormal)} defect" if abnormal is not None else "")
        + f" samples, {total} iterations, input {size} px, device {device}")

    buffer: list[dict] = []

    def on_progress(ev: ProgressEvent) -> None:
        buffer.append({"iteration": ev.iteration, "lr": ev.lr, "phase": ev.phase, **ev.losses})
        if len(buffer) >= 10 or ev.iteration == ev.total:
            run.append_history(buffer)
            buffer.clear()
        if progress is not None:
            progress(ev)

    step = _Step(model)
    try:
        if resume and main:
            it0 = checkpoint_iteration(run.checkpoint_dir)
            if it0 is None:
                raise BearingError(f"{run.folder}: no checkpoint to resume from; start the run again without --resume")
            run.truncate_history(it0)
        result = run_training_loop(
            step, optimizer, lr_at, batch_at, total, device=device, seed=cfg.seed,
            grad_clip=ocfg.grad_clip_norm, amp=cfg.amp, checkpoint_dir=run.checkpoint_dir,
            checkpoint_every=cfg.checkpoint_every, resume=resume,
            progress=on_progress if main else None, cancel=cancel, phase_at=phase_at,
            find_unused_parameters=cfg.model == "finetune")  # each task leaves the other head unused
    except BaseException as exc:
        if main:
            if buffer:
                run.append_history(buffer)
            run.set_status("failed" if not isinstance(exc, KeyboardInterrupt) else "cancelled", str(exc))
        raise
    if main:
        if buffer:
            run.append_history(buffer)
        if result.status == "finished":
            save_model(model, run.folder / "model")
            if cfg.model == "finetune":
                save_encoder(model.finetuned_encoder(), run.folder / "encoder", finetuned_from=cfg.encoder.weights,
                             cls=cls)
        run.set_status(result.status, "" if result.status == "finished" else "cancelled; --resume continues")
    return TrainOutcome(run.folder, result.status, result.iteration, image_size=size, notes=notes)


# -- inference and evaluation ----------------------------------------------------------------------
@torch.no_grad()
def predict_arrays(model: nn.Module, data: ArraySet, image_size: int, device: torch.device,
                   batch_size: int = 8, progress: Callable[[int, int], None] | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Image scores (N,) and anomaly maps (N, S, S) float32 at the model input size."""
    model.to(device).eval()
    scores, maps = [], []
    for s in range(0, len(data), batch_size):
        x = to_model_input(data.images[s:s + batch_size], image_size).to(device)
        with autocast(device):
            m, sc = model.anomaly_map(x)
        maps.append(m.float().cpu().numpy())
        scores.append(sc.float().cpu().numpy())
        if progress:
            progress(min(s + batch_size, len(data)), len(data))
    return np.concatenate(scores), np.concatenate(maps)


def evaluate_run(run_dir: str | Path, cache_path: str | Path, split: str = "test", device: str = "auto",
                 batch_size: int = 8, progress: Callable[[int, int], None] | None = None) -> dict:
    """The seven metrics of a trained detector on ``split``; saved to ``RUN/metrics.json`` and returned.

    The result also holds the F1-optimal image threshold (``score >= threshold`` is NG) and every
    sample's key, label and score, for the results browser and reports.
    """
    run = Run(run_dir)
    rec = run.load_record()
    if rec.kind not in ("dinomaly", "vitad"):
        raise BearingError(f"{run.folder}: a {rec.kind} run is an encoder, not a detector; train Dinomaly or "
                           "ViTAD with --encoder pointing at it, then evaluate that run")
    if rec.status != "finished":
        raise BearingError(f"{run.folder}: the run is {run.effective_status()}; finish it first (--resume)")
    dev = resolve_device(device)
    model = load_model(run.folder / "model", device=dev)
    size = int(rec.config.get("image_size", model.config.image_size))
    with open_cache(cache_path) as cache:
        data = class_arrays(cache, rec.cls, split=split)
    if len(data) == 0:
        raise BearingError(f"{cache_path}: no {rec.cls} samples in the {split} split")
    scores, maps = predict_arrays(model, data, size, dev, batch_size, progress)
    masks = mask_to_size(data.masks, size)[:, 0].numpy().astype(bool)
    metrics = evaluate_metrics(scores, data.labels, maps, masks, undefined="nan")
    curves = pixel_curves(maps, masks, max_points=400)  # thinned, for plots in the app and reports
    try:
        threshold, _ = f1_optimal_threshold(scores, data.labels)
    except BearingError:
        threshold = float("nan")
    out = {"class": rec.cls, "split": split, "map_size": size, "metrics": metrics,
           "image_threshold": float(threshold), "random_weights": rec.random_weights,
           "pixel_curves": {name: [round(float(v), 6) for v in getattr(curves, name)]
                            for name in ("fpr", "tpr", "precision", "pro")},
           "samples": [{"key": k, "label": int(l), "score": float(s)}
                       for k, l, s in zip(data.keys, data.labels, scores)]}
    run.save_metrics(out)
    return out

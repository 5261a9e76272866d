"""Multi-task encoder fine-tuning (the paper's contribution, method.md section 2).

``EN_pre`` is a frozen copy of the pre-trained encoder; ``EN_pre_train`` is the trainable encoder
that later replaces ``EN_pre`` inside Dinomaly or ViTAD. Two tasks share ``EN_pre_train``:

- reconstruction (normal samples): ``L_RC = w_P * L_P + w_MSE * L_MSE`` with ``L_P = sum over
  ssim_layers of (1 - SSIM(EN_pre, EN_pre_train))`` on the raw block outputs as feature maps
  (paper: blocks {11, 12} of 12 = 0-based 10, 11) and ``L_MSE`` the pixel MSE between the
  reconstruction head's image and the (normalised) input;
- patch classification (abnormal samples with masks): mean cross entropy of the patch head's
  per-token logits against labels from the masks (:mod:`core.models.patch_labels`).

Both heads read the patch tokens of ``head_layer`` (the last block by default). The encoder's
forward is *not* wrapped in ``no_grad`` (upstream Dinomaly's encoder forward is, which would
silently stop this training).

Schedule (:func:`task_for_epoch`): reconstruction only for the first ``reconstruction_epochs``
(20), then the tasks alternate every ``alternate_every`` (5) epochs, starting with the patch task.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from core.config import ConfigError, param
from core.models.encoder import ViTEncoder, tokens_to_map
from core.models.heads import PatchHead, ReconstructionHead
from core.models.losses import feature_ssim_loss, patch_cross_entropy
from core.models.patch_labels import PatchLabelConfig, patch_labels

TASKS = ("reconstruction", "patch")


@dataclass
class FineTuneConfig:
    """Multi-task fine-tuning of the encoder (defaults: the paper's where it gives them)."""

    image_size: int = param(448, "model input side (a multiple of the encoder's patch size)",
                            unit="px", min=14, max=2048, group="fine-tuning")
    ssim_layers: tuple[int, ...] = param((10, 11), "encoder blocks (0-based) compared by the SSIM "
                                         "feature loss (paper: 11 and 12 of 12)", min=0,
                                         group="fine-tuning")
    head_layer: int = param(11, "encoder block (0-based) whose patch tokens feed both heads", min=0,
                            group="fine-tuning", advanced=True)
    weight_perceptual: float = param(1.0, "weight of L_P (1 - SSIM of features)", min=0.0,
                                     group="fine-tuning")
    weight_mse: float = param(1.0, "weight of the pixel MSE of the reconstruction", min=0.0,
                              group="fine-tuning")
    weight_patch: float = param(1.0, "weight of the patch cross entropy", min=0.0,
                                group="fine-tuning")
    ssim_sigma: float = param(1.5, "Gaussian window sigma of the feature SSIM", unit="patches",
                              min=0.1, max=8.0, group="fine-tuning", advanced=True)
    ssim_radius: int = param(5, "Gaussian window radius of the feature SSIM", unit="patches",
                             min=1, max=32, group="fine-tuning", advanced=True)
    reconstruction_epochs: int = param(20, "epochs of reconstruction only at the start",
                                       unit="epochs", min=0, group="fine-tuning")
    alternate_every: int = param(5, "after that, the tasks alternate every this many epochs",
                                 unit="epochs", min=1, group="fine-tuning")
    patch_class_balance: bool = param(False, "weigh dent and normal patches equally in the patch loss "
                                      "(dents cover ~1% of patches); the paper uses the plain mean",
                                      group="fine-tuning", advanced=True)
    patch_labels: PatchLabelConfig = param(default_factory=PatchLabelConfig,
                                           help="how masks become patch labels")


def task_for_epoch(epoch: int, cfg: FineTuneConfig | None = None) -> str:
    """The task trained in 0-based ``epoch``: reconstruction, then alternating from the patch task."""
    cfg = cfg or FineTuneConfig()
    if epoch < cfg.reconstruction_epochs:
        return "reconstruction"
    block = (epoch - cfg.reconstruction_epochs) // cfg.alternate_every
    return "patch" if block % 2 == 0 else "reconstruction"


class FineTuneModel(nn.Module):
    """Frozen ``EN_pre`` + trainable ``EN_pre_train`` + reconstruction and patch heads."""

    kind = "finetune"

    def __init__(self, encoder: ViTEncoder, config: FineTuneConfig | None = None) -> None:
        super().__init__()
        cfg = config or FineTuneConfig()
        for name, layers in (("ssim_layers", cfg.ssim_layers), ("head_layer", (cfg.head_layer,))):
            if not layers or min(layers) < 0 or max(layers) >= encoder.depth:
                raise ConfigError(f"{name}: blocks must lie in 0..{encoder.depth - 1}")
        encoder.grid(cfg.image_size, cfg.image_size)
        self.config = cfg
        self.frozen = copy.deepcopy(encoder)                    # EN_pre
        for p in self.frozen.parameters():
            p.requires_grad_(False)
        self.frozen.eval()
        self.encoder = encoder                                 # EN_pre_train
        for p in self.encoder.parameters():
            p.requires_grad_(True)
        self.reconstruction_head = ReconstructionHead(encoder.embed_dim, encoder.patch_size)
        self.patch_head = PatchHead(encoder.embed_dim)
        self.task = "reconstruction"

    def train(self, mode: bool = True) -> "FineTuneModel":
        super().train(mode)
        self.frozen.eval()
        return self

    def set_epoch(self, epoch: int) -> str:
        """Select the task of ``epoch`` from the schedule; returns it."""
        self.task = task_for_epoch(epoch, self.config)
        return self.task

    def trainable_parameters(self) -> list[nn.Parameter]:
        return [*self.encoder.parameters(), *self.reconstruction_head.parameters(),
                *self.patch_head.parameters()]

    def finetuned_encoder(self) -> ViTEncoder:
        """``EN_pre_train``, to save (:func:`core.models.serialize.save_encoder`) and reuse."""
        return self.encoder

    def forward(self, x: torch.Tensor, task: str | None = None) -> dict:
        task = task or self.task
        if task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {task!r}")
        cfg = self.config
        grid = self.encoder.grid(x.shape[-2], x.shape[-1])
        if task == "patch":
            tokens = self.encoder(x, [cfg.head_layer])[0]
            return {"task": task, "logits": self.patch_head(self.encoder.patch_tokens(tokens)),
                    "grid": grid}
        layers = sorted(set(cfg.ssim_layers) | {cfg.head_layer})
        feats = dict(zip(layers, self.encoder(x, layers)))
        with torch.no_grad():
            targets = self.frozen(x, cfg.ssim_layers)
        to_map = lambda t: tokens_to_map(self.encoder.patch_tokens(t), grid)  # noqa: E731
        return {"task": task,
                "target_maps": [to_map(t.detach()) for t in targets],
                "maps": [to_map(feats[i]) for i in cfg.ssim_layers],
                "reconstruction": self.reconstruction_head(
                    self.encoder.patch_tokens(feats[cfg.head_layer]), grid),
                "grid": grid}

    def loss(self, outputs: dict, batch: dict, iteration: int = 0
             ) -> tuple[torch.Tensor, dict[str, float]]:
        """``batch["image"]`` (the forward's input) for reconstruction, ``batch["mask"]`` for patches."""
        cfg = self.config
        if outputs["task"] == "patch":
            if "mask" not in batch:
                raise ValueError("the patch task needs batch['mask'] (B, H, W) at the input size")
            labels = patch_labels(batch["mask"], self.encoder.patch_size, cfg.patch_labels)
            ce = patch_cross_entropy(outputs["logits"], labels.to(outputs["logits"].device),
                                     class_balanced=cfg.patch_class_balance)
            total = cfg.weight_patch * ce
            return total, {"patch_ce": float(ce.detach()), "total": float(total.detach())}
        lp = feature_ssim_loss(outputs["target_maps"], outputs["maps"], sigma=cfg.ssim_sigma,
                               radius=cfg.ssim_radius)
        mse = F.mse_loss(outputs["reconstruction"].float(), batch["image"].float())
        total = cfg.weight_perceptual * lp + cfg.weight_mse * mse
        return total, {"perceptual": float(lp.detach()), "mse": float(mse.detach()),
                       "total": float(total.detach())}

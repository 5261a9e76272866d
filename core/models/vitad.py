"""ViTAD (Zhang et al., 2024), following the official code in zhangzjn/ADer (``model/vitad.py``).

Frozen encoder: patch tokens (CLS/registers dropped) of blocks ``teacher_layers`` (3, 6, 9 in
1-based counting, 0-based 2, 5, 8) are the targets; the last block (``neck_layers``, 0-based 11)
goes through a linear fusion layer into a 9-block ViT decoder (softmax attention, LayerNorm eps
1e-6, a learnable position embedding of the configured grid, resampled bicubic for another input
size). Decoder outputs after blocks 3, 6, 9 are reversed, so the pairs are (encoder 3, decoder 9),
(6, 6), (9, 3).

Loss: per pair the global cosine of each sample's whole flattened map, summed over pairs.
Anomaly map: mean over pairs of ``1 - cos`` upsampled bilinear (``align_corners=True``) to the input
size (ADer divides the sum by 9, a pure scale that changes no metric), Gaussian blur sigma 4
(truncate 4, reflect: scipy's ``gaussian_filter`` as upstream). Image score: the maximum of the
16 x 16 average-pooled map (stride 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import torch
from torch import nn

from core.config import ConfigError, param
from core.models.encoder import ViTEncoder, tokens_to_map
from core.models.anomaly_map import blurred_distance_maps, pooled_max  # noqa: F401 (re-export)
from core.models.losses import global_cosine


@dataclass
class ViTADConfig:
    """ViTAD's architecture and scoring (defaults: the official code's)."""

    image_size: int = param(256, "model input side (a multiple of the encoder's patch size; 252 "
                            "for a patch-14 encoder)", unit="px", min=14, max=2048, group="ViTAD")
    teacher_layers: tuple[int, ...] = param((2, 5, 8), "encoder blocks (0-based) used as targets",
                                            min=0, group="ViTAD", advanced=True)
    neck_layers: tuple[int, ...] = param((11,), "encoder blocks (0-based) fed to the decoder",
                                         min=0, group="ViTAD", advanced=True)
    decoder_depth: int = param(9, "decoder blocks", min=1, max=24, group="ViTAD", advanced=True)
    student_layers: tuple[int, ...] = param((2, 5, 8), "decoder blocks (0-based) whose outputs, "
                                            "reversed, pair with the targets", min=0,
                                            group="ViTAD", advanced=True)
    mlp_ratio: float = param(4.0, "decoder MLP width / embedding width", min=1.0, max=8.0,
                             group="ViTAD", advanced=True)
    blur_sigma: float = param(4.0, "Gaussian blur of the anomaly map", unit="px", min=0.1,
                              max=32.0, group="ViTAD")
    pool_size: int = param(16, "image score = max of the map average-pooled over this window",
                           unit="px", min=1, max=256, group="ViTAD")


def vitad_image_size(requested: int, patch_size: int) -> int:
    """``requested`` rounded to the nearest multiple of ``patch_size`` (256 -> 252 for /14)."""
    return max(patch_size, int(round(requested / patch_size)) * patch_size)


class ViTAD(nn.Module):
    """Frozen ViT encoder + linear fusion + ViT decoder (see the module docstring)."""

    kind = "vitad"

    def __init__(self, encoder: ViTEncoder, config: ViTADConfig | None = None) -> None:
        super().__init__()
        from timm.models.vision_transformer import Block

        cfg = config or ViTADConfig()
        if len(cfg.teacher_layers) != len(cfg.student_layers):
            raise ConfigError("teacher_layers and student_layers must have the same length")
        for name, layers, depth in (("teacher_layers", cfg.teacher_layers, encoder.depth),
                                    ("neck_layers", cfg.neck_layers, encoder.depth),
                                    ("student_layers", cfg.student_layers, cfg.decoder_depth)):
            if not layers or min(layers) < 0 or max(layers) >= depth:
                raise ConfigError(f"{name}: blocks must lie in 0..{depth - 1}")
        self.config = cfg
        self.encoder = encoder
        for p in self.encoder.parameters():
            p.requires_grad_(False)
        dim = encoder.embed_dim
        self.grid = encoder.grid(cfg.image_size, cfg.image_size)
        self.fusion = nn.Linear(dim * len(cfg.neck_layers), dim)   # PyTorch default init, as ADer
        self.pos_embed = nn.Parameter(torch.zeros(1, self.grid[0] * self.grid[1], dim))
        self.blocks = nn.ModuleList(
            Block(dim, encoder.num_heads, mlp_ratio=cfg.mlp_ratio, qkv_bias=True,
                  norm_layer=partial(nn.LayerNorm, eps=1e-6))
            for _ in range(cfg.decoder_depth))
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        for m in self.blocks.modules():                              # timm's ViT init
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        self.encoder.eval()

    def train(self, mode: bool = True) -> "ViTAD":
        super().train(mode)
        self.encoder.eval()
        return self

    def trainable_parameters(self) -> list[nn.Parameter]:
        return [*self.fusion.parameters(), self.pos_embed, *self.blocks.parameters()]

    def _pos_embed_for(self, grid: tuple[int, int]) -> torch.Tensor:
        if grid == self.grid:
            return self.pos_embed
        from timm.layers import resample_abs_pos_embed

        return resample_abs_pos_embed(self.pos_embed, list(grid), list(self.grid), num_prefix_tokens=0)

    def forward(self, x: torch.Tensor) -> dict:
        """``{"encoder": [maps], "decoder": [maps], "size": (H, W)}``, one ``(B, C, h, w)`` map per pair."""
        cfg = self.config
        grid = self.encoder.grid(x.shape[-2], x.shape[-1])
        layers = list(cfg.teacher_layers) + list(cfg.neck_layers)
        with torch.no_grad():
            feats = [self.encoder.patch_tokens(f).detach() for f in self.encoder(x, layers)]
        targets = [tokens_to_map(f, grid) for f in feats[: len(cfg.teacher_layers)]]
        h = self.fusion(torch.cat(feats[len(cfg.teacher_layers):], dim=2))
        h = h + self._pos_embed_for(grid)
        wanted = set(cfg.student_layers)
        students = []
        for i, block in enumerate(self.blocks[: max(wanted) + 1]):
            h = block(h)
            if i in wanted:
                students.append(tokens_to_map(h, grid))
        return {"encoder": targets, "decoder": students[::-1], "size": (x.shape[-2], x.shape[-1])}

    def loss(self, outputs: dict, batch: dict | None = None, iteration: int = 0
             ) -> tuple[torch.Tensor, dict[str, float]]:
        total = global_cosine(outputs["encoder"], outputs["decoder"])
        return total, {"cosine": float(total.detach())}

    def anomaly_map(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Blurred maps ``(B, H, W)`` at the input resolution and image scores ``(B,)`` (float32)."""
        maps = blurred_distance_maps(self, x, self.config.blur_sigma)
        return maps, pooled_max(maps, self.config.pool_size)

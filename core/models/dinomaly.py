"""Dinomaly (Guo et al., CVPR 2025), following the official code (guojiajeremy/Dinomaly).

Frozen encoder -> mean of the raw outputs of blocks ``target_layers`` (2..9, CLS and registers
included) -> noisy MLP bottleneck (dropout 0.2 on its input, after the GELU and after fc2) -> 8
pre-norm decoder blocks with linear attention (elu + 1 kernel, no softmax, an ``eps`` in the
normaliser that upstream suggests for NaN-prone data, LayerNorm eps 1e-8, no position embedding).
Decoder outputs are reversed before grouping, so with groups ``[[0..3], [4..7]]`` encoder group 0
(mean of blocks 2-5) pairs with the mean of decoder blocks 7..4 and encoder group 1 (blocks 6-9)
with decoder blocks 3..0. CLS/register tokens are dropped only after grouping.

Loss: global cosine with hard mining (:func:`core.models.losses.global_cosine_hard_mining`),
``p = min(0.9 * it / 1000, 0.9)``, easy points' gradient x 0.1.

Anomaly map: mean over groups of ``1 - cos``, upsampled bilinear (``align_corners=True``) to the
input size, then a Gaussian blur with sigma 4. Our blur is a true Gaussian (radius 16 = 33 x 33
taps, reflect borders, as scipy / ViTAD); the official Dinomaly evaluation uses a 5 x 5 kernel with
sigma 4 and zero padding, which is nearly a box filter and darkens the border (where bearing
defects can sit). The map stays at the model input resolution (upstream scores a 256 x 256
resize). Image score = mean of the top 1% of the blurred map.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from core.config import ConfigError, param
from core.models.encoder import ViTEncoder, tokens_to_map
from core.models.anomaly_map import blurred_distance_maps, top_fraction_mean  # noqa: F401 (re-export)
from core.models.losses import global_cosine_hard_mining, hard_mining_fraction


@dataclass
class DinomalyConfig:
    """Dinomaly's architecture, loss and scoring (defaults: the official code's)."""

    image_size: int = param(448, "model input side (a multiple of the encoder's patch size)",
                            unit="px", min=14, max=2048, group="Dinomaly")
    target_layers: tuple[int, ...] = param((2, 3, 4, 5, 6, 7, 8, 9),
                                           "encoder blocks (0-based) fused into the bottleneck",
                                           min=0, group="Dinomaly", advanced=True)
    fuse_groups: tuple[tuple[int, ...], ...] = param(
        ((0, 1, 2, 3), (4, 5, 6, 7)), "groups of target/decoder positions averaged for the loss "
        "and the map", min=0, group="Dinomaly", advanced=True)
    bottleneck_dropout: float = param(0.2, "dropout of the noisy bottleneck (3 places)", min=0.0,
                                      max=0.9, step=0.05, group="Dinomaly")
    mlp_ratio: float = param(4.0, "hidden width of bottleneck and decoder MLPs / embedding width",
                             min=1.0, max=8.0, group="Dinomaly", advanced=True)
    attention_eps: float = param(1e-6, "epsilon in the linear-attention normaliser", min=0.0,
                                 group="Dinomaly", advanced=True)
    hard_mining_final: float = param(0.9, "share of points treated as easy once the ramp is done",
                                     min=0.0, max=0.99, group="Dinomaly", advanced=True)
    hard_mining_ramp_iters: int = param(1000, "iterations over which the easy share ramps from 0",
                                        unit="iterations", min=0, group="Dinomaly", advanced=True)
    easy_grad_factor: float = param(0.1, "gradient factor of easy points", min=0.0, max=1.0,
                                    group="Dinomaly", advanced=True)
    blur_sigma: float = param(4.0, "Gaussian blur of the anomaly map", unit="px", min=0.1, max=32.0,
                              group="Dinomaly")
    top_fraction: float = param(0.01, "image score = mean of this top share of map pixels",
                                min=0.0, max=1.0, group="Dinomaly")


class NoisyBottleneck(nn.Module):
    """MLP with dropout on its input, after the activation and on its output."""

    def __init__(self, dim: int, hidden: int, drop: float) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)
        self.drop = nn.Dropout(drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.drop(x)
        x = self.drop(self.act(self.fc1(x)))
        return self.drop(self.fc2(x))


class LinearAttention(nn.Module):
    """``out = phi(q) (phi(k)^T v) / (phi(q) . sum phi(k) + eps)`` with ``phi = elu + 1``, per head."""

    def __init__(self, dim: int, num_heads: int, eps: float = 1e-6) -> None:
        super().__init__()
        if dim % num_heads:
            raise ConfigError(f"decoder width {dim} is not divisible by {num_heads} heads")
        self.num_heads = num_heads
        self.eps = eps
        self.qkv = nn.Linear(dim, dim * 3, bias=True)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.num_heads, c // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]                      # (B, heads, N, d)
        q, k = F.elu(q) + 1.0, F.elu(k) + 1.0
        kv = k.transpose(-2, -1) @ v                           # (B, heads, d, d)
        norm = q @ k.sum(dim=-2, keepdim=True).transpose(-2, -1)   # (B, heads, N, 1)
        out = (q @ kv) / (norm + self.eps)
        return self.proj(out.transpose(1, 2).reshape(b, n, c))


class LinearAttentionBlock(nn.Module):
    """Pre-norm transformer block: x + attn(norm(x)); x + mlp(norm(x)); no LayerScale, no dropout."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float, eps: float) -> None:
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.norm1 = nn.LayerNorm(dim, eps=1e-8)
        self.attn = LinearAttention(dim, num_heads, eps)
        self.norm2 = nn.LayerNorm(dim, eps=1e-8)
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.fc2(self.act(self.fc1(self.norm2(x))))


def _init_like_upstream(module: nn.Module) -> None:
    # Official Dinomaly: trunc_normal(std 0.01, [-0.03, 0.03]) Linear weights, zero biases, LN 1/0.
    if isinstance(module, nn.Linear):
        nn.init.trunc_normal_(module.weight, std=0.01, a=-0.03, b=0.03)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


class Dinomaly(nn.Module):
    """Frozen encoder + noisy bottleneck + linear-attention decoder (see the module docstring)."""

    kind = "dinomaly"

    def __init__(self, encoder: ViTEncoder, config: DinomalyConfig | None = None) -> None:
        super().__init__()
        cfg = config or DinomalyConfig()
        n = len(cfg.target_layers)
        used = sorted(i for g in cfg.fuse_groups for i in g)
        if not used or min(used) < 0 or max(used) >= n:
            raise ConfigError(f"fuse_groups: positions must lie in 0..{n - 1} (one per target layer)")
        for layer in cfg.target_layers:
            if not 0 <= layer < encoder.depth:
                raise ConfigError(f"target_layers: block {layer} does not exist in {encoder.backbone} "
                                  f"(blocks 0..{encoder.depth - 1})")
        encoder.grid(cfg.image_size, cfg.image_size)          # checks the patch-size multiple
        self.config = cfg
        self.encoder = encoder
        for p in self.encoder.parameters():
            p.requires_grad_(False)
        dim = encoder.embed_dim
        self.bottleneck = NoisyBottleneck(dim, int(dim * cfg.mlp_ratio), cfg.bottleneck_dropout)
        self.decoder = nn.ModuleList(
            LinearAttentionBlock(dim, encoder.num_heads, cfg.mlp_ratio, cfg.attention_eps)
            for _ in range(n))
        self.bottleneck.apply(_init_like_upstream)
        self.decoder.apply(_init_like_upstream)
        self.encoder.eval()

    def train(self, mode: bool = True) -> "Dinomaly":
        super().train(mode)
        self.encoder.eval()                                    # frozen: always in eval mode
        return self

    def trainable_parameters(self) -> list[nn.Parameter]:
        return [*self.bottleneck.parameters(), *self.decoder.parameters()]

    def forward(self, x: torch.Tensor) -> dict:
        """``{"encoder": [maps], "decoder": [maps], "size": (H, W)}``, one ``(B, C, h, w)`` map per group."""
        cfg = self.config
        grid = self.encoder.grid(x.shape[-2], x.shape[-1])
        with torch.no_grad():
            feats = [f.detach() for f in self.encoder(x, cfg.target_layers)]
        h = self.bottleneck(torch.stack(feats, dim=1).mean(dim=1))
        decoded = []
        for block in self.decoder:
            h = block(h)
            decoded.append(h)
        decoded = decoded[::-1]

        def group_maps(seq: list[torch.Tensor]) -> list[torch.Tensor]:
            out = []
            for group in cfg.fuse_groups:
                tokens = torch.stack([seq[i] for i in group], dim=1).mean(dim=1)
                out.append(tokens_to_map(self.encoder.patch_tokens(tokens), grid))
            return out

        return {"encoder": group_maps(feats), "decoder": group_maps(decoded),
                "size": (x.shape[-2], x.shape[-1])}

    def loss(self, outputs: dict, batch: dict | None = None, iteration: int = 0
             ) -> tuple[torch.Tensor, dict[str, float]]:
        cfg = self.config
        p = hard_mining_fraction(iteration, cfg.hard_mining_final, cfg.hard_mining_ramp_iters)
        total = global_cosine_hard_mining(outputs["encoder"], outputs["decoder"], p,
                                          cfg.easy_grad_factor)
        return total, {"cosine": float(total.detach()), "hard_mining_p": p}

    def anomaly_map(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Blurred maps ``(B, H, W)`` at the input resolution and image scores ``(B,)`` (float32)."""
        maps = blurred_distance_maps(self, x, self.config.blur_sigma)
        return maps, top_fraction_mean(maps, self.config.top_fraction)

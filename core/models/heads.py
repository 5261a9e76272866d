"""Task heads of the multi-task encoder fine-tuning, both on the encoder's patch tokens.

- :class:`ReconstructionHead` (H_RC): per token a linear map to its ``P x P x 3`` pixel patch, the
  patches put back in place (MAE-style "unpatchify"). Light on purpose: the reconstruction task
  should shape the encoder, not a deep decoder.
- :class:`PatchHead` (H_patch): per token normal/dent logits.

Both start with a LayerNorm because the encoder's raw block outputs (no final norm) have large,
layer-dependent scales.
"""

from __future__ import annotations

import torch
from torch import nn


class ReconstructionHead(nn.Module):
    """Patch tokens ``(B, h*w, C)`` -> image ``(B, out_chans, h*P, w*P)``."""

    def __init__(self, dim: int, patch_size: int, out_chans: int = 3) -> None:
        super().__init__()
        self.patch_size = int(patch_size)
        self.out_chans = int(out_chans)
        self.norm = nn.LayerNorm(dim)
        self.proj = nn.Linear(dim, self.patch_size * self.patch_size * self.out_chans)
        nn.init.trunc_normal_(self.proj.weight, std=0.02)
        nn.init.zeros_(self.proj.bias)

    def forward(self, tokens: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
        b, n, _ = tokens.shape
        h, w = grid
        if n != h * w:
            raise ValueError(f"{n} tokens do not fill a {h}x{w} grid")
        p, c = self.patch_size, self.out_chans
        y = self.proj(self.norm(tokens))                       # (B, h*w, p*p*c)
        y = y.reshape(b, h, w, p, p, c).permute(0, 5, 1, 3, 2, 4)
        return y.reshape(b, c, h * p, w * p)


class PatchHead(nn.Module):
    """Patch tokens ``(B, N, C)`` -> logits ``(B, N, num_classes)`` (class 1 = dent)."""

    def __init__(self, dim: int, num_classes: int = 2) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fc = nn.Linear(dim, num_classes)
        nn.init.trunc_normal_(self.fc.weight, std=0.02)
        nn.init.zeros_(self.fc.bias)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.fc(self.norm(tokens))

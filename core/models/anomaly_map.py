"""From encoder/decoder features to anomaly maps and image scores (shared by Dinomaly and ViTAD)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from core.models.losses import gaussian_blur2d, mean_distance_map


@torch.no_grad()
def blurred_distance_maps(model: nn.Module, x: torch.Tensor, blur_sigma: float) -> torch.Tensor:
    """``model``'s mean (1 - cosine) map over its feature pairs at the input size, Gaussian-blurred.

    ``model.forward(x)`` must return ``{"encoder": [maps], "decoder": [maps], "size": (H, W)}``. Runs
    in eval mode (the mode is restored) and in float32 even under bf16 autocast, since upsampling and
    blurring would otherwise follow the autocast dtype.
    """
    was_training = model.training
    model.eval()
    try:
        out = model.forward(x)
    finally:
        model.train(was_training)
    with torch.autocast(x.device.type, enabled=False):
        maps = mean_distance_map(out["encoder"], out["decoder"], out["size"])
        return gaussian_blur2d(maps.float(), blur_sigma)


def top_fraction_mean(maps: torch.Tensor, fraction: float) -> torch.Tensor:
    """Per map, the mean of its ``fraction`` highest pixels (at least one pixel; 0 -> the max)."""
    flat = maps.flatten(1)
    k = max(1, int(flat.shape[1] * fraction))
    return flat.topk(k, dim=1).values.mean(dim=1)


def pooled_max(maps: torch.Tensor, pool_size: int) -> torch.Tensor:
    """Per map, the maximum of its ``pool_size`` x ``pool_size`` average pooling (stride 1)."""
    k = min(pool_size, maps.shape[-2], maps.shape[-1])
    return F.avg_pool2d(maps.unsqueeze(1), k, stride=1).flatten(1).amax(dim=1)

"""Losses of the fine-tuning task and the detectors, and the Gaussian filter they and the maps share.

- :func:`feature_ssim_loss`: ``sum_l (1 - SSIM(F_pre_l, F_train_l))`` between frozen and trainable
  encoder feature maps (the paper's L_P).
- :func:`global_cosine_hard_mining`: Dinomaly's loss: per group, ``1 - cos`` of each sample's whole
  flattened feature map; the gradient of "easy" points (point-wise cosine distance below the
  ``(1-p)`` quantile over the batch) is scaled by ``easy_grad_factor`` through a backward hook, the
  value is unchanged. :func:`hard_mining_fraction` gives ``p = min(0.9 * it / 1000, 0.9)``.
- :func:`global_cosine`: ViTAD's loss, the same global cosine summed over layer pairs.
- :func:`patch_cross_entropy`: mean cross entropy over patches (label -100 = ignored).

All compute in float32 whatever the input dtype (bf16 autocast safe); targets are detached.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F

IGNORE_INDEX = -100


# -- Gaussian filtering (scipy.ndimage.gaussian_filter semantics) ------------------------------------
def gaussian_kernel1d(sigma: float, truncate: float = 4.0, *, dtype=torch.float32,
                      device=None) -> torch.Tensor:
    """Normalised 1-D Gaussian of radius ``int(truncate * sigma + 0.5)`` (scipy's rule)."""
    if sigma <= 0:
        raise ValueError(f"sigma must be > 0, got {sigma}")
    radius = int(truncate * sigma + 0.5)
    x = torch.arange(-radius, radius + 1, dtype=torch.float64)
    k = torch.exp(-0.5 * (x / sigma) ** 2)
    return (k / k.sum()).to(dtype=dtype, device=device)


def _symmetric_index(n: int, radius: int, device) -> torch.Tensor:
    # Half-sample symmetric extension (d c b a | a b c d | d c b a), scipy's mode="reflect";
    # folding modulo 2n also covers a radius larger than the side.
    idx = torch.arange(-radius, n + radius, device=device) % (2 * n)
    return torch.where(idx >= n, 2 * n - 1 - idx, idx)


def gaussian_blur2d(x: torch.Tensor, sigma: float, truncate: float = 4.0) -> torch.Tensor:
    """Separable Gaussian blur over the last two axes with reflect (symmetric) borders.

    Equals ``scipy.ndimage.gaussian_filter(x, sigma=(0,..,0, sigma, sigma), truncate=truncate,
    mode="reflect")``; sigma 4 -> a 33 x 33 kernel. Accepts (H, W), (B, H, W) or (B, C, H, W).
    """
    shape = x.shape
    if x.ndim < 2:
        raise ValueError(f"need at least 2 dimensions, got shape {tuple(shape)}")
    h, w = shape[-2:]
    y = x.reshape(-1, 1, h, w)
    k = gaussian_kernel1d(sigma, truncate, dtype=y.dtype, device=y.device)
    r = (k.numel() - 1) // 2
    y = y.index_select(2, _symmetric_index(h, r, y.device))
    y = y.index_select(3, _symmetric_index(w, r, y.device))
    y = F.conv2d(y, k.view(1, 1, -1, 1))
    y = F.conv2d(y, k.view(1, 1, 1, -1))
    return y.reshape(shape)


# -- SSIM between feature maps (L_P) --------------------------------------------------------------
def ssim(target: torch.Tensor, pred: torch.Tensor, *, sigma: float = 1.5, radius: int = 5,
         k1: float = 0.01, k2: float = 0.03) -> torch.Tensor:
    """Mean SSIM per sample ``(B,)`` of two ``(B, C, H, W)`` maps, channel by channel.

    Local statistics use a Gaussian window (``sigma``, ``radius``; defaults: Wang et al.'s 11 x 11,
    sigma 1.5) with symmetric borders, so small token grids keep every position. Feature maps have
    no fixed value range: the constants use the dynamic range (max - min) of each sample's
    ``target`` map, ``C1 = (k1 R)^2``, ``C2 = (k2 R)^2``.
    """
    if target.shape != pred.shape or target.ndim != 4:
        raise ValueError(f"need two (B, C, H, W) maps of one shape, got {tuple(target.shape)} "
                         f"and {tuple(pred.shape)}")
    a = target.detach().float()
    b = pred.float()
    trunc = (radius + 0.49) / sigma            # so int(trunc * sigma + 0.5) == radius

    def blur(t: torch.Tensor) -> torch.Tensor:
        return gaussian_blur2d(t, sigma, trunc)

    rng = (a.amax(dim=(1, 2, 3)) - a.amin(dim=(1, 2, 3))).clamp_min(1e-12).view(-1, 1, 1, 1)
    c1, c2 = (k1 * rng) ** 2, (k2 * rng) ** 2
    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a ** 2
    var_b = blur(b * b) - mu_b ** 2
    cov = blur(a * b) - mu_a * mu_b
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
    return s.mean(dim=(1, 2, 3))


def feature_ssim_loss(targets: Sequence[torch.Tensor], preds: Sequence[torch.Tensor],
                      **ssim_kwargs) -> torch.Tensor:
    """L_P: ``sum over layers of mean over the batch of (1 - SSIM)`` (targets detached)."""
    if len(targets) != len(preds) or not targets:
        raise ValueError("need the same, non-zero number of target and predicted maps")
    return sum((1.0 - ssim(t, p, **ssim_kwargs)).mean() for t, p in zip(targets, preds))


# -- cosine losses --------------------------------------------------------------------------------
def cosine_distance_map(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Point-wise ``1 - cos`` along channels: ``(B, C, H, W) x 2 -> (B, H, W)`` in float32."""
    return 1.0 - F.cosine_similarity(a.float(), b.float(), dim=1)


def mean_distance_map(targets: Sequence[torch.Tensor], preds: Sequence[torch.Tensor],
                      size: tuple[int, int]) -> torch.Tensor:
    """Anomaly map ``(B, H, W)``: per pair ``1 - cos``, bilinear upsampling to ``size`` with
    ``align_corners=True`` (as both official codes), then the mean over pairs."""
    maps = [F.interpolate(cosine_distance_map(t, s).unsqueeze(1), size=size, mode="bilinear",
                          align_corners=True) for t, s in zip(targets, preds)]
    return torch.stack(maps, 0).mean(0)[:, 0]


def global_cosine(targets: Sequence[torch.Tensor], preds: Sequence[torch.Tensor]) -> torch.Tensor:
    """ViTAD: ``sum over pairs of mean_b(1 - cos(flatten(t_b), flatten(s_b)))`` (targets detached)."""
    if len(targets) != len(preds) or not targets:
        raise ValueError("need the same, non-zero number of target and predicted maps")
    total = 0.0
    for t, s in zip(targets, preds):
        cos = F.cosine_similarity(t.detach().float().flatten(1), s.float().flatten(1), dim=1)
        total = total + (1.0 - cos).mean()
    return total


def hard_mining_fraction(iteration: int, final: float = 0.9, ramp_iters: int = 1000) -> float:
    """Dinomaly's ``p = min(final * it / ramp_iters, final)``: share of points counted as easy."""
    if ramp_iters <= 0:
        return float(final)
    return float(min(final * iteration / ramp_iters, final))


def global_cosine_hard_mining(targets: Sequence[torch.Tensor], preds: Sequence[torch.Tensor],
                              p: float, easy_grad_factor: float = 0.1) -> torch.Tensor:
    """Dinomaly's global cosine loss with hard mining, averaged over groups.

    Per group: the value is ``mean_b(1 - cos(flatten(t_b), flatten(s_b)))``. The ``k =
    int(numel * (1 - p))`` points with the largest point-wise cosine distance over the whole batch
    are hard; every other (easy) point's gradient into ``preds`` is multiplied by
    ``easy_grad_factor`` (a backward hook; the value itself is not changed).
    """
    if len(targets) != len(preds) or not targets:
        raise ValueError("need the same, non-zero number of target and predicted maps")
    if not 0.0 <= p < 1.0:
        raise ValueError(f"hard-mining fraction p must lie in [0, 1), got {p}")
    total = 0.0
    for t, s in zip(targets, preds):
        t = t.detach()
        if s.requires_grad:
            with torch.no_grad():
                dist = cosine_distance_map(t, s)                     # (B, H, W)
                k = max(1, int(dist.numel() * (1.0 - p)))
                thresh = torch.topk(dist.flatten(), k).values[-1]
                weight = torch.where(dist < thresh, easy_grad_factor, 1.0).unsqueeze(1)

            def scale(grad: torch.Tensor, weight: torch.Tensor = weight) -> torch.Tensor:
                return grad * weight.to(grad.dtype)

            s.register_hook(scale)
        cos = F.cosine_similarity(t.float().flatten(1), s.float().flatten(1), dim=1)
        total = total + (1.0 - cos).mean()
    return total / len(targets)


# -- patch classification -------------------------------------------------------------------------
def patch_cross_entropy(logits: torch.Tensor, labels: torch.Tensor, class_balanced: bool = False) -> torch.Tensor:
    """Mean cross entropy over patches: ``logits (B, N, K)``, ``labels (B, N)`` (-100 = ignored).

    ``class_balanced`` weighs each class by the inverse of its share of the batch's labelled
    patches, so a few dent patches count as much as the many normal ones.
    """
    if logits.shape[:-1] != labels.shape:
        raise ValueError(f"logits {tuple(logits.shape)} do not match labels {tuple(labels.shape)}")
    if not (labels != IGNORE_INDEX).any():
        # Nothing to learn from (all ignored): a zero that keeps the graph, not a NaN.
        return logits.float().sum() * 0.0
    k = logits.shape[-1]
    flat = labels.reshape(-1).long()
    weight = None
    if class_balanced:
        counts = torch.bincount(flat[flat != IGNORE_INDEX], minlength=k).float()
        weight = torch.where(counts > 0, counts.sum() / (k * counts.clamp(min=1)), torch.zeros_like(counts))
        weight = weight.to(logits.device)
    return F.cross_entropy(logits.float().reshape(-1, k), flat, weight=weight, ignore_index=IGNORE_INDEX)


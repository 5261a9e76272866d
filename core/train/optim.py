"""StableAdamW and the warm-up + cosine learning-rate schedule (both as in the official Dinomaly code).

StableAdamW is AdamW with AMSGrad and a per-tensor update clip: when the RMS of ``g / denom`` (the
Adam update direction computed from the *current* gradient) exceeds ``clip_threshold``, that
tensor's step is scaled down by the excess. Weight decay is decoupled and uses the current
(scheduled) learning rate. Per parameter tensor ``p`` with gradient ``g`` at step ``t`` (from 1)::

    p     <- p * (1 - lr * wd)
    m     <- b1 m + (1 - b1) g ;  v <- b2 v + (1 - b2) g^2 ;  vmax <- max(vmax, v)
    denom  = sqrt(vmax) / sqrt(1 - b2^t) + eps
    s      = max(1, RMS(g / denom) / clip_threshold)
    p     <- p - lr / (1 - b1^t) / s * m / denom

The schedule is stepped once per iteration; its first value (iteration 0) is the warm-up start
(0 by default), so the first optimiser step runs at lr 0, as upstream.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable

import torch
from torch.optim.lr_scheduler import LRScheduler

from core.config import param


@dataclass
class OptimConfig:
    """Optimiser and schedule of the detectors and the encoder fine-tuning (paper's values)."""

    lr: float = param(2e-3, "peak learning rate (reached at the end of warm-up)", min=0.0,
                      group="optimiser")
    final_lr: float = param(2e-4, "learning rate at the end of the cosine decay", min=0.0,
                            group="optimiser")
    beta1: float = param(0.9, "Adam first-moment decay", min=0.0, max=0.999999, group="optimiser",
                         advanced=True)
    beta2: float = param(0.999, "Adam second-moment decay", min=0.0, max=0.999999,
                         group="optimiser", advanced=True)
    weight_decay: float = param(1e-4, "decoupled weight decay (applied to every parameter)",
                                min=0.0, group="optimiser")
    eps: float = param(1e-10, "Adam denominator epsilon", min=0.0, group="optimiser",
                       advanced=True)
    clip_threshold: float = param(1.0, "per-tensor RMS limit of the Adam update (StableAdamW)",
                                  min=1e-6, group="optimiser", advanced=True)
    warmup_iters: int = param(100, "linear warm-up length", unit="iterations", min=0,
                              group="optimiser")
    total_iters: int = param(1750, "iterations of the whole run (schedule length)",
                             unit="iterations", min=1, group="optimiser")
    warmup_start_lr: float = param(0.0, "learning rate at iteration 0 (warm-up start)", min=0.0,
                                   group="optimiser", advanced=True)
    grad_clip_norm: float = param(0.1, "global gradient-norm clip before each step (0 = off)",
                                  min=0.0, group="optimiser", advanced=True)


class StableAdamW(torch.optim.Optimizer):
    """AdamW + AMSGrad + per-tensor update clipping (see the module docstring for the formula)."""

    def __init__(self, params: Iterable, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-10, weight_decay: float = 1e-4, amsgrad: bool = True,
                 clip_threshold: float = 1.0) -> None:
        if lr < 0 or eps < 0 or weight_decay < 0:
            raise ValueError("lr, eps and weight_decay must be >= 0")
        if not (0.0 <= betas[0] < 1.0 and 0.0 <= betas[1] < 1.0):
            raise ValueError(f"betas must lie in [0, 1), got {betas}")
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, clip_threshold=clip_threshold)
        super().__init__(params, defaults)

    @classmethod
    def from_config(cls, params: Iterable, cfg: OptimConfig) -> "StableAdamW":
        return cls(params, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), eps=cfg.eps,
                   weight_decay=cfg.weight_decay, clip_threshold=cfg.clip_threshold)

    @torch.no_grad()
    def step(self, closure=None):  # type: ignore[override]
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, wd, eps = group["lr"], group["weight_decay"], group["eps"]
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    # A task that did not touch this tensor (e.g. the other head): no update, no
                    # decay, and its moments keep their age.
                    continue
                if p.grad.is_sparse:
                    raise RuntimeError("StableAdamW does not support sparse gradients")
                # Moments at least in float32 (bf16/fp16 parameters would lose them).
                work = torch.promote_types(p.dtype, torch.float32)
                grad = p.grad.detach().to(work)
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(grad)
                    state["exp_avg_sq"] = torch.zeros_like(grad)
                    if group["amsgrad"]:
                        state["max_exp_avg_sq"] = torch.zeros_like(grad)
                state["step"] += 1
                t = state["step"]
                m, v = state["exp_avg"], state["exp_avg_sq"]
                m.mul_(beta1).add_(grad, alpha=1.0 - beta1)
                v.mul_(beta2).addcmul_(grad, grad, value=1.0 - beta2)
                if group["amsgrad"]:
                    vmax = state["max_exp_avg_sq"]
                    torch.maximum(vmax, v, out=vmax)
                else:
                    vmax = v
                denom = vmax.sqrt().div_(math.sqrt(1.0 - beta2 ** t)).add_(eps)
                # Kept as a tensor: no host sync per parameter on a GPU.
                rms = (grad / denom).pow(2).mean().sqrt()
                scale = torch.clamp(rms / group["clip_threshold"], min=1.0)
                update = (m / denom).mul_(lr / (1.0 - beta1 ** t)).div_(scale)
                p32 = p.detach().to(work)
                p32.mul_(1.0 - lr * wd).sub_(update)
                p.copy_(p32)
        return loss


def warm_cosine_lr(iteration: int, base_lr: float = 2e-3, final_lr: float = 2e-4,
                   warmup_iters: int = 100, total_iters: int = 1750,
                   start_lr: float = 0.0) -> float:
    """Learning rate at ``iteration`` (0-based) of the warm-up + cosine schedule.

    Warm-up: ``linspace(start_lr, base_lr, warmup_iters)`` (both ends included, so the peak shows at
    iteration ``warmup_iters - 1`` and again at ``warmup_iters``). Then cosine from ``base_lr``
    towards ``final_lr`` over the remaining ``total_iters - warmup_iters`` iterations; from
    ``total_iters`` on, ``final_lr``.
    """
    if iteration < 0:
        raise ValueError(f"iteration must be >= 0, got {iteration}")
    warmup = min(warmup_iters, total_iters)
    if iteration >= total_iters:
        return float(final_lr)
    if iteration < warmup:
        if warmup == 1:
            return float(start_lr)
        return float(start_lr + (base_lr - start_lr) * iteration / (warmup - 1))
    n = total_iters - warmup
    i = iteration - warmup
    return float(final_lr + 0.5 * (base_lr - final_lr) * (1.0 + math.cos(math.pi * i / n)))


class WarmCosine(LRScheduler):
    """:func:`warm_cosine_lr` as a scheduler, stepped once per iteration (not per epoch).

    Each parameter group's initial ``lr`` is its peak; ``final_lr`` and ``start_lr`` scale with it
    relative to the first group, so a group with half the peak also ends at half the final value.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, final_lr: float = 2e-4,
                 warmup_iters: int = 100, total_iters: int = 1750, start_lr: float = 0.0,
                 last_epoch: int = -1) -> None:
        self.final_lr = final_lr
        self.warmup_iters = warmup_iters
        self.total_iters = total_iters
        self.start_lr = start_lr
        super().__init__(optimizer, last_epoch)

    @classmethod
    def from_config(cls, optimizer: torch.optim.Optimizer, cfg: OptimConfig) -> "WarmCosine":
        return cls(optimizer, final_lr=cfg.final_lr, warmup_iters=cfg.warmup_iters,
                   total_iters=cfg.total_iters, start_lr=cfg.warmup_start_lr)

    def lr_at(self, iteration: int) -> list[float]:
        """Every group's learning rate at ``iteration`` (pure; no state change)."""
        ref = self.base_lrs[0] if self.base_lrs and self.base_lrs[0] > 0 else 1.0
        return [warm_cosine_lr(iteration, base, self.final_lr * base / ref, self.warmup_iters,
                               self.total_iters, self.start_lr * base / ref)
                for base in self.base_lrs]

    def get_lr(self) -> list[float]:  # type: ignore[override]
        return self.lr_at(max(self.last_epoch, 0))

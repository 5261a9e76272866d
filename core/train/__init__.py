"""Training: the optimiser and schedule (``optim``); the engine, data feeding and checkpoints live in
their own modules (``engine``, ``data``, ``checkpoint``) and are imported from there."""

from core.train.optim import OptimConfig, StableAdamW, WarmCosine, warm_cosine_lr

__all__ = ["OptimConfig", "StableAdamW", "WarmCosine", "warm_cosine_lr"]

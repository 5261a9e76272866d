"""One training loop for every stage (encoder fine-tuning, Dinomaly, ViTAD).

The loop knows nothing about the models. It is given

- a ``step`` module whose ``forward(batch, iteration)`` returns ``(loss, {name: float})``,
- ``batch_at(iteration, rank, world) -> dict`` of tensors (deterministic in the iteration, so a
  resumed run sees exactly the batches it would have seen),
- an optimizer and ``lr_at(iteration)`` (the schedule as a pure function: resume needs no
  scheduler state).

It gives progress events, a cooperative cancel, checkpoints every N iterations and on cancel,
resume from the last checkpoint, bf16 autocast on CUDA, and DistributedDataParallel when started
under ``torchrun`` (each rank takes its share of every global batch, so N processes compute the
same averaged gradient as one process with the whole batch, for per-sample-mean losses).
Randomness (dropout, augmentation) is re-seeded from (seed, iteration) at every iteration.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
import torch.distributed as dist

from core.device import autocast
from core.train.checkpoint import load_checkpoint, save_checkpoint


@dataclass
class ProgressEvent:
    """What the CLI's progress bar and the GUI's live curves show after each iteration."""

    iteration: int                 # iterations done so far (1-based after the first step)
    total: int
    losses: dict[str, float]
    lr: float
    elapsed_s: float
    eta_s: float
    phase: str = ""


@dataclass
class LoopResult:
    status: str                    # "finished" | "cancelled"
    iteration: int                 # iterations done
    history: list[dict] = field(default_factory=list)


def dist_info() -> tuple[int, int]:
    """(rank, world size); (0, 1) when not running distributed."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def iteration_seed(seed: int, iteration: int, rank: int = 0) -> int:
    return (seed * 1_000_003 + iteration * 7919 + rank * 104_729) % (2**63 - 1)


def _to_device(batch: dict, device: torch.device) -> dict:
    return {k: (v.to(device, non_blocking=True) if torch.is_tensor(v) else v) for k, v in batch.items()}


def run_training_loop(
    step: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    lr_at: Callable[[int], float],
    batch_at: Callable[[int, int, int], dict],
    total_iters: int,
    *,
    device: torch.device,
    seed: int = 0,
    grad_clip: float = 0.0,
    amp: bool = True,
    checkpoint_dir: str | Path | None = None,
    checkpoint_every: int = 0,
    resume: bool = False,
    progress: Callable[[ProgressEvent], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    phase_at: Callable[[int], str] | None = None,
    find_unused_parameters: bool = False,
) -> LoopResult:
    """Run iterations ``[start, total_iters)``; see the module docstring."""
    rank, world = dist_info()
    step.to(device)
    start = 0
    if resume and checkpoint_dir is not None:
        start, _ = load_checkpoint(checkpoint_dir, step, optimizer, map_location=device)
    model: torch.nn.Module = step
    if world > 1:
        model = torch.nn.parallel.DistributedDataParallel(
            step, device_ids=[device.index] if device.type == "cuda" else None,
            find_unused_parameters=find_unused_parameters)
    params = [p for p in step.parameters() if p.requires_grad]
    history: list[dict] = []
    t0 = time.perf_counter()
    step.train()
    it = start
    status = "finished"
    while it < total_iters:
        if cancel is not None and cancel():
            status = "cancelled"
            break
        lr = float(lr_at(it))
        for group in optimizer.param_groups:
            group["lr"] = lr
        torch.manual_seed(iteration_seed(seed, it, rank))
        batch = _to_device(batch_at(it, rank, world), device)
        with autocast(device, amp):
            loss, logs = model(batch, it)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if grad_clip and grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(params, max_norm=grad_clip)
        optimizer.step()
        it += 1
        losses = {k: float(v.detach()) if torch.is_tensor(v) else float(v) for k, v in logs.items()}
        if world > 1:  # report the mean over ranks, as the gradients are
            vals = torch.tensor(list(losses.values()), dtype=torch.float64, device=device)
            dist.all_reduce(vals)
            losses = {k: float(v) / world for k, v in zip(losses, vals.tolist())}
        if not all(math.isfinite(v) for v in losses.values()):
            raise FloatingPointError(f"loss became {losses} at iteration {it}; lower the learning rate "
                                     "or check the input data")
        elapsed = time.perf_counter() - t0
        done_here = it - start
        eta = elapsed / done_here * (total_iters - it) if done_here else float("nan")
        phase = phase_at(it - 1) if phase_at else ""
        record = {"iteration": it, "lr": lr, "phase": phase, **losses}
        history.append(record)
        if progress is not None and rank == 0:
            progress(ProgressEvent(it, total_iters, losses, lr, elapsed, eta, phase))
        if (checkpoint_dir is not None and checkpoint_every and it % checkpoint_every == 0
                and it < total_iters and rank == 0):
            save_checkpoint(checkpoint_dir, step, optimizer, it)
    if checkpoint_dir is not None and rank == 0 and it > start:
        # on cancel this is what --resume continues from; at the end it is the final state
        save_checkpoint(checkpoint_dir, step, optimizer, it)
    if world > 1:
        dist.barrier()
    return LoopResult(status, it, history)

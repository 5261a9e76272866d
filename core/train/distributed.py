"""Multi-process training with PyTorch's own distributed engine (``torchrun``).

``torchrun --nproc_per_node=N bearing-inspect train ...`` sets RANK / WORLD_SIZE / LOCAL_RANK /
MASTER_ADDR / MASTER_PORT; :func:`init_from_env` joins the process group (NCCL on CUDA, gloo on the
CPU) and returns the device this rank should use. Without those variables it does nothing.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist

from core.device import resolve_device


def launched_by_torchrun() -> bool:
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ and int(os.environ["WORLD_SIZE"]) > 1


def init_from_env(device: str = "auto") -> torch.device:
    """Join the process group if started by torchrun; return this rank's device."""
    dev = resolve_device(device)
    if not launched_by_torchrun() or (dist.is_available() and dist.is_initialized()):
        return dev
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    if dev.type == "cuda":
        dev = torch.device(f"cuda:{local_rank % torch.cuda.device_count()}")
        torch.cuda.set_device(dev)
        backend = "nccl"
    else:
        backend = "gloo"
    dist.init_process_group(backend=backend)
    return dev


def is_main_process() -> bool:
    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


def shutdown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()

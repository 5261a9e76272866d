"""Choosing the compute device and precision: CUDA when present (bf16 autocast), else the CPU."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch

from core.errors import BearingError


@dataclass(frozen=True)
class DeviceInfo:
    """One device a user can pick (the GUI's device list, the CLI's ``--device``)."""

    name: str          # "cpu", "cuda:0", ...
    label: str         # human readable, e.g. "cuda:0 - NVIDIA H200 (139 GiB)"


def available_devices() -> list[DeviceInfo]:
    """Every CUDA GPU (if any) followed by the CPU."""
    out = []
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            p = torch.cuda.get_device_properties(i)
            out.append(DeviceInfo(f"cuda:{i}", f"cuda:{i} - {p.name} ({p.total_memory / 2**30:.0f} GiB)"))
    out.append(DeviceInfo("cpu", "cpu"))
    return out


def resolve_device(name: str = "auto") -> torch.device:
    """``"auto"`` -> the first CUDA GPU if present, else the CPU; ``"cuda"``/``"cuda:K"``/``"cpu"`` as given.

    Asking for CUDA on a machine without it is an error that says so, not a silent fall-back.
    """
    name = (name or "auto").strip().lower()
    if name == "auto":
        return torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise BearingError(f"device {name!r} requested but CUDA is not available on this machine; "
                               "use --device cpu (or install a CUDA build of torch)")
        dev = torch.device(name)
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise BearingError(f"device {name!r} does not exist; this machine has "
                               f"{torch.cuda.device_count()} CUDA device(s)")
        return dev
    if name == "cpu":
        return torch.device("cpu")
    raise BearingError(f"unknown device {name!r}; use auto, cpu, cuda or cuda:K")


def autocast(device: torch.device, enabled: bool = True):
    """bf16 autocast on CUDA (the paper's GPUs all support it); a no-op context on the CPU."""
    if enabled and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()

"""Training checkpoints: one safetensors file per checkpoint, written atomically.

The model's state dict and every optimizer tensor go in as tensors; the iteration and the
optimizer's scalar state go in the safetensors metadata header (JSON text). Loading never unpickles.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from core.errors import BearingError
from core.io.atomic import atomic_path

CHECKPOINT_NAME = "last.safetensors"


class CheckpointError(BearingError):
    """A checkpoint is missing, corrupt, or does not fit the model."""


def _flatten_optimizer(state: dict) -> tuple[dict[str, torch.Tensor], dict]:
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for pid, pstate in state["state"].items():
        for k, v in pstate.items():
            if torch.is_tensor(v):
                tensors[f"optim/{pid}/{k}"] = v.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(pid), {})[k] = v
    return tensors, {"scalars": scalars, "param_groups": state["param_groups"]}


def _unflatten_optimizer(tensors: dict[str, torch.Tensor], meta: dict) -> dict:
    state: dict[int, dict[str, Any]] = {}
    for key, v in tensors.items():
        _, pid, k = key.split("/", 2)
        state.setdefault(int(pid), {})[k] = v
    for pid, kv in meta["scalars"].items():
        state.setdefault(int(pid), {}).update(kv)
    return {"state": state, "param_groups": meta["param_groups"]}


def save_checkpoint(folder: str | Path, module: torch.nn.Module, optimizer: torch.optim.Optimizer,
                    iteration: int, extra: dict | None = None) -> Path:
    """Write ``folder/last.safetensors`` atomically: the old checkpoint stays until the new one is whole."""
    folder = Path(folder)
    tensors = {f"model/{k}": v.detach().cpu().contiguous().clone() for k, v in module.state_dict().items()}
    opt_tensors, opt_meta = _flatten_optimizer(optimizer.state_dict())
    tensors.update(opt_tensors)
    meta = {"iteration": str(int(iteration)), "optimizer": json.dumps(opt_meta),
            "extra": json.dumps(extra or {})}
    path = folder / CHECKPOINT_NAME
    try:
        with atomic_path(path) as tmp:
            save_file(tensors, str(tmp), metadata=meta)
    except OSError:
        raise
    except Exception as exc:  # safetensors' own error (e.g. disk full) names no file
        raise CheckpointError(f"{path}: could not save the checkpoint ({exc}); the previous one is kept") from None
    return path


def load_checkpoint(folder: str | Path, module: torch.nn.Module, optimizer: torch.optim.Optimizer | None,
                    map_location: str | torch.device = "cpu") -> tuple[int, dict]:
    """Restore ``module`` (strictly) and ``optimizer`` from ``folder``; return (iteration, extra)."""
    path = Path(folder) / CHECKPOINT_NAME
    if not path.exists():
        raise CheckpointError(f"{path}: no checkpoint to resume from; start the run without --resume")
    try:
        with safe_open(str(path), framework="pt", device=str(map_location)) as f:
            meta = f.metadata() or {}
            model_sd, opt_tensors = {}, {}
            for k in f.keys():
                if k.startswith("model/"):
                    model_sd[k[len("model/"):]] = f.get_tensor(k)
                elif k.startswith("optim/"):
                    opt_tensors[k] = f.get_tensor(k)
    except Exception as exc:  # safetensors raises several types for a damaged header/body
        raise CheckpointError(f"{path}: checkpoint is damaged ({exc}); delete it to start over") from None
    try:
        module.load_state_dict(model_sd, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: checkpoint does not fit this model ({exc})") from None
    if optimizer is not None:
        optimizer.load_state_dict(_unflatten_optimizer(opt_tensors, json.loads(meta["optimizer"])))
    return int(meta["iteration"]), json.loads(meta.get("extra", "{}"))


def checkpoint_iteration(folder: str | Path) -> int | None:
    """The iteration of ``folder``'s checkpoint (read from its header only), or None if there is none."""
    path = Path(folder) / CHECKPOINT_NAME
    if not path.exists():
        return None
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            return int((f.metadata() or {})["iteration"])
    except Exception as exc:
        raise CheckpointError(f"{path}: checkpoint is damaged ({exc}); delete it to start over") from None

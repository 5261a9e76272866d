"""Save and load models as ``NAME.safetensors`` (tensors) + ``NAME.json`` (architecture), no code run.

The JSON says what to build: ``{"format": "bearing-inspector-model", "version": 1, "kind":
"dinomaly" | "vitad" | "finetune" | "encoder", "config": {...}, "encoder": {"backbone", "weights",
"random", ...}}``. Loading builds that architecture with random weights (nothing is downloaded),
then loads every tensor strictly (missing, unexpected or mis-shaped keys are errors naming the file).

An ``"encoder"`` file holds the bare timm state dict, so it also works as ``weights=`` of
:func:`core.models.encoder.create_encoder` (e.g. a fine-tuned encoder inside Dinomaly or ViTAD).
The encoder's provenance, including "random", travels with every saved model.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import torch
from torch import nn

from core.config import ConfigError, from_dict, to_dict
from core.errors import BearingError, InputError
from core.io.atomic import atomic_path, atomic_write_json
from core.models.dinomaly import Dinomaly, DinomalyConfig
from core.models.encoder import ViTEncoder, create_encoder, key_mismatches
from core.models.finetune import FineTuneConfig, FineTuneModel
from core.models.vitad import ViTAD, ViTADConfig

FORMAT = "bearing-inspector-model"
VERSION = 1
MODEL_KINDS: dict[str, tuple[type, type]] = {
    "dinomaly": (Dinomaly, DinomalyConfig),
    "vitad": (ViTAD, ViTADConfig),
    "finetune": (FineTuneModel, FineTuneConfig),
}


def model_paths(path: str | Path) -> tuple[Path, Path]:
    """``(NAME.safetensors, NAME.json)`` for ``NAME``, ``NAME.safetensors`` or ``NAME.json``."""
    path = Path(path)
    if path.suffix in (".safetensors", ".json"):
        path = path.with_suffix("")
    return path.with_name(path.name + ".safetensors"), path.with_name(path.name + ".json")


def _write(tensors: dict[str, torch.Tensor], meta: dict, path: str | Path) -> Path:
    from safetensors.torch import save_file

    st_path, json_path = model_paths(path)
    # Own contiguous CPU copies: safetensors refuses shared or strided storage.
    flat = {k: v.detach().to("cpu").contiguous().clone() for k, v in tensors.items()}
    # The description also goes into the safetensors header, which is the truth when loading: the
    # .json next to it (for people) is replaced after it, so a crash between the two renames must
    # not pair the tensors of one save with the description of another.
    try:
        with atomic_path(st_path) as tmp:
            save_file(flat, str(tmp), metadata={"format": FORMAT, "kind": meta["kind"],
                                                "meta_json": json.dumps(meta)})
    except OSError:
        raise
    except Exception as exc:  # safetensors' own error (e.g. disk full) names no file
        raise BearingError(f"{st_path}: could not save the model ({exc}); the previous file is kept") from None
    atomic_write_json(json_path, meta)
    return st_path


def save_model(model: nn.Module, path: str | Path) -> Path:
    """Save a Dinomaly, ViTAD or fine-tuning model (all its tensors, frozen encoder included)."""
    kind = getattr(model, "kind", None)
    if kind not in MODEL_KINDS:
        raise TypeError(f"cannot save a {type(model).__name__}; known: {', '.join(MODEL_KINDS)}")
    meta = {"format": FORMAT, "version": VERSION, "kind": kind, "config": to_dict(model.config),
            "encoder": model.encoder.describe()}
    return _write(model.state_dict(), meta, path)


def save_encoder(encoder: ViTEncoder, path: str | Path, **provenance: Any) -> Path:
    """Save an encoder as a bare timm state dict (loadable as ``weights=`` of any detector)."""
    meta = {"format": FORMAT, "version": VERSION, "kind": "encoder",
            "encoder": {**encoder.describe(), **provenance}}
    return _write(encoder.vit.state_dict(), meta, path)


def _header_meta(st_path: Path) -> dict | None:
    """The description stored in the safetensors header, or None (older file, foreign file)."""
    from safetensors import safe_open

    if not st_path.is_file():
        return None
    try:
        with safe_open(str(st_path), framework="pt") as f:
            text = (f.metadata() or {}).get("meta_json")
        return json.loads(text) if text else None
    except Exception:  # unreadable: the tensor loader reports it with the file name
        return None


def read_meta(path: str | Path) -> dict:
    """The description of a saved model: from the weights file's header (the truth), else the .json."""
    st_path, json_path = model_paths(path)
    try:
        meta = _header_meta(st_path) or json.loads(json_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(json_path, "model description not found",
                         "a saved model is a .safetensors file with a .json of the same name") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(json_path, f"not valid JSON ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise InputError(json_path, "not a Bearing Inspector model description")
    if meta.get("version") != VERSION:
        raise InputError(json_path, f"model format version {meta.get('version')} is not supported "
                         f"(this build reads version {VERSION})")
    return meta


def _read_tensors(st_path: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    if not st_path.is_file():
        raise InputError(st_path, "model weights file not found")
    try:
        return load_file(str(st_path), device="cpu")
    except Exception as exc:
        raise InputError(st_path, f"not a readable safetensors file ({exc})") from None


def _encoder_from_meta(info: dict, where: Path) -> ViTEncoder:
    try:
        encoder = create_encoder(info["backbone"], "random")
    except (KeyError, ConfigError) as exc:
        raise InputError(where, f"unusable encoder description ({exc})") from None
    encoder.weights_source = str(info.get("weights", "unknown"))
    encoder.random_init = bool(info.get("random", False))
    return encoder


def load_model(path: str | Path, device: str | torch.device = "cpu") -> nn.Module:
    """Load what :func:`save_model` or :func:`save_encoder` wrote; the model comes back in eval mode."""
    st_path, json_path = model_paths(path)
    meta = read_meta(path)
    kind = meta.get("kind")
    encoder = _encoder_from_meta(meta.get("encoder", {}), json_path)
    if kind == "encoder":
        model: nn.Module = encoder
        target = encoder.vit
    elif kind in MODEL_KINDS:
        cls, cfg_cls = MODEL_KINDS[kind]
        try:
            cfg = from_dict(cfg_cls, meta.get("config", {}))
        except ConfigError as exc:
            raise InputError(json_path, str(exc)) from None
        model = cls(encoder, cfg)
        target = model
    else:
        raise InputError(json_path, f"unknown model kind {kind!r}")
    state = _read_tensors(st_path)
    problems = key_mismatches(target, state)
    if problems:
        raise InputError(st_path, f"tensors do not match the {kind} described in {json_path.name} "
                         f"({problems})")
    target.load_state_dict(state, strict=True)
    return model.to(device).eval()

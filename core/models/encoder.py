"""Pre-trained ViT encoders (timm) with raw block outputs, strict weight loading and a tiny test model.

Backbones by timm name (DINO v1 ``vit_small_patch16_224.dino`` / ``vit_base_patch16_224.dino``,
DINOv2 with registers ``vit_small_patch14_reg4_dinov2.lvd142m`` / ``vit_base_patch14_reg4_dinov2.lvd142m``)
plus ``"tiny"``: a 12-block, 96-wide, 3-head ViT/14 with 4 registers (same token layout and block
indices as the paper's encoders) for tests and CPU demos; it only ever has random or file weights.

Weights (``weights=``):

- ``"pretrained"``: timm's own mechanism (Hugging Face hub: online, or a filled cache when offline).
  Offline with an empty cache raises :class:`WeightsNotFoundError` naming the file to get and where
  to put it.
- a path to ``.safetensors`` or ``.pth``/``.pt``/``.bin`` (read with ``torch.load(weights_only=True)``,
  so a pickle carrying code is refused). Meta's original DINO/DINOv2 checkpoints are converted by
  timm's checkpoint filter; our own fine-tuned encoder files load as they are.
- ``"random"``: explicit random initialisation; :attr:`ViTEncoder.is_random` marks it so every
  run record, report and the GUI can say so.

Every load is strict: a missing, unexpected or mis-shaped key is an error, never a partial load.

Geometry: the model keeps the backbone's native position-embedding grid (so weight files are
interchangeable between image sizes) and timm resamples it on every forward (``dynamic_img_size``,
bicubic with antialias) to the input's grid. Any input whose sides are multiples of the patch size
works; other sizes are an error rather than a silent crop of the last rows/columns (the patch
convolution would otherwise drop them, and defects at the ROI's edge with them).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch
from torch import nn

from core.config import ConfigError, param
from core.errors import InputError, WeightsNotFoundError

BACKBONES: tuple[str, ...] = (
    "vit_small_patch14_reg4_dinov2.lvd142m",
    "vit_base_patch14_reg4_dinov2.lvd142m",
    "vit_small_patch16_224.dino",
    "vit_base_patch16_224.dino",
    "tiny",
)

# The tiny configuration (random or file weights only). 12 blocks so the paper's layer indices
# (Dinomaly 2..9, ViTAD 3/6/9/12, fine-tuning 11/12) exist.
TINY_KWARGS = dict(img_size=224, patch_size=14, embed_dim=96, depth=12, num_heads=3, mlp_ratio=4.0,
                   qkv_bias=True, reg_tokens=4, no_embed_class=True, num_classes=0)

WEIGHT_SUFFIXES = (".safetensors", ".pth", ".pt", ".bin")


@dataclass
class EncoderConfig:
    """Which pre-trained ViT to use and where its weights come from."""

    backbone: str = param("vit_small_patch14_reg4_dinov2.lvd142m",
                          "timm model name of the ViT encoder ('tiny' = small random test model)",
                          choices=BACKBONES, group="encoder")
    weights: str = param("pretrained",
                         "'pretrained' (timm download / cache), a .safetensors or .pth file, or "
                         "'random' (explicit random initialisation)", group="encoder")


class ViTEncoder(nn.Module):
    """A timm ViT that returns raw block outputs (no final norm) of the blocks asked for."""

    def __init__(self, vit: nn.Module, backbone: str, weights_source: str,
                 random_init: bool | None = None) -> None:
        super().__init__()
        self.vit = vit
        self.backbone = backbone
        self.weights_source = weights_source
        # Stays True through fine-tuning and saving: a model grown from random weights says so.
        self.random_init = weights_source == "random" if random_init is None else bool(random_init)

    # -- geometry ------------------------------------------------------------------------------
    @property
    def patch_size(self) -> int:
        return int(self.vit.patch_embed.patch_size[0])

    @property
    def embed_dim(self) -> int:
        return int(self.vit.embed_dim)

    @property
    def depth(self) -> int:
        return len(self.vit.blocks)

    @property
    def num_heads(self) -> int:
        return int(self.vit.blocks[0].attn.num_heads)

    @property
    def num_prefix_tokens(self) -> int:
        """CLS + register tokens in front of the patch tokens."""
        return int(self.vit.num_prefix_tokens)

    @property
    def is_random(self) -> bool:
        """True when the weights come from a random initialisation (shown wherever results are)."""
        return self.random_init

    def grid(self, height: int, width: int) -> tuple[int, int]:
        """Patch grid (rows, cols) for an input of ``height`` x ``width`` pixels (checked)."""
        p = self.patch_size
        if height % p or width % p:
            raise ConfigError(
                f"image_size: {height}x{width} px is not a multiple of the encoder's patch size {p} "
                f"({self.backbone}); use e.g. {round(height / p) * p}x{round(width / p) * p} "
                f"(no silent crop of the edge rows/columns)")
        return height // p, width // p

    # -- forward -------------------------------------------------------------------------------
    def forward(self, x: torch.Tensor, layers: Sequence[int]) -> list[torch.Tensor]:
        """Raw outputs ``(B, prefix + h*w, C)`` of blocks ``layers`` (0-based), in that order.

        Blocks after the last one asked for are not run. Gradients flow unless the caller wraps
        this in ``torch.no_grad()``.
        """
        if x.ndim != 4:
            raise ValueError(f"expected a (B, 3, H, W) batch, got shape {tuple(x.shape)}")
        self.grid(x.shape[-2], x.shape[-1])
        wanted = [int(i) for i in layers]
        for i in wanted:
            if not 0 <= i < self.depth:
                raise ConfigError(f"layer {i} does not exist: {self.backbone} has blocks 0..{self.depth - 1}")
        vit = self.vit
        h = vit.patch_embed(x)
        h = vit._pos_embed(h)
        h = vit.patch_drop(h)
        h = vit.norm_pre(h)
        out: dict[int, torch.Tensor] = {}
        last = max(wanted)
        for i, block in enumerate(vit.blocks[: last + 1]):
            h = block(h)
            if i in wanted:
                out[i] = h
        return [out[i] for i in wanted]

    def patch_tokens(self, tokens: torch.Tensor) -> torch.Tensor:
        """Drop the CLS/register tokens: ``(B, prefix + N, C) -> (B, N, C)``."""
        return tokens[:, self.num_prefix_tokens:]

    def describe(self) -> dict:
        """What a run record needs to say about this encoder."""
        return {"backbone": self.backbone, "weights": self.weights_source, "random": self.is_random,
                "patch_size": self.patch_size, "embed_dim": self.embed_dim, "depth": self.depth}


def tokens_to_map(tokens: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
    """Patch tokens ``(B, h*w, C)`` as a feature map ``(B, C, h, w)`` (row-major token order)."""
    b, n, c = tokens.shape
    h, w = grid
    if n != h * w:
        raise ValueError(f"{n} tokens do not fill a {h}x{w} grid")
    return tokens.transpose(1, 2).reshape(b, c, h, w)


# -- construction and weights ---------------------------------------------------------------------
def _build_vit(backbone: str) -> nn.Module:
    import timm
    from timm.models.vision_transformer import VisionTransformer

    if backbone == "tiny":
        return VisionTransformer(dynamic_img_size=True, **TINY_KWARGS)
    if backbone not in BACKBONES:
        raise ConfigError(f"backbone: {backbone!r} is not one of {', '.join(BACKBONES)}")
    return timm.create_model(backbone, pretrained=False, num_classes=0, dynamic_img_size=True)


def _offline_message(backbone: str) -> str:
    import timm
    from huggingface_hub import constants

    cfg = timm.models.get_pretrained_cfg(backbone)
    hub_id = getattr(cfg, "hf_hub_id", None) or f"timm/{backbone}"
    meta_url = getattr(cfg, "url", None)
    lines = [
        f"The pre-trained weights of {backbone} are not on this machine and cannot be downloaded "
        f"(offline).",
        f"Get https://huggingface.co/{hub_id}/resolve/main/model.safetensors on a connected machine "
        f"and either pass it with --weights /path/to/model.safetensors, or fill the Hugging Face "
        f"cache ({constants.HF_HUB_CACHE}) there with `hf download {hub_id}` and copy the folder "
        f"models--{hub_id.replace('/', '--')} into the same place here.",
    ]
    if meta_url:
        lines.append(f"Meta's original checkpoint also works with --weights: {meta_url}")
    lines.append("Or use --weights random (results are then marked as random-weights).")
    return " ".join(lines)


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise InputError(path, "weights file not found", "check the path given with --weights")
    suffix = path.suffix.lower()
    if suffix not in WEIGHT_SUFFIXES:
        raise InputError(path, f"unsupported weights file type {suffix!r}",
                         f"use one of {', '.join(WEIGHT_SUFFIXES)}")
    if suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(str(path), device="cpu")
        except Exception as exc:  # safetensors raises its own SafetensorError / OSError
            raise InputError(path, f"not a readable safetensors file ({exc})") from None
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:
        # weights_only=True refuses pickles that would build arbitrary objects (run code).
        raise InputError(path, "refused to load: the file is not a plain tensor checkpoint "
                         f"(weights_only=True check failed: {str(exc).splitlines()[0]})",
                         "only load weights from sources you trust; prefer .safetensors") from None
    # Common wrappers: {"model": sd}, {"state_dict": sd}, {"teacher": sd} (DINO v1 full checkpoint).
    for key in ("model", "state_dict", "teacher"):
        if isinstance(obj, dict) and key in obj and isinstance(obj[key], dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise InputError(path, "does not contain a state dict of tensors")
    return {k.removeprefix("module.").removeprefix("backbone."): v for k, v in obj.items()}


def key_mismatches(model: nn.Module, state: dict[str, torch.Tensor]) -> str:
    """Missing, unexpected and mis-shaped keys of ``state`` for ``model``, as text ('' if none)."""
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    mis_shaped = sorted(k for k in set(own) & set(state) if own[k].shape != state[k].shape)

    def few(keys: list[str]) -> str:
        return ", ".join(keys[:6]) + (f" (+{len(keys) - 6} more)" if len(keys) > 6 else "")

    parts = []
    if missing:
        parts.append(f"missing keys: {few(missing)}")
    if unexpected:
        parts.append(f"unexpected keys: {few(unexpected)}")
    if mis_shaped:
        parts.append("shape mismatch: " + few(
            [f"{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)}" for k in mis_shaped]))
    return "; ".join(parts)


def load_weights_file(vit: nn.Module, path: Path, backbone: str) -> None:
    """Load ``path`` into ``vit`` strictly (missing/unexpected/mis-shaped keys are errors)."""
    from timm.models.vision_transformer import checkpoint_filter_fn

    state = _read_state_dict(path)
    if not any(k.startswith("blocks.") for k in state):
        raise InputError(path, f"does not look like {backbone} encoder weights (no 'blocks.*' keys)",
                         "give the encoder file itself, not a whole detector or run checkpoint")
    try:
        # Converts Meta's DINO/DINOv2 layouts to timm's and resamples a position embedding saved
        # for another grid; timm-layout files pass through unchanged.
        state = checkpoint_filter_fn(state, vit)
    except Exception as exc:
        raise InputError(path, f"cannot convert the checkpoint to {backbone} ({exc})") from None
    problems = key_mismatches(vit, state)
    if problems:
        raise InputError(path, f"weights do not match {backbone} ({problems})",
                         "check that the file belongs to this backbone")
    vit.load_state_dict(state, strict=True)


def create_encoder(backbone: str = "vit_small_patch14_reg4_dinov2.lvd142m",
                   weights: str | Path = "pretrained") -> ViTEncoder:
    """Build the encoder ``backbone`` with ``weights`` = ``"pretrained"``, ``"random"`` or a file."""
    weights_str = str(weights)
    vit = _build_vit(backbone)
    if weights_str == "random":
        source = "random"
    elif weights_str == "pretrained":
        if backbone == "tiny":
            raise ConfigError("weights: the 'tiny' encoder has no pre-trained weights; use "
                              "'random' or a weights file")
        from timm.models import load_pretrained
        from timm.models.vision_transformer import checkpoint_filter_fn

        seen: dict[str, torch.Tensor] = {}

        def keep_copy(state, model):
            state = checkpoint_filter_fn(state, model)
            seen.update(state)
            return state

        try:
            load_pretrained(vit, pretrained_cfg=vit.pretrained_cfg, num_classes=0,
                            filter_fn=keep_copy, strict=True)
        except (OSError, ValueError) as exc:
            if _looks_offline(exc):
                raise WeightsNotFoundError(_offline_message(backbone)) from None
            raise
        except RuntimeError as exc:                            # strict load_state_dict failure
            raise InputError(None, f"timm's pre-trained weights for {backbone} do not match the "
                             f"model ({str(exc).splitlines()[0]} ...)",
                             f"delete the cached copy under {_hf_cache()} and download it again") from None
        # timm relaxes strictness when it drops a classifier; check every key ourselves
        # (upstream Dinomaly's strict=False load is how LayerScale silently stayed at 1e-8).
        problems = key_mismatches(vit, {k: v for k, v in seen.items() if not k.startswith("head.")})
        if problems:
            raise InputError(None, f"timm's pre-trained weights for {backbone} do not match the "
                             f"model ({problems})")
        source = f"pretrained:{backbone}"
    else:
        path = Path(weights_str).expanduser()
        random_init = _saved_encoder_random_flag(path, backbone)
        load_weights_file(vit, path, backbone)
        vit.eval()
        return ViTEncoder(vit, backbone, f"file:{path.resolve()}", random_init)
    vit.eval()
    return ViTEncoder(vit, backbone, source)


def _saved_encoder_random_flag(path: Path, backbone: str) -> bool:
    """An encoder saved by :mod:`core.models.serialize` carries a JSON twin: keep its random flag
    and check its backbone. Foreign files (Meta, timm) have none and count as not random."""
    import json

    sidecar = path.with_suffix(".json")
    if path.suffix.lower() != ".safetensors" or not sidecar.is_file():
        return False
    try:
        meta = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    if not isinstance(meta, dict) or meta.get("format") != "bearing-inspector-model":
        return False
    info = meta.get("encoder") or {}
    if info.get("backbone") not in (None, backbone):
        raise InputError(path, f"is an encoder for {info['backbone']}, not {backbone}",
                         f"use --backbone {info['backbone']}")
    return bool(info.get("random", False))


def encoder_from_config(cfg: EncoderConfig) -> ViTEncoder:
    return create_encoder(cfg.backbone, cfg.weights)


def _hf_cache() -> str:
    from huggingface_hub import constants

    return str(constants.HF_HUB_CACHE)


def _looks_offline(exc: BaseException) -> bool:
    try:
        from huggingface_hub.errors import LocalEntryNotFoundError
    except ImportError:  # pragma: no cover - very old huggingface_hub
        LocalEntryNotFoundError = FileNotFoundError  # type: ignore[assignment,misc]
    if isinstance(exc, (LocalEntryNotFoundError, FileNotFoundError, ConnectionError)):
        return True
    text = str(exc).lower()
    return any(s in text for s in ("offline", "connection", "local cache", "resolve"))

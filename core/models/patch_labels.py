"""Per-patch normal/dent labels for the patch-classification task, from pixel defect masks.

The mask must be at the model input resolution (the same crop, resize and rotation as the image),
so patch ``(i, j)`` covers mask pixels ``[i*P:(i+1)*P, j*P:(j+1)*P]``. Labels are returned in
token order (row-major over the patch grid), 0 = normal, 1 = dent, ``IGNORE_INDEX`` = ignored.

Rules (``PatchLabelConfig.rule``):

- ``"fraction"`` (default): dent when at least ``threshold`` of the patch's pixels are defect
  pixels (default 0.1, i.e. about 20 of a 14 x 14 patch). Patches that only graze a dent's outline
  stay normal, so a mask drawn a pixel or two too wide does not turn its neighbours into dents.
- ``"any"``: dent when any pixel is a defect pixel (threshold unused).
- ``"centre"``: dent when the patch's centre pixel is a defect pixel.

With ``ignore_partial`` (off by default), "fraction" patches with some defect pixels but fewer than
the threshold are ignored by the loss instead of counted as normal.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from core.config import param
from core.models.losses import IGNORE_INDEX


@dataclass
class PatchLabelConfig:
    """How pixel defect masks become per-patch labels."""

    rule: str = param("fraction", "when a patch counts as a dent patch", choices=("fraction", "any", "centre"),
                      group="patch labels")
    threshold: float = param(0.1, "share of defect pixels that makes a patch a dent patch "
                             "(rule 'fraction')", min=0.0, max=1.0, step=0.01, group="patch labels")
    ignore_partial: bool = param(False, "ignore patches with some defect pixels below the threshold "
                                 "instead of calling them normal", group="patch labels", advanced=True)


def patch_labels(masks: torch.Tensor, patch_size: int, cfg: PatchLabelConfig | None = None) -> torch.Tensor:
    """``masks (B, H, W)`` (bool or 0/1; > 0.5 counts as defect) -> labels ``(B, (H/P)*(W/P))`` int64."""
    cfg = cfg or PatchLabelConfig()
    if masks.ndim != 3:
        raise ValueError(f"expected (B, H, W) masks, got shape {tuple(masks.shape)}")
    b, h, w = masks.shape
    p = int(patch_size)
    if h % p or w % p:
        raise ValueError(f"mask size {h}x{w} is not a multiple of the patch size {p}; masks must be "
                         f"at the model input resolution")
    defect = (masks.float() > 0.5).float().unsqueeze(1)
    if cfg.rule == "centre":
        c = p // 2
        labels = defect[:, 0, c::p, c::p] > 0.5
        return labels.reshape(b, -1).long()
    frac = F.avg_pool2d(defect, p).reshape(b, -1)        # share of defect pixels per patch
    if cfg.rule == "any":
        return (frac > 0).long()
    if cfg.rule != "fraction":
        raise ValueError(f"rule must be 'fraction', 'any' or 'centre', got {cfg.rule!r}")
    # A tiny tolerance so that e.g. 20/196 >= 0.102... compares as the person meant.
    labels = (frac >= cfg.threshold - 1e-9).long()
    if cfg.ignore_partial:
        labels = torch.where((frac > 0) & (labels == 0), torch.full_like(labels, IGNORE_INDEX), labels)
    return labels

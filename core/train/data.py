"""Model inputs in memory: normalisation, resizing, rotation augmentation, and batch plans.

Preprocessed samples (the h5 cache's composed inputs and cropped masks) are small enough to hold in
memory per class, so the data path is plain tensors, no DataLoader worker processes (those hang when
started from a GUI thread). Batch plans are pure functions of (seed, iteration): a resumed or a
distributed run sees exactly the batches an uninterrupted single-process run would.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from core.config import param

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass
class InputParams:
    """How a cached, composed ROI becomes a model input."""

    image_size: int = param(448, "Side of the square model input (the ROI is resized to it, aspect not kept, "
                                 "no centre crop so defects at the ROI edge stay in)", unit="px", min=28, max=2048)
    rotation_deg: float = param(15.0, "Random rotation range for training augmentation (LC/SC; OD uses 0)",
                                unit="deg", min=0.0, max=180.0)


@dataclass
class ArraySet:
    """One class's preprocessed samples: uint8 images (N, S, S, 3), bool/uint8 masks (N, S, S), labels (N,)."""

    images: np.ndarray
    masks: np.ndarray
    labels: np.ndarray
    keys: list[str]

    def __len__(self) -> int:
        return len(self.images)

    def subset(self, idx: np.ndarray) -> "ArraySet":
        idx = np.asarray(idx, dtype=np.int64)
        return ArraySet(self.images[idx], self.masks[idx], self.labels[idx], [self.keys[i] for i in idx])


def to_model_input(images: np.ndarray | torch.Tensor, size: int) -> torch.Tensor:
    """uint8 (B, H, W, 3) -> float (B, 3, size, size), bilinear (antialiased) resize, ImageNet-normalised."""
    x = torch.as_tensor(images)
    if x.ndim == 3:
        x = x[None]
    x = x.permute(0, 3, 1, 2).float().div_(255.0)
    if x.shape[-2:] != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return (x - mean) / std


def mask_to_size(masks: np.ndarray | torch.Tensor, size: int) -> torch.Tensor:
    """bool/uint8 (B, H, W) -> float (B, 1, size, size) in {0, 1}: area-resize, then any coverage (> 0) is defect."""
    m = torch.as_tensor(masks)
    if m.ndim == 2:
        m = m[None]
    m = (m > 0).float()[:, None]
    if m.shape[-2:] != (size, size):
        m = F.interpolate(m, size=(size, size), mode="area")
    return (m > 0).float()


def rotate_batch(x: torch.Tensor, mask: torch.Tensor | None, angles_deg: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Rotate each image (bilinear, zero fill) and its mask (nearest) by its own angle about the centre."""
    a = angles_deg.to(x.dtype) * (math.pi / 180.0)
    cos, sin = torch.cos(a), torch.sin(a)
    zero = torch.zeros_like(cos)
    theta = torch.stack([torch.stack([cos, -sin, zero], -1), torch.stack([sin, cos, zero], -1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    # zero fill in normalised space would be a grey-ish colour; fill with the value of black instead
    black = ((0.0 - torch.tensor(IMAGENET_MEAN)) / torch.tensor(IMAGENET_STD)).view(1, 3, 1, 1).to(x)
    xr = F.grid_sample(x - black, grid, mode="bilinear", padding_mode="zeros", align_corners=False) + black
    mr = None
    if mask is not None:
        mr = F.grid_sample(mask, grid, mode="nearest", padding_mode="zeros", align_corners=False)
    return xr, mr


def make_batch(data: ArraySet, indices: np.ndarray, image_size: int,
               angles_deg: np.ndarray | None = None) -> dict[str, torch.Tensor]:
    """The tensors of one batch: ``image`` (B,3,S,S), ``mask`` (B,S,S) in {0,1}, ``label`` (B,).

    ``angles_deg`` rotates each sample (and its mask) by its own angle (augmentation).
    """
    indices = np.asarray(indices, dtype=np.int64)
    x = to_model_input(data.images[indices], image_size)
    m = mask_to_size(data.masks[indices], image_size)
    if angles_deg is not None and np.any(angles_deg):
        x, m = rotate_batch(x, m, torch.as_tensor(np.asarray(angles_deg, dtype=np.float32)))
    return {"image": x, "mask": m[:, 0], "label": torch.as_tensor(data.labels[indices]).long()}


def rotation_angles(n: int, max_deg: float, seed: int, iteration: int) -> np.ndarray:
    """Uniform angles in [-max_deg, max_deg] for the ``n`` samples of a global batch (0 if max_deg is 0)."""
    if max_deg <= 0:
        return np.zeros(n, np.float32)
    g = np.random.default_rng([seed, iteration, 17])
    return g.uniform(-max_deg, max_deg, n).astype(np.float32)


def stream_indices(n: int, batch_size: int, iteration: int, seed: int) -> np.ndarray:
    """Global batch ``iteration`` of an endless stream of shuffled epochs over ``n`` samples.

    Every batch is full (an epoch boundary may fall inside a batch), so a class with fewer samples
    than the batch size still trains; within an epoch no sample repeats.
    """
    if n <= 0:
        raise ValueError("no samples to train on")
    pos = np.arange(iteration * batch_size, (iteration + 1) * batch_size, dtype=np.int64)
    epochs = pos // n
    out = np.empty_like(pos)
    for e in np.unique(epochs):
        perm = np.random.default_rng([seed, int(e)]).permutation(n)
        sel = epochs == e
        out[sel] = perm[pos[sel] % n]
    return out


def shard(indices: np.ndarray, rank: int, world: int) -> np.ndarray:
    """This rank's share of a global batch.

    With a batch size divisible by the world size, N processes average exactly the gradient one
    process computes on the whole batch (for per-sample-mean losses); uneven shards (the short last
    batch of a fine-tuning epoch) weigh their samples slightly differently.
    """
    if len(indices) < world:
        raise ValueError(f"a batch of {len(indices)} cannot be shared by {world} processes; "
                         "use a batch size of at least --nproc_per_node")
    return indices[rank::world]


@dataclass(frozen=True)
class PlanStep:
    phase: str                     # e.g. "reconstruction" or "patch"
    epoch: int
    indices: np.ndarray            # indices into that phase's sample set


def finetune_plan(n_normal: int, n_abnormal: int, epochs: int, batch_size: int, seed: int,
                  task_of_epoch: Callable[[int], str]) -> list[PlanStep]:
    """The multi-task schedule as a list of iterations.

    ``task_of_epoch(e)`` names the task of epoch ``e`` ("reconstruction" on the normal samples or
    "patch" on the abnormal ones; :func:`core.models.finetune.task_for_epoch` is the paper's
    schedule). An epoch is one shuffled pass over its task's samples in batches of ``batch_size``
    (the last batch may be smaller). Without abnormal samples a patch epoch is reconstruction.
    """
    plan: list[PlanStep] = []
    for e in range(epochs):
        phase = task_of_epoch(e)
        if phase == "patch" and n_abnormal == 0:
            phase = "reconstruction"
        n = n_normal if phase == "reconstruction" else n_abnormal
        if n == 0:
            continue
        perm = np.random.default_rng([seed, e]).permutation(n)
        for s in range(0, n, batch_size):
            plan.append(PlanStep(phase, e, perm[s:s + batch_size]))
    return plan

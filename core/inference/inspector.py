"""A trained detector run applied to new samples: preprocessing, anomaly map, score and OK/NG.

::

    inspector = Inspector.from_run("runs/dino", cls="LC")
    result = inspector.score_levels(load_levels(sample), path=sample.first_path)
    result.decision, result.score, result.anomaly_map      # "NG", 0.41, float32 (H, W) level-0 map

The same steps as training, in the same order: the run's fitted preprocessing config (run.json
``config["preprocess"]``), the composed ROI resized to the training cache's side by the cache's
rules, then :func:`core.train.data.to_model_input` at the run's ``image_size``. A sample is NG when
``score >= threshold``; the threshold is the run's F1-optimal ``image_threshold`` (metrics.json,
written by ``evaluate``) unless one is given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np
import torch

from core.config import ConfigError, from_dict
from core.device import autocast, resolve_device
from core.errors import BearingError, InputError
from core.models import load_model
from core.preprocess.pipeline import ClassConfig, ODConfig, SCConfig, preprocess_sample
from core.train.data import to_model_input
from core.train.runs import RUN_FILE, Run

DETECTOR_KINDS = ("dinomaly", "vitad")
_CLASS_CONFIG_TYPES = {"LC": ClassConfig, "SC": SCConfig, "OD": ODConfig}


@dataclass
class InspectionResult:
    """What the detector says about one sample.

    ``anomaly_map_roi`` is the model's map resized to the crop (crop coordinates, as the model saw
    it). ``anomaly_map`` is the same map placed back into the level-0 image through the crop box,
    0 outside the ROI mask; it is None for :meth:`Inspector.score_preprocessed` (no image).
    """

    cls: str
    score: float
    threshold: float
    decision: str                               # "OK" | "NG"
    anomaly_map_roi: np.ndarray                 # float32 (h, w), crop coordinates
    anomaly_map: np.ndarray | None = None       # float32 (H, W), level-0 coordinates
    crop: tuple[int, int, int, int] | None = None   # x0, y0, x1, y1 in level-0 pixels (exclusive)
    roi_mask: np.ndarray | None = None          # bool (h, w), crop coordinates
    geometry: dict = field(default_factory=dict)    # ROI shape + crop, as in geometry.json
    random_weights: bool = False                # the run's encoder had no pre-training
    path: Path | None = None


def class_run_folders(folder: str | Path) -> dict[str, Path]:
    """Class -> run folder: ``folder`` itself if it is one class's run, else its class sub-folders."""
    folder = Path(folder)
    if (folder / RUN_FILE).is_file():
        return {Run(folder).load_record().cls: folder}
    if not folder.is_dir():
        raise InputError(folder, "run folder not found")
    runs = {}
    for sub in sorted(folder.iterdir()):
        if (sub / RUN_FILE).is_file():
            runs[Run(sub).load_record().cls] = sub
    if not runs:
        raise InputError(folder, "not a run folder (no run.json, and no class folders with one)",
                         "give the --out folder of 'bearing-inspect train'")
    return runs


def _resize_like_cache(composed: np.ndarray, size: int) -> np.ndarray:
    # the cache's rule (core.io.cache): area when shrinking, bilinear when enlarging
    h, w = composed.shape[:2]
    if (h, w) == (size, size):
        return composed
    interp = cv2.INTER_AREA if size <= min(h, w) else cv2.INTER_LINEAR
    return cv2.resize(composed, (size, size), interpolation=interp)


def _cache_size(config: dict) -> int | None:
    """The side the training cache stored composed inputs at (None: unknown, resize directly)."""
    if config.get("cache_size"):
        return int(config["cache_size"])
    cache = config.get("cache")
    if not cache or not Path(cache).is_file():
        return None
    try:
        import h5py

        with h5py.File(cache, "r") as f:
            return int(f.attrs["size"])
    except (OSError, KeyError, ValueError):
        return None


class Inspector:
    """One class's detector, its preprocessing and its decision threshold."""

    def __init__(self, model: torch.nn.Module, cls: str, preprocess: ClassConfig, image_size: int,
                 threshold: float, *, cache_size: int | None = None, device: torch.device | None = None,
                 random_weights: bool = False, run_dir: Path | None = None,
                 threshold_source: str = "given") -> None:
        self.device = device or torch.device("cpu")
        self.model = model.to(self.device).eval()
        self.cls = cls
        self.preprocess = preprocess
        self.image_size = int(image_size)
        self.cache_size = cache_size
        self.threshold = float(threshold)
        self.random_weights = bool(random_weights)
        self.run_dir = run_dir
        self.threshold_source = threshold_source

    @classmethod
    def from_run(klass, run_dir: str | Path, cls: str | None = None, device: str = "auto",
                 threshold: float | None = None) -> "Inspector":
        """The detector of a finished run (for a run folder of several classes, class ``cls``'s)."""
        cls_name = cls
        runs = class_run_folders(run_dir)
        if cls_name is None:
            if len(runs) > 1:
                raise BearingError(f"{run_dir}: holds runs for {', '.join(runs)}; choose the class")
            cls_name = next(iter(runs))
        if cls_name not in runs:
            raise BearingError(f"{run_dir}: has no {cls_name} run (it has {', '.join(runs)})")
        run = Run(runs[cls_name])
        rec = run.load_record()
        if rec.kind not in DETECTOR_KINDS:
            raise BearingError(f"{run.folder}: a {rec.kind} run is an encoder, not a detector; inspect "
                               "with a Dinomaly or ViTAD run")
        status = run.effective_status()
        if status != "finished":
            raise BearingError(f"{run.folder}: the run is {status}; finish it first (train --resume)")
        prep = rec.config.get("preprocess") or {}
        if not prep:
            raise InputError(run.folder / RUN_FILE, "holds no preprocessing config",
                             "train the run again with this version")
        try:
            pcfg = from_dict(_CLASS_CONFIG_TYPES[rec.cls], prep, where="config.preprocess")
        except ConfigError as exc:
            raise InputError(run.folder / RUN_FILE, str(exc)) from None
        source = "given"
        if threshold is None:
            metrics = run.load_metrics() or {}
            t = metrics.get("image_threshold")
            if t is None or not math.isfinite(float(t)):
                raise BearingError(f"{run.folder}: no decision threshold (the run was not evaluated, or its "
                                   "test split had no defect); run 'bearing-inspect evaluate' on it, or "
                                   "pass --threshold")
            threshold, source = float(t), "metrics.json"
        dev = resolve_device(device)
        model = load_model(run.folder / "model", device=dev)
        size = int(rec.config.get("image_size") or model.config.image_size)
        return klass(model, rec.cls, pcfg, size, threshold, cache_size=_cache_size(rec.config), device=dev,
                   random_weights=rec.random_weights, run_dir=run.folder, threshold_source=source)

    # -- scoring ----------------------------------------------------------------------------------
    @torch.no_grad()
    def _map_and_score(self, composed: np.ndarray) -> tuple[np.ndarray, float]:
        """Model-size map (S, S) float32 and the image score of one composed uint8 (h, w, 3) ROI."""
        x = composed if self.cache_size is None else _resize_like_cache(composed, self.cache_size)
        t = to_model_input(np.ascontiguousarray(x), self.image_size).to(self.device)
        with autocast(self.device):
            maps, scores = self.model.anomaly_map(t)
        return maps[0].float().cpu().numpy(), float(scores[0].float().cpu())

    def _decide(self, score: float) -> str:
        return "NG" if score >= self.threshold else "OK"

    def score_preprocessed(self, composed: np.ndarray) -> InspectionResult:
        """Score an already composed ROI (uint8 (h, w, 3), e.g. a cache row); no level-0 map."""
        composed = np.asarray(composed)
        if composed.dtype != np.uint8 or composed.ndim != 3 or composed.shape[2] != 3:
            raise ValueError(f"composed input must be uint8 (h, w, 3), got {composed.dtype} {composed.shape}")
        m, score = self._map_and_score(composed)
        h, w = composed.shape[:2]
        roi_map = m if m.shape == (h, w) else cv2.resize(m, (w, h), interpolation=cv2.INTER_LINEAR)
        return InspectionResult(self.cls, score, self.threshold, self._decide(score), roi_map,
                                random_weights=self.random_weights)

    def score_levels(self, levels: Sequence[np.ndarray], path: str | Path | None = None) -> InspectionResult:
        """Preprocess the brightness levels of one sample with the run's config and score it.

        Raises :class:`core.errors.ROINotFoundError` when no ROI is found, :class:`InputError` for
        levels of different sizes, ``ValueError`` for too few levels.
        """
        pre = preprocess_sample(levels, self.cls, self.preprocess, path=path)
        res = self.score_preprocessed(pre.composed)
        res.crop = tuple(int(v) for v in pre.crop)
        res.roi_mask = pre.roi_mask
        res.geometry = pre.to_geometry()
        res.path = None if path is None else Path(path)
        res.anomaly_map = place_in_image(res.anomaly_map_roi * pre.roi_mask, res.crop, levels[0].shape)
        return res


def place_in_image(map_roi: np.ndarray, crop: tuple[int, int, int, int], shape: tuple[int, int]) -> np.ndarray:
    """A crop-coordinate map put back into a zero (H, W) level-0 image; parts outside the image drop."""
    h, w = shape[:2]
    x0, y0, x1, y1 = crop
    out = np.zeros((h, w), np.float32)
    ix0, iy0, ix1, iy1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if ix1 > ix0 and iy1 > iy0:
        out[iy0:iy1, ix0:ix1] = map_roi[iy0 - y0:iy1 - y0, ix0 - x0:ix1 - x0]
    return out


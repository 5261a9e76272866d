"""Training and evaluation data: a data set root (preprocessed on the fly, cached) or an h5 cache.

A data set root is preprocessed once per (data set fingerprint, preprocessing config, cache size)
into the user's cache folder (``$BEARING_CACHE_DIR`` or ``~/.cache/bearing-inspector``) and reused
after that; the cache is never the truth and can be deleted at any time.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from core.config import to_dict
from core.errors import BearingError, InputError
from core.io.cache import Cache, CacheParams, CacheWriter, open_cache
from core.io.dataset import fingerprint, scan_dataset
from core.preprocess.batch import preprocess_dataset
from core.preprocess.pipeline import PreprocessConfig
from core.progress import ProgressFn
from core.train.data import ArraySet


def cache_folder() -> Path:
    env = os.environ.get("BEARING_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "bearing-inspector"


def resolve_cache(data: str | Path, classes: Sequence[str], config: PreprocessConfig | None = None,
                  cache_size: int = CacheParams().size, progress: ProgressFn | None = None,
                  cancel: Callable[[], bool] | None = None, log: Callable[[str], None] | None = None
                  ) -> Path:
    """The h5 cache for ``data``: ``data`` itself if it is a cache file, else built/reused for the root."""
    data = Path(data)
    if data.is_file():
        return data
    if not data.is_dir():
        raise InputError(data, "is neither a data set folder nor a cache file",
                         "Give the data set root (with LC/SC/OD folders) or a cache from 'bearing-inspect preprocess'")
    config = config or PreprocessConfig()
    dataset = scan_dataset(data, classes=tuple(classes))
    key = hashlib.sha256(json.dumps({"fp": fingerprint(dataset), "cfg": to_dict(config), "size": cache_size,
                                     "classes": sorted(classes)}, sort_keys=True).encode()).hexdigest()[:20]
    path = cache_folder() / f"{data.resolve().name}-{key}.h5"
    if path.exists():
        try:
            open_cache(path, verify=False).close()
            if log:
                log(f"using the preprocessed cache {path}")
            return path
        except BearingError:
            path.unlink(missing_ok=True)  # damaged: rebuild it
    if log:
        log(f"preprocessing {len(dataset.samples)} samples of {data} into {path}")
    with CacheWriter(path, CacheParams(size=cache_size)) as writer:
        result = preprocess_dataset(dataset, config, CacheParams(size=cache_size), progress=progress,
                                    cancel=cancel, classes=list(classes), sink=writer.add)
        if result.cancelled:
            raise BearingError("preprocessing was cancelled; nothing was trained")
        if result.n_processed == 0:
            raise BearingError(f"{data}: no sample could be preprocessed; run 'bearing-inspect preprocess "
                               f"{data} --out cache.h5' to see why")
        writer.finish(to_dict(result.config), result.fingerprint)
    if log:
        for p in result.problems:
            log(f"skipped: {p}")
    return path


def class_arrays(cache: Cache, cls: str, split: str | None = None, label: int | None = None) -> ArraySet:
    """The samples of ``cls`` (optionally one split and one label: 0 good, 1 defect) in memory."""
    if cls not in cache.classes():
        raise BearingError(f"{cache.path}: the cache has no {cls} samples (it has {', '.join(cache.classes()) or 'none'})")
    idx = cache.select(cls, split=split)
    labels = cache.labels(cls)[idx]
    if label is not None:
        idx = idx[labels == label]
    idx = np.sort(idx)
    keys = cache.keys(cls)
    return ArraySet(cache.inputs(cls, idx), cache.masks(cls, idx), cache.labels(cls)[idx].astype(np.int64),
                    [keys[i] for i in idx])

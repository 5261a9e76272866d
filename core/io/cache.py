"""The h5 cache of preprocessed samples: rebuildable from the data set, never the source of truth.

One HDF5 file; per class a group with one row per sample::

    /<CLASS>/inputs      uint8 (N, S, S, 3)  composed model inputs, resized to S x S
    /<CLASS>/masks       uint8 (N, S, S)     defect masks in crop coordinates, 0/1
    /<CLASS>/roi_masks   uint8 (N, S, S)     ROI masks in crop coordinates, 0/1
    /<CLASS>/labels      uint8 (N,)          1 = defect sample
    /<CLASS>/keys, splits, groups, sample_ids, geometry (JSON)   strings
    /<CLASS>/crops       int32 (N, 4)        crop box x0, y0, x1, y1 in level-0 pixels (exclusive)
    /<CLASS>/crop_shapes int32 (N, 2)        crop height, width before resizing

Root attributes: format, version, size, the preprocessing config (JSON), the data-set fingerprint
and, written last, a manifest with the SHA-256 of every data set and ``complete = 1``.
:func:`open_cache` refuses a file without them or whose contents do not match (:class:`CacheError`).

Resizing rules (crop -> S x S; the aspect ratio is not kept, the crop box and shape are):

- inputs: ``INTER_AREA`` when shrinking, ``INTER_LINEAR`` when enlarging;
- defect masks: the 0/1 mask resized with ``INTER_AREA``, then ``> 0``: an output pixel is defect
  if any defect pixel falls into it, so small defects never vanish when shrinking;
- ROI masks: the same resize, then ``>= 0.5`` (majority), so the ROI border neither grows nor
  shrinks on average.

The file is written to a temporary name next to the target and renamed when complete
(:func:`core.io.atomic.atomic_path`), so a crash leaves the old cache or none.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import cv2
import h5py
import numpy as np

from core.config import param
from core.errors import BearingError
from core.io.atomic import atomic_path

FORMAT = "bearing-inspector-cache"
VERSION = 1

_STRING_FIELDS = ("keys", "splits", "groups", "sample_ids", "geometry")
_ARRAY_FIELDS = ("inputs", "masks", "roi_masks", "labels", "crops", "crop_shapes")
_HINT = "Delete it and run 'bearing-inspect preprocess' again to rebuild it from the data set"


class CacheError(BearingError):
    """The cache file is missing, half-written or corrupt; the message says to rebuild it."""


@dataclass
class CacheParams:
    """How preprocessed samples are stored in the cache."""

    size: int = param(512, "Composed inputs and masks are stored resized to size x size pixels",
                      unit="px", min=32, max=4096, step=32, group="Cache")


@dataclass
class CacheRecord:
    """One preprocessed sample, as it goes into the cache (arrays in crop coordinates)."""

    cls: str
    split: str
    group: str
    sample_id: str
    key: str
    label: int                  # 1 = defect sample
    composed: np.ndarray        # uint8 (h, w, 3)
    mask: np.ndarray            # bool (h, w) defect mask
    roi_mask: np.ndarray        # bool (h, w)
    crop: tuple[int, int, int, int]
    geometry: dict = field(default_factory=dict)
    crop_shape: tuple[int, int] | None = None  # (h, w) before resizing; set by resize_record


def _resize(arr: np.ndarray, size: int, interpolation_up: int) -> np.ndarray:
    h, w = arr.shape[:2]
    if (h, w) == (size, size):
        return arr
    interp = cv2.INTER_AREA if size <= min(h, w) else interpolation_up
    return cv2.resize(arr, (size, size), interpolation=interp)


def resize_record(record: CacheRecord, size: int) -> CacheRecord:
    """``record`` with its arrays resized to ``size`` x ``size`` by the module's rules."""
    if record.crop_shape is not None and record.composed.shape[:2] == (size, size):
        return record  # already resized
    h, w = record.composed.shape[:2]
    if record.mask.shape[:2] != (h, w) or record.roi_mask.shape[:2] != (h, w):
        raise ValueError(f"{record.key}: composed {record.composed.shape[:2]}, mask "
                         f"{record.mask.shape[:2]} and ROI mask {record.roi_mask.shape[:2]} differ")
    composed = _resize(np.ascontiguousarray(record.composed, dtype=np.uint8), size, cv2.INTER_LINEAR)
    mask = _resize(record.mask.astype(np.float32), size, cv2.INTER_LINEAR) > 0
    roi = _resize(record.roi_mask.astype(np.float32), size, cv2.INTER_LINEAR) >= 0.5
    return CacheRecord(record.cls, record.split, record.group, record.sample_id, record.key,
                       int(record.label), composed, mask, roi, tuple(int(v) for v in record.crop),
                       dict(record.geometry), (h, w))


def _row_bytes(name: str, value: Any) -> bytes:
    if name in _STRING_FIELDS:
        b = value.encode("utf-8") if isinstance(value, str) else bytes(value)
        return len(b).to_bytes(8, "little") + b
    return np.ascontiguousarray(value).tobytes()


class CacheWriter:
    """Streams records into a new cache file; :meth:`finish` seals it, leaving the block aborts it.

    ::

        with CacheWriter("cache.h5", CacheParams(size=256)) as w:
            for rec in records:
                w.add(rec)
            w.finish(config_dict, fingerprint)
    """

    def __init__(self, path: str | Path, params: CacheParams = CacheParams()) -> None:
        self.path = Path(path)
        self.size = int(params.size)
        self._atomic = None
        self._file: h5py.File | None = None
        self._hashes: dict[str, Any] = {}
        self._counts: dict[str, int] = {}
        self._finished = False

    def __enter__(self) -> "CacheWriter":
        self._atomic = atomic_path(self.path)
        tmp = self._atomic.__enter__()
        # no chunk cache: with one, HDF5 2.0 crashed the process on a full disk instead of raising
        self._file = h5py.File(tmp, "w", rdcc_nbytes=0)
        self._file.attrs["format"] = FORMAT
        self._file.attrs["version"] = VERSION
        self._file.attrs["size"] = self.size
        self._file.attrs["complete"] = 0
        return self

    def _create_class(self, cls: str) -> h5py.Group:
        s = self.size
        g = self._file.create_group(cls)
        g.create_dataset("inputs", (0, s, s, 3), np.uint8, maxshape=(None, s, s, 3),
                         chunks=(1, s, s, 3), compression="lzf")
        for name in ("masks", "roi_masks"):
            g.create_dataset(name, (0, s, s), np.uint8, maxshape=(None, s, s), chunks=(1, s, s),
                             compression="lzf")
        g.create_dataset("labels", (0,), np.uint8, maxshape=(None,), chunks=(256,))
        g.create_dataset("crops", (0, 4), np.int32, maxshape=(None, 4), chunks=(256, 4))
        g.create_dataset("crop_shapes", (0, 2), np.int32, maxshape=(None, 2), chunks=(256, 2))
        for name in _STRING_FIELDS:
            g.create_dataset(name, (0,), h5py.string_dtype("utf-8"), maxshape=(None,), chunks=(256,))
        self._counts[cls] = 0
        for name in (*_ARRAY_FIELDS, *_STRING_FIELDS):
            self._hashes[f"{cls}/{name}"] = hashlib.sha256()
        return g

    def add(self, record: CacheRecord) -> None:
        """Append one sample (its arrays are resized to the cache size here if needed)."""
        if self._file is None or self._finished:
            raise RuntimeError("CacheWriter.add outside its 'with' block or after finish()")
        r = resize_record(record, self.size)
        g = self._file[r.cls] if r.cls in self._file else self._create_class(r.cls)
        i = self._counts[r.cls]
        row = {
            "inputs": r.composed, "masks": r.mask.astype(np.uint8),
            "roi_masks": r.roi_mask.astype(np.uint8), "labels": np.uint8(1 if r.label else 0),
            "crops": np.asarray(r.crop, np.int32), "crop_shapes": np.asarray(r.crop_shape, np.int32),
            "keys": r.key, "splits": r.split, "groups": r.group, "sample_ids": r.sample_id,
            "geometry": json.dumps(r.geometry, sort_keys=True),
        }
        for name, value in row.items():
            ds = g[name]
            ds.resize(i + 1, axis=0)
            ds[i] = value
            self._hashes[f"{r.cls}/{name}"].update(_row_bytes(name, value))
        self._counts[r.cls] = i + 1

    def finish(self, config_dict: dict, fingerprint: str = "") -> None:
        """Store the config and fingerprint, then the manifest and the completeness marker."""
        f = self._file
        f.attrs["config_json"] = json.dumps(config_dict, sort_keys=True)
        f.attrs["fingerprint"] = fingerprint
        f.attrs["classes"] = json.dumps(list(self._counts))
        manifest = {"counts": self._counts,
                    "sha256": {k: h.hexdigest() for k, h in self._hashes.items()}}
        f.flush()
        f.attrs["manifest_json"] = json.dumps(manifest, sort_keys=True)
        f.attrs["complete"] = 1  # last: a file without it was not finished
        self._finished = True

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if self._file is not None:
                self._file.close()
        except Exception as close_exc:  # e.g. the disk filled up while HDF5 flushed: never install it
            self._file = None
            if exc_type is None:
                err = CacheError(f"{self.path}: could not finish writing the cache ({close_exc}); the old "
                                 "cache (if any) is kept")
                self._atomic.__exit__(CacheError, err, None)
                raise err from None
            self._atomic.__exit__(exc_type, exc, tb)
            return
        finally:
            self._file = None
            if exc_type is None and not self._finished:
                exc_type, exc = RuntimeError, RuntimeError("CacheWriter closed without finish()")
                self._atomic.__exit__(exc_type, exc, None)
                raise exc
            self._atomic.__exit__(exc_type, exc, tb)


def write_cache(path: str | Path, records: Iterable[CacheRecord], config_dict: dict,
                progress: Callable[..., None] | None = None, *, params: CacheParams = CacheParams(),
                fingerprint: str = "") -> int:
    """Write ``records`` (any iterable, consumed once) to a new cache at ``path``, atomically.

    Returns the number of records written. ``progress(done, total, message)`` after each record
    (total is None when ``records`` has no length).
    """
    total = len(records) if hasattr(records, "__len__") else None
    n = 0
    with CacheWriter(path, params) as w:
        for rec in records:
            w.add(rec)
            n += 1
            if progress is not None:
                progress(n, total, rec.key)
        w.finish(config_dict, fingerprint)
    return n


class Cache:
    """A verified, open cache file (see :func:`open_cache`); use as a context manager."""

    def __init__(self, path: Path, file: h5py.File, manifest: dict) -> None:
        self.path = path
        self._f = file
        self._manifest = manifest
        self.config: dict = json.loads(file.attrs["config_json"])
        self.fingerprint: str = str(file.attrs["fingerprint"])
        self.size: int = int(file.attrs["size"])

    def classes(self) -> list[str]:
        return [c for c in json.loads(self._f.attrs["classes"])]

    def __len__(self) -> int:
        return sum(self._manifest["counts"].values())

    def _group(self, cls: str) -> h5py.Group:
        if cls not in self._manifest["counts"]:
            raise KeyError(f"{self.path}: no class {cls!r} in the cache (has {', '.join(self.classes())})")
        return self._f[cls]

    def _strings(self, cls: str, name: str) -> list[str]:
        return [s for s in self._group(cls)[name].asstr()[()]]

    def _rows(self, cls: str, name: str, index) -> np.ndarray:
        ds = self._group(cls)[name]
        if index is None:
            return ds[()]
        idx = np.asarray(index, dtype=np.int64).ravel()
        if idx.size == 0:
            return np.zeros((0, *ds.shape[1:]), ds.dtype)
        order = np.argsort(idx, kind="stable")
        uniq, inverse = np.unique(idx[order], return_inverse=True)  # h5py wants increasing indices
        out = ds[uniq.tolist()][inverse]
        result = np.empty_like(out)
        result[order] = out
        return result

    def keys(self, cls: str) -> list[str]:
        return self._strings(cls, "keys")

    def splits(self, cls: str) -> list[str]:
        return self._strings(cls, "splits")

    def groups(self, cls: str) -> list[str]:
        return self._strings(cls, "groups")

    def sample_ids(self, cls: str) -> list[str]:
        return self._strings(cls, "sample_ids")

    def select(self, cls: str, split: str | None = None, group: str | None = None) -> np.ndarray:
        """Row indices of ``cls`` with the given split and/or group."""
        splits, groups = self.splits(cls), self.groups(cls)
        return np.array([i for i, (s, g) in enumerate(zip(splits, groups))
                         if (split is None or s == split) and (group is None or g == group)],
                        dtype=np.int64)

    def inputs(self, cls: str, index=None) -> np.ndarray:
        """uint8 (N, S, S, 3); ``index`` (row numbers, any order) reads only those rows."""
        return self._rows(cls, "inputs", index)

    def masks(self, cls: str, index=None) -> np.ndarray:
        """bool (N, S, S) defect masks."""
        return self._rows(cls, "masks", index).astype(bool)

    def roi_masks(self, cls: str, index=None) -> np.ndarray:
        """bool (N, S, S) ROI masks."""
        return self._rows(cls, "roi_masks", index).astype(bool)

    def labels(self, cls: str) -> np.ndarray:
        """int64 (N,), 1 = defect sample."""
        return self._rows(cls, "labels", None).astype(np.int64)

    def crops(self, cls: str) -> np.ndarray:
        """int32 (N, 4) crop boxes x0, y0, x1, y1 (level-0 pixels, exclusive)."""
        return self._rows(cls, "crops", None)

    def crop_shapes(self, cls: str) -> np.ndarray:
        """int32 (N, 2) crop (h, w) before resizing to S x S."""
        return self._rows(cls, "crop_shapes", None)

    def geometry(self, cls: str) -> list[dict]:
        return [json.loads(s) for s in self._strings(cls, "geometry")]

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> "Cache":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _verify(f: h5py.File, manifest: dict, block: int = 32) -> str | None:
    """None when every data set matches the manifest, else what is wrong."""
    for cls, n in manifest["counts"].items():
        if cls not in f:
            return f"class {cls} is missing"
        for name in (*_ARRAY_FIELDS, *_STRING_FIELDS):
            ds = f[cls].get(name)
            if ds is None or ds.shape[0] != n:
                return f"{cls}/{name} is missing or has the wrong length"
            h = hashlib.sha256()
            for start in range(0, n, block):
                rows = ds.asstr()[start:start + block] if name in _STRING_FIELDS else ds[start:start + block]
                for row in rows:
                    h.update(_row_bytes(name, row))
            if h.hexdigest() != manifest["sha256"].get(f"{cls}/{name}"):
                return f"{cls}/{name} does not match its checksum"
    return None


def open_cache(path: str | Path, verify: bool = True) -> Cache:
    """Open a cache written by :func:`write_cache`, checking it is complete and (``verify``) intact.

    Raises :class:`CacheError` for a missing, half-written, truncated or corrupted file.
    """
    path = Path(path)
    if not path.is_file():
        raise CacheError(f"{path}: cache file not found. Run 'bearing-inspect preprocess' to build it")
    try:
        f = h5py.File(path, "r")
    except Exception as exc:  # h5py raises OSError (and others) for damaged files
        raise CacheError(f"{path}: not a readable cache file ({exc}). {_HINT}") from None
    try:
        if f.attrs.get("format") != FORMAT:
            raise CacheError(f"{path}: not a Bearing Inspector cache file. {_HINT}")
        if int(f.attrs.get("version", -1)) != VERSION:
            raise CacheError(f"{path}: cache format version {f.attrs.get('version')} is not "
                             f"{VERSION}. {_HINT}")
        if int(f.attrs.get("complete", 0)) != 1 or "manifest_json" not in f.attrs:
            raise CacheError(f"{path}: the cache was not completely written. {_HINT}")
        manifest = json.loads(f.attrs["manifest_json"])
        if verify:
            wrong = _verify(f, manifest)
            if wrong:
                raise CacheError(f"{path}: the cache is corrupt ({wrong}). {_HINT}")
        return Cache(path, f, manifest)
    except CacheError:
        f.close()
        raise
    except Exception as exc:  # damaged internals surface as OSError/KeyError/ValueError in h5py
        f.close()
        raise CacheError(f"{path}: the cache is corrupt ({type(exc).__name__}: {exc}). {_HINT}") from None

"""Preprocessing a whole data set: fit the per-class statistics, then run every sample.

One sample at a time is loaded, preprocessed, handed on and dropped, so memory stays at one
full-resolution sample plus the (small, cache-sized) records kept. A sample that cannot be used
(unreadable file, missing mask, ROI not found, mask size mismatch) becomes a :class:`Problem`
with its path and reason, and the batch goes on. No printing: progress and cancellation go through
callbacks, so the GUI can run this in a worker thread.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from core.errors import InputError, ROINotFoundError
from core.io.cache import CacheParams, CacheRecord, resize_record
from core.io.dataset import Dataset, Problem, Sample, fingerprint, load_levels, load_mask
from core.io.images import read_grey
from core.preprocess.pipeline import (PreprocessConfig, PreprocessResult, fit_class_statistics,
                                      preprocess_sample)
from core.progress import ProgressFn

# on_sample(sample, levels, result, mask_full): sees the full-resolution data of each processed
# sample before it is dropped (the CLI draws overlay PNGs here).
SampleHook = Callable[[Sample, list[np.ndarray], PreprocessResult, np.ndarray], None]


class _Cancelled(Exception):
    pass


@dataclass
class BatchResult:
    """What :func:`preprocess_dataset` did."""

    config: PreprocessConfig            # with the fitted statistics filled in
    records: list[CacheRecord] = field(default_factory=list)  # cache-sized; empty with a sink
    geometry: list[dict] = field(default_factory=list)        # docs/architecture.md schema + crop
    problems: list[Problem] = field(default_factory=list)     # one per skipped sample (+ fit notes)
    processed: dict[str, int] = field(default_factory=dict)   # class -> samples processed
    skipped: list[str] = field(default_factory=list)          # keys of skipped samples
    fitted: list[str] = field(default_factory=list)           # classes whose statistics were fitted
    fingerprint: str = ""
    cancelled: bool = False

    @property
    def n_processed(self) -> int:
        return sum(self.processed.values())


def _fit_samples(dataset: Dataset, cls: str) -> list[Sample]:
    """Training samples of ``cls`` to fit on: the train split, or every sample if there is none."""
    train = [s for s in dataset.select(cls=cls, split="train") if s.level_paths[0] is not None]
    return train or [s for s in dataset.select(cls=cls) if s.level_paths[0] is not None]


class _Level0Images:
    """Level-0 images read one at a time (a sized iterable for fit_class_statistics)."""

    def __init__(self, samples: Sequence[Sample], tick: Callable[[str], None],
                 cancel: Callable[[], bool] | None) -> None:
        self.samples, self.tick, self.cancel = samples, tick, cancel

    def __len__(self) -> int:
        return len(self.samples)

    def __iter__(self) -> Iterator[np.ndarray]:
        for s in self.samples:
            if self.cancel is not None and self.cancel():
                raise _Cancelled
            self.tick(f"fit {s.key}")
            try:
                img = read_grey(s.level_paths[0])
            except InputError:
                continue  # not lost: the same file fails again, and is reported, as a sample
            yield img


def _reason(exc: Exception) -> str:
    if isinstance(exc, InputError):
        return f"{exc.problem}. {exc.hint}".rstrip(". ") if exc.hint else exc.problem
    if isinstance(exc, ROINotFoundError):
        return f"ROI not found: {exc.reason}"
    return str(exc)


def geometry_entry(sample: Sample, result: PreprocessResult) -> dict:
    """The geometry-list entry of one sample (docs/architecture.md), with its crop box."""
    return {"class": sample.cls, "split": sample.split, "group": sample.group,
            "sample": sample.sample_id, **result.to_geometry()}


def preprocess_dataset(dataset: Dataset, config: PreprocessConfig,
                       cache_params: CacheParams = CacheParams(),
                       progress: ProgressFn | None = None,
                       cancel: Callable[[], bool] | None = None, *,
                       classes: Sequence[str] | None = None, fit: bool = True,
                       sink: Callable[[CacheRecord], None] | None = None,
                       on_sample: SampleHook | None = None) -> BatchResult:
    """Preprocess every sample of ``dataset`` (of ``classes``, default all it has).

    If ``fit`` and a class's statistics are unset in ``config``, they are first fitted on that
    class's train-split level-0 images (all its images if it has no train split). Each processed
    sample becomes a :class:`CacheRecord` resized to ``cache_params.size``, passed to ``sink`` if
    given (e.g. :meth:`core.io.cache.CacheWriter.add`, so nothing accumulates) or else kept in
    ``result.records``. ``progress(done, total, message)`` counts fit images and samples together;
    ``cancel()`` returning True stops at the next image with ``result.cancelled`` set.
    """
    classes = list(classes) if classes is not None else dataset.classes()
    samples = [s for s in dataset.samples if s.cls in classes]
    fit_plan = {}
    if fit:
        for cls in classes:
            if not config.for_class(cls).is_fitted:
                fit_plan[cls] = _fit_samples(dataset, cls)
    total = len(samples) + sum(len(v) for v in fit_plan.values())
    done = 0

    def tick(message: str) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total, message)

    result = BatchResult(config=config, fingerprint=fingerprint(dataset))
    try:
        for cls, fit_samples in fit_plan.items():
            images = _Level0Images(fit_samples, tick, cancel)
            try:
                fitted = fit_class_statistics(images, cls, config.for_class(cls))
            except ROINotFoundError as exc:
                result.problems.append(Problem(
                    dataset.root / cls, f"could not fit the {cls} statistics ({exc.reason}); "
                                        "each sample is preprocessed on its own"))
            else:
                result.config = dataclasses.replace(result.config, **{cls: fitted})
                config = result.config
                result.fitted.append(cls)
        for s in samples:
            if cancel is not None and cancel():
                raise _Cancelled
            _run_one(s, config, cache_params, result, sink, on_sample)
            tick(s.key)
    except _Cancelled:
        result.cancelled = True
    return result


def _run_one(s: Sample, config: PreprocessConfig, cache_params: CacheParams, result: BatchResult,
             sink, on_sample) -> None:
    try:
        levels = load_levels(s)
        mask_full = load_mask(s, levels[0].shape)
        res = preprocess_sample(levels, s.cls, config.for_class(s.cls), path=s.first_path)
    except (InputError, ROINotFoundError) as exc:
        result.problems.append(Problem(Path(exc.path) if exc.path else s.first_path, _reason(exc), s.key))
        result.skipped.append(s.key)
        return
    except ValueError as exc:  # e.g. fewer levels than the class's composition needs
        result.problems.append(Problem(s.first_path, str(exc), s.key))
        result.skipped.append(s.key)
        return
    if on_sample is not None:
        on_sample(s, levels, res, mask_full)
    geo = geometry_entry(s, res)
    record = resize_record(CacheRecord(
        s.cls, s.split, s.group, s.sample_id, s.key, int(s.is_anomalous), res.composed,
        res.crop_mask(mask_full), res.roi_mask, tuple(int(v) for v in res.crop), geo),
        cache_params.size)
    if sink is not None:
        sink(record)
    else:
        result.records.append(record)
    result.geometry.append(geo)
    result.processed[s.cls] = result.processed.get(s.cls, 0) + 1

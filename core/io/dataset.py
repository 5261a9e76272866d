"""Finding the samples of a data set on disk, and reporting every layout problem by file.

Layout (see docs/architecture.md)::

    ROOT/<CLASS>/{train,test}/<group>/<sample>_<level>.<ext>     group: good or a defect type
    ROOT/<CLASS>/ground_truth/<group>/<sample>_mask.<ext>         defect masks, level-0 coordinates

Scanning never raises for a problem with one file: it keeps what is usable and lists each problem
(missing level, stray or unsupported file, duplicate, defect sample without mask, mask without
sample, mask for a good sample) with the file it concerns, so a batch can show them all at once.
Operating-system litter (names starting with ``.``, ``Thumbs.db``, ``desktop.ini``) is ignored.
"""

from __future__ import annotations

import glob
import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.config import ConfigError, param
from core.errors import InputError
from core.io.images import SUPPORTED_EXTENSIONS, read_grey
from core.io.masks import MASK_SUFFIX, read_mask

CLASSES: tuple[str, ...] = ("LC", "SC", "OD")
SPLITS: tuple[str, ...] = ("train", "test")
GOOD = "good"
GROUND_TRUTH = "ground_truth"

LAYOUT_HINT = ("Expected ROOT/<CLASS>/{train,test}/<group>/<sample>_<level>.<ext> with CLASS one of "
               "LC, SC, OD, group 'good' or a defect type, and masks in "
               "ROOT/<CLASS>/ground_truth/<group>/<sample>_mask.png")

_OS_LITTER = {"thumbs.db", "desktop.ini"}


@dataclass(frozen=True)
class Sample:
    """One inspected part in one view: its level images and (for defect samples) its mask."""

    cls: str
    split: str
    group: str
    sample_id: str
    level_paths: tuple[Path | None, ...]  # index = position in LayoutParams.levels (= level 0, 1, 2)
    mask_path: Path | None
    label: str | None = None              # "good"/"dent" from ROOT/labels.json when it overrides the folder

    @property
    def key(self) -> str:
        """``"LC/train/good/003"``; for :func:`scan_folder` samples the relative path without level."""
        if not self.split and not self.group:
            return self.sample_id
        return f"{self.cls}/{self.split}/{self.group}/{self.sample_id}"

    @property
    def is_anomalous(self) -> bool:
        if self.label is not None:
            return self.label != GOOD
        return self.group != GOOD and self.group != ""

    @property
    def first_path(self) -> Path:
        """The first level file that exists (every sample has at least one)."""
        return next(p for p in self.level_paths if p is not None)


@dataclass
class Problem:
    """A file that could not be used as it is, and why."""

    path: Path
    problem: str
    sample_key: str | None = None
    code: str = ""      # machine-readable kind where a caller acts on it: "ambiguous_mask"

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"


@dataclass
class LayoutParams:
    """How sample and level are read from an image file name."""

    pattern: str = param(r"^(?P<sample>.+)_(?P<level>[0-9])$",
                         "Regular expression applied to the file name without extension; named "
                         "groups 'sample' and 'level' give the sample id and the brightness level",
                         group="Data set layout", advanced=True)
    levels: tuple[int, ...] = param((0, 1, 2), "Brightness levels every sample must have",
                                    min=0, max=9, group="Data set layout", advanced=True)

    def compiled(self) -> re.Pattern:
        try:
            rx = re.compile(self.pattern)
        except re.error as exc:
            raise ConfigError(f"pattern: not a valid regular expression ({exc})") from None
        if not {"sample", "level"} <= set(rx.groupindex):
            raise ConfigError("pattern: needs the named groups (?P<sample>...) and (?P<level>...)")
        if not self.levels or len(set(self.levels)) != len(self.levels):
            raise ConfigError("levels: must list each level once")
        return rx


@dataclass
class Dataset:
    root: Path
    samples: list[Sample] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def select(self, cls: str | None = None, split: str | None = None,
               group: str | None = None) -> list[Sample]:
        return [s for s in self.samples
                if (cls is None or s.cls == cls) and (split is None or s.split == split)
                and (group is None or s.group == group)]

    def classes(self) -> list[str]:
        """The classes that have at least one sample, in the order found."""
        return list(dict.fromkeys(s.cls for s in self.samples))


# --- helpers ------------------------------------------------------------------------------------

def _natural_key(text: str) -> list:
    return [(0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", text) if t]


def _is_litter(name: str) -> bool:
    return name.startswith(".") or name.lower() in _OS_LITTER


def _valid_name(name: str, folder: Path, problems: list[Problem] | None) -> bool:
    """False (and a problem) for a name the file system gave us as bytes that are not UTF-8."""
    try:
        name.encode("utf-8")
        return True
    except UnicodeEncodeError:
        if problems is not None:
            shown = name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            problems.append(Problem(folder / shown, "file name is not valid UTF-8 text; rename it "
                                                    "(it is left out)"))
        return False


def _listdir(folder: Path, problems: list[Problem] | None = None) -> list[os.DirEntry]:
    with os.scandir(folder) as it:
        entries = [e for e in it if not _is_litter(e.name) and _valid_name(e.name, folder, problems)]
    return sorted(entries, key=lambda e: _natural_key(e.name))


def _ext_rank(path: Path) -> int:
    ext = path.suffix.lower()
    return SUPPORTED_EXTENSIONS.index(ext) if ext in SUPPORTED_EXTENSIONS else len(SUPPORTED_EXTENSIONS)


def _describe_pattern(layout: LayoutParams) -> str:
    if layout.pattern == LayoutParams.pattern:  # the default
        return f"expected <sample>_<level>{{{','.join(map(str, layout.levels))}}}.<ext>, e.g. 003_0.png"
    return f"expected a name matching {layout.pattern!r}"


class _LevelCollector:
    """Groups the image files of one folder into samples (sample id -> level -> paths)."""

    def __init__(self, layout: LayoutParams, problems: list[Problem]) -> None:
        self.layout = layout
        self.rx = layout.compiled()
        self.problems = problems
        self.found: dict[str, dict[int, list[Path]]] = {}

    def add(self, path: Path) -> None:
        ext = path.suffix.lower()
        if ext not in SUPPORTED_EXTENSIONS:
            self.problems.append(Problem(path, f"unsupported file type '{path.suffix or '(none)'}'; "
                                               f"images must be {', '.join(SUPPORTED_EXTENSIONS)}"))
            return
        m = self.rx.match(path.stem)
        if not m or not m.group("sample") or m.group("level") is None:
            if path.stem.endswith(MASK_SUFFIX):
                self.problems.append(Problem(path, "mask file among the images; masks belong in "
                                                   "<CLASS>/ground_truth/<group>/"))
            else:
                self.problems.append(Problem(path, "file name does not say sample and level: "
                                                   + _describe_pattern(self.layout)))
            return
        try:
            level = int(m.group("level"))
        except ValueError:
            self.problems.append(Problem(path, f"level {m.group('level')!r} is not a number"))
            return
        if level not in self.layout.levels:
            self.problems.append(Problem(path, f"level {level} is not one of the expected levels "
                                               f"{', '.join(map(str, self.layout.levels))}"))
            return
        self.found.setdefault(m.group("sample"), {}).setdefault(level, []).append(path)

    def samples(self, key_of) -> list[tuple[str, tuple[Path | None, ...]]]:
        """(sample id, level paths) per sample, reporting duplicates and missing levels."""
        out = []
        for sid in sorted(self.found, key=_natural_key):
            by_level = self.found[sid]
            paths: list[Path | None] = []
            for level in self.layout.levels:
                candidates = sorted(by_level.get(level, []), key=lambda p: (_ext_rank(p), p.name))
                if len(candidates) > 1:
                    for extra in candidates[1:]:
                        self.problems.append(Problem(
                            extra, f"duplicate of {candidates[0].name} (same sample and level, "
                                   f"another extension); using {candidates[0].name}", key_of(sid)))
                paths.append(candidates[0] if candidates else None)
            present = next(p for p in paths if p is not None)
            for level, p in zip(self.layout.levels, paths):
                if p is None:
                    self.problems.append(Problem(present, f"sample {sid!r} has no level {level} image "
                                                          f"in {present.parent}", key_of(sid)))
            out.append((sid, tuple(paths)))
        return out


# --- scanning -----------------------------------------------------------------------------------

def _scan_masks(gt_dir: Path, problems: list[Problem]) -> dict[tuple[str, str], Path]:
    """(group, sample id) -> mask path for ``CLASS/ground_truth``."""
    masks: dict[tuple[str, str], list[Path]] = {}
    for g in _listdir(gt_dir, problems):
        gpath = Path(g.path)
        if not g.is_dir():
            problems.append(Problem(gpath, "file directly in ground_truth; masks belong in "
                                           "ground_truth/<group>/<sample>_mask.png"))
            continue
        for e in _listdir(gpath, problems):
            p = Path(e.path)
            if e.is_dir():
                problems.append(Problem(p, "unexpected sub-folder in a ground_truth group folder"))
            elif p.suffix.lower() not in SUPPORTED_EXTENSIONS:
                problems.append(Problem(p, f"unsupported file type '{p.suffix or '(none)'}' for a mask; "
                                           "masks are PNG"))
            elif not p.stem.endswith(MASK_SUFFIX) or p.stem == MASK_SUFFIX:
                problems.append(Problem(p, "file name is not <sample>_mask.<ext>"))
            else:
                masks.setdefault((g.name, p.stem[: -len(MASK_SUFFIX)]), []).append(p)
    out = {}
    for k, paths in masks.items():
        paths.sort(key=lambda p: (_ext_rank(p), p.name))
        for extra in paths[1:]:
            problems.append(Problem(extra, f"duplicate mask (another extension); using {paths[0].name}"))
        out[k] = paths[0]
    return out


def _scan_class(root: Path, cls: str, layout: LayoutParams, problems: list[Problem],
                overrides: dict[str, str] | None = None) -> list[Sample]:
    cdir = root / cls
    found: list[Sample] = []
    masks: dict[tuple[str, str], Path] = {}
    for e in _listdir(cdir, problems):
        p = Path(e.path)
        if not e.is_dir():
            problems.append(Problem(p, f"file directly in the class folder; expected only the "
                                       f"folders {', '.join(SPLITS)}, {GROUND_TRUTH}"))
        elif e.name == GROUND_TRUTH:
            masks = _scan_masks(p, problems)
        elif e.name not in SPLITS:
            problems.append(Problem(p, f"unexpected folder; a class folder holds only "
                                       f"{', '.join(SPLITS)} and {GROUND_TRUTH}"))
    for split in SPLITS:
        sdir = cdir / split
        if not sdir.is_dir():
            continue
        for g in _listdir(sdir, problems):
            gpath = Path(g.path)
            if not g.is_dir():
                problems.append(Problem(gpath, f"file directly in the {split} folder; images belong "
                                               f"in a group folder such as {split}/good/"))
                continue
            collector = _LevelCollector(layout, problems)
            for e in _listdir(gpath, problems):
                if e.is_dir():
                    problems.append(Problem(Path(e.path), "unexpected sub-folder; images sit "
                                                          "directly in the group folder"))
                else:
                    collector.add(Path(e.path))
            key_of = lambda sid, s=split, grp=g.name: f"{cls}/{s}/{grp}/{sid}"  # noqa: E731
            for sid, paths in collector.samples(key_of):
                label = (overrides or {}).get(key_of(sid))
                found.append(Sample(cls, split, g.name, sid, paths, None, label))

    # Masks are per group, not per split: the same id in train and test would share one mask.
    by_group_id: dict[tuple[str, str], list[Sample]] = {}
    for s in found:
        by_group_id.setdefault((s.group, s.sample_id), []).append(s)
    used: set[tuple[str, str]] = set()
    samples: list[Sample] = []
    for s in found:
        k = (s.group, s.sample_id)
        mask = masks.get(k)
        if mask is not None:
            used.add(k)
        if not s.is_anomalous:
            if mask is not None and s.label is None:
                problems.append(Problem(mask, "mask for a good sample; ignored (good samples have "
                                              "no defect)", s.key))
            mask = None
        elif len(by_group_id[k]) > 1:
            where = " and ".join(x.split for x in by_group_id[k])
            problems.append(Problem(s.first_path, f"sample id {s.sample_id!r} of group {s.group!r} is "
                                                  f"in both {where}, so its mask is ambiguous; "
                                                  "mask not used, rename one of them", s.key,
                                    code="ambiguous_mask"))
            mask = None
        elif mask is None:
            expected = root / cls / GROUND_TRUTH / s.group / f"{s.sample_id}{MASK_SUFFIX}.png"
            problems.append(Problem(expected, "defect sample has no mask", s.key))
        samples.append(Sample(s.cls, s.split, s.group, s.sample_id, s.level_paths, mask, s.label))
    for k, p in masks.items():
        if k not in used:
            problems.append(Problem(p, f"mask without a sample (no {cls}/train or {cls}/test image "
                                       f"of sample {k[1]!r} in group {k[0]!r})"))
    return samples


def _split_rank(s: Sample) -> tuple:
    return (SPLITS.index(s.split) if s.split in SPLITS else 9, s.group != GOOD,
            _natural_key(s.group), _natural_key(s.sample_id))


def _label_overrides(root: Path, problems: list[Problem]) -> dict[str, str]:
    """The relabels a person made in the app (``ROOT/labels.json``, see :mod:`core.labels`)."""
    from core.labels import LABELS_FILE, LabelStore

    if not (root / LABELS_FILE).exists():
        return {}
    try:
        return LabelStore(root).overrides
    except InputError as exc:
        problems.append(Problem(root / LABELS_FILE, f"{exc.problem}; folder labels used instead"))
        return {}


def scan_dataset(root: str | Path, layout: LayoutParams = LayoutParams(),
                 classes: tuple[str, ...] = CLASSES) -> Dataset:
    """All samples of a data set in the standard layout, and every layout problem by file.

    Raises :class:`InputError` only if ``root`` is not a folder or holds none of the class folders.
    """
    root = Path(root)
    if not root.exists():
        raise InputError(root, "data set folder not found", LAYOUT_HINT)
    if not root.is_dir():
        raise InputError(root, "is a file, not a data set folder", LAYOUT_HINT)
    layout.compiled()
    present = [c for c in classes if (root / c).is_dir()]
    if not present:
        seen = sorted(e.name for e in _listdir(root) if e.is_dir())
        found = f" (found folders: {', '.join(seen[:10])})" if seen else " (it has no sub-folders)"
        raise InputError(root, f"contains none of the class folders {', '.join(classes)}{found}",
                         LAYOUT_HINT)
    problems: list[Problem] = []
    overrides = _label_overrides(root, problems)
    samples: list[Sample] = []
    for cls in classes:
        if cls not in present:
            problems.append(Problem(root / cls, f"class folder {cls} not found"))
            continue
        samples.extend(sorted(_scan_class(root, cls, layout, problems, overrides), key=_split_rank))
    return Dataset(root, samples, problems)


def scan_folder(folder: str | Path, layout: LayoutParams = LayoutParams(),
                cls: str | None = None) -> Dataset:
    """Samples anywhere below ``folder`` (any depth, no splits), for batch inspection.

    The class is ``cls`` or the nearest folder named LC, SC or OD on the sample's path; samples
    whose class cannot be told are reported as problems. ``split`` and ``group`` are ``""`` and the
    key is the sample's path relative to ``folder`` without the level (``"LC/lot7/003"``).
    """
    folder = Path(folder)
    if cls is not None and cls not in CLASSES:
        raise InputError(None, f"unknown class {cls!r}", f"Use one of {', '.join(CLASSES)}")
    if not folder.exists():
        raise InputError(folder, "folder not found")
    if not folder.is_dir():
        raise InputError(folder, "is a file, not a folder")
    layout.compiled()
    problems: list[Problem] = []
    samples: list[Sample] = []
    outer_cls = next((p for p in reversed(folder.resolve().parts) if p in CLASSES), None)
    for dirpath, dirnames, filenames in os.walk(folder):
        here = Path(dirpath)
        dirnames[:] = sorted((d for d in dirnames if not _is_litter(d) and _valid_name(d, here, problems)),
                             key=_natural_key)
        if GROUND_TRUTH in dirnames:
            dirnames.remove(GROUND_TRUTH)
            problems.append(Problem(here / GROUND_TRUTH, "ground_truth folder skipped (inspecting a "
                                                         "folder reads images only)"))
        rel = here.relative_to(folder)
        collector = _LevelCollector(layout, problems)
        for name in sorted(filenames, key=_natural_key):
            if not _is_litter(name) and _valid_name(name, here, problems):
                collector.add(here / name)
        this_cls = cls or next((p for p in reversed(rel.parts) if p in CLASSES), outer_cls)
        key_of = lambda sid, r=rel: (r / sid).as_posix()  # noqa: E731
        for sid, paths in collector.samples(key_of):
            key = key_of(sid)
            if this_cls is None:
                first = next(p for p in paths if p is not None)
                problems.append(Problem(first, "cannot tell the class (no folder named LC, SC or OD "
                                               "on its path); give the class explicitly", key))
                continue
            samples.append(Sample(this_cls, "", "", key, paths, None))
    return Dataset(folder, samples, problems)


# --- loading ------------------------------------------------------------------------------------

def load_levels(sample: Sample) -> list[np.ndarray]:
    """The level images of ``sample`` as ``uint8`` (H, W) arrays, in level order.

    Raises :class:`InputError` naming the file if a level is missing or unreadable, or if the
    levels differ in size.
    """
    out: list[np.ndarray] = []
    for i, p in enumerate(sample.level_paths):
        if p is None:
            raise InputError(sample.first_path, f"sample {sample.key} has no level {i} image")
        img = read_grey(p)
        if out and img.shape != out[0].shape:
            raise InputError(p, f"level {i} is {img.shape[1]}x{img.shape[0]} pixels but level 0 "
                                f"is {out[0].shape[1]}x{out[0].shape[0]}",
                             "All levels of a sample must be shot at the same size")
        out.append(img)
    return out


def expected_mask_path(sample: Sample) -> Path:
    """Where the mask of a :func:`scan_dataset` sample belongs (ROOT/CLASS/ground_truth/GROUP/...)."""
    class_dir = sample.first_path.parents[2]  # ROOT/CLASS/split/group/file
    return class_dir / GROUND_TRUTH / sample.group / f"{sample.sample_id}{MASK_SUFFIX}.png"


def load_mask(sample: Sample, shape: tuple[int, int]) -> np.ndarray:
    """The defect mask of ``sample`` as ``bool`` (H, W); all False for a good sample without mask.

    Raises :class:`InputError` if the mask is unreadable, its size differs from ``shape`` (H, W),
    or a defect sample has no mask.
    """
    if sample.mask_path is not None:
        return read_mask(sample.mask_path, expected_shape=shape)
    if not sample.is_anomalous:
        return np.zeros(tuple(shape[:2]), dtype=bool)
    expected = expected_mask_path(sample)
    stem = f"{sample.sample_id}{MASK_SUFFIX}"
    if any(p.stem == stem and p.suffix.lower() in SUPPORTED_EXTENSIONS
           for p in expected.parent.glob(glob.escape(stem) + ".*")):
        # there is a mask file, but scanning set it aside (see _scan_class): say why
        raise InputError(expected, f"mask of {sample.key} not used: sample id {sample.sample_id!r} "
                         f"of group {sample.group!r} is in both train and test, so the mask is "
                         "ambiguous", "Rename one of the two samples and its mask")
    raise InputError(expected, f"defect sample {sample.key} has no mask",
                     "Draw one in the label view or save it there as a black/white PNG")


def fingerprint(dataset: Dataset) -> str:
    """A SHA-256 over every sample's key, files (path relative to the root), sizes and mtimes.

    Changes when a file is added, removed, renamed or rewritten; used to tell a stale cache.
    """
    h = hashlib.sha256()
    for s in dataset.samples:
        h.update(s.key.encode("utf-8") + b"\0")
        for p in (*s.level_paths, s.mask_path):
            if p is None:
                h.update(b"-\0")
                continue
            try:
                st = p.stat()
                stamp = f"{st.st_size}:{st.st_mtime_ns}"
            except OSError:
                stamp = "missing"
            try:
                rel = p.relative_to(dataset.root).as_posix()
            except ValueError:
                rel = p.as_posix()
            h.update(f"{rel}|{stamp}\0".encode("utf-8", "surrogateescape"))
    return h.hexdigest()

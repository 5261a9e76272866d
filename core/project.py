"""The project: which data set, how each class is preprocessed, which training runs belong to it.

A project is one readable JSON file (``*.bearing.json``), saved atomically::

    {
      "format": "bearing-inspector-project",
      "version": 1,
      "dataset_root": "data",                # relative to the project file's folder, or absolute
      "preprocess": { "LC": {...}, "SC": {...}, "OD": {...} },   # core.config.to_dict of the config
      "runs": [ {"name": "lc-dinomaly", "path": "runs/lc-dinomaly", "cls": "LC", "external": false} ]
    }

Path rule: paths the program writes into a project stay inside the project folder (relative, no
``..`` that climbs out). A path may point elsewhere only when a person chose it: the data set root
(always picked by the user) and runs added with ``external=True``. A file that breaks the rule is
rejected with an error naming the entry, so a shared project file cannot make the app read or write
outside its folder behind the user's back.

The preprocessing config is kept as plain data here and converted by ``preprocess_config()`` /
``set_preprocess_config()``, so this module loads a project even before anything is preprocessed.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import InputError
from core.io.atomic import atomic_write_json

PROJECT_SUFFIX = ".bearing.json"
_FORMAT = "bearing-inspector-project"
_VERSION = 1


@dataclass
class RunRef:
    """A training run folder listed in the project."""

    name: str
    path: Path  # absolute once loaded
    cls: str = ""
    external: bool = False  # True when a person picked a folder outside the project


@dataclass
class Project:
    """In-memory project; ``path`` is None until first saved."""

    dataset_root: Path
    path: Path | None = None
    preprocess: dict[str, Any] = field(default_factory=dict)
    runs: list[RunRef] = field(default_factory=list)

    @property
    def folder(self) -> Path | None:
        return None if self.path is None else self.path.parent

    @property
    def name(self) -> str:
        if self.path is not None:
            return self.path.name[: -len(PROJECT_SUFFIX)] if self.path.name.endswith(
                PROJECT_SUFFIX) else self.path.stem
        return self.dataset_root.name or str(self.dataset_root)

    # -- preprocessing config (typed view over the stored plain data) ------------------------
    def preprocess_config(self):
        """The project's ``PreprocessConfig`` (defaults for anything not stored)."""
        from core.config import from_dict
        from core.preprocess.pipeline import PreprocessConfig

        return from_dict(PreprocessConfig, self.preprocess or {}, "preprocess")

    def set_preprocess_config(self, config: Any) -> None:
        from core.config import to_dict

        self.preprocess = to_dict(config)

    # -- runs ----------------------------------------------------------------------------------
    def add_run(self, path: str | Path, name: str = "", cls: str = "", external: bool = False) -> RunRef:
        """List a run folder; it must lie inside the project folder unless ``external``."""
        path = Path(path)
        if not path.is_absolute():
            if self.folder is None:
                raise InputError(path, "a relative run path needs a saved project",
                                 "Save the project first or give an absolute folder")
            path = self.folder / path
        path = Path(os.path.abspath(path))
        if not external:
            self._check_inside(path, "run folder")
        run = RunRef(name or path.name, path, cls, external)
        self.runs.append(run)
        return run

    def _check_inside(self, path: Path, what: str) -> None:
        if self.folder is None:
            return
        folder = Path(os.path.abspath(self.folder))
        try:
            Path(os.path.abspath(path)).relative_to(folder)
        except ValueError:
            raise InputError(self.path, f"the {what} {path} lies outside the project folder {folder}",
                             "Move it into the project folder or add it again as an external "
                             "folder you chose") from None

    # -- saving ----------------------------------------------------------------------------------
    def to_data(self, path: Path) -> dict:
        """The JSON data this project is saved as, with paths relative to ``path``'s folder."""
        folder = Path(os.path.abspath(path.parent))
        runs = []
        for run in self.runs:
            runs.append({"name": run.name, "path": _store_path(run.path, folder, run.external),
                         "cls": run.cls, "external": run.external})
        return {
            "format": _FORMAT,
            "version": _VERSION,
            "dataset_root": _store_path(self.dataset_root, folder, allow_outside=True),
            "preprocess": self.preprocess,
            "runs": runs,
        }

    def save(self, path: str | Path | None = None) -> Path:
        """Save atomically (to ``path``, which becomes the project's path, or to the current one)."""
        target = Path(path) if path is not None else self.path
        if target is None:
            raise ValueError("project has no file yet: give a path")
        if not target.name.endswith(PROJECT_SUFFIX):
            target = target.with_name(target.name + PROJECT_SUFFIX)
        target = Path(os.path.abspath(target))
        if path is not None and self.path is not None and target.parent != self.folder:
            # Save-as into another folder: runs that were inside the old folder become choices
            # the user made (they stay where they are, listed by absolute path).
            for run in self.runs:
                run.external = run.external or not _is_inside(run.path, target.parent)
        data = self.to_data(target)
        try:
            atomic_write_json(target, data)
        except OSError as exc:
            raise InputError(target, f"could not save the project ({exc.strerror or exc})",
                             "Choose a writable folder") from None
        self.path = target
        return target


def _is_inside(path: Path, folder: Path) -> bool:
    try:
        Path(os.path.abspath(path)).relative_to(Path(os.path.abspath(folder)))
        return True
    except ValueError:
        return False


def _store_path(path: Path, folder: Path, allow_outside: bool) -> str:
    path = Path(os.path.abspath(path))
    if _is_inside(path, folder):
        rel = path.relative_to(folder).as_posix()
        return rel or "."
    if not allow_outside:
        raise InputError(path, f"lies outside the project folder {folder}",
                         "Only folders you chose may lie outside the project")
    return str(path)


def _load_path(value: Any, folder: Path, where: str, file: Path, allow_outside: bool) -> Path:
    if not isinstance(value, str) or not value or "\0" in value:
        raise InputError(file, f"{where}: expected a folder path, got {value!r}")
    p = Path(value)
    if p.is_absolute():
        if not allow_outside and not _is_inside(p, folder):
            raise InputError(file, f"{where}: {value} lies outside the project folder",
                             'Mark it "external": true if you chose it yourself')
        resolved = Path(os.path.abspath(p))
    else:
        resolved = Path(os.path.abspath(folder / p))
    if not _is_inside(resolved, folder) and not allow_outside:
        raise InputError(file, f"{where}: {value} climbs out of the project folder",
                         'Mark it "external": true if you chose it yourself')
    # a symbolic link inside the folder must not lead writes outside it either
    if not allow_outside and not _is_inside(Path(os.path.realpath(resolved)),
                                            Path(os.path.realpath(folder))):
        raise InputError(file, f"{where}: {value} leads outside the project folder through a "
                         "symbolic link", 'Mark it "external": true if you chose it yourself')
    return resolved


def new_project(dataset_root: str | Path) -> Project:
    """An unsaved project over a data set folder (default preprocessing, no runs)."""
    return Project(dataset_root=Path(os.path.abspath(dataset_root)))


def load_project(path: str | Path) -> Project:
    """Load a project file; errors name the file and the entry."""
    path = Path(os.path.abspath(path))
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(path, "project file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(path, f"not a readable project file ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != _FORMAT:
        raise InputError(path, "not a Bearing Inspector project file",
                         f'expected "format": "{_FORMAT}"')
    if data.get("version") != _VERSION:
        raise InputError(path, f"project version {data.get('version')!r} is not supported",
                         f"this program reads version {_VERSION}")
    unknown = sorted(set(data) - {"format", "version", "dataset_root", "preprocess", "runs"})
    if unknown:
        raise InputError(path, f"unknown entries {', '.join(unknown)}")
    folder = path.parent
    root = _load_path(data.get("dataset_root"), folder, "dataset_root", path, allow_outside=True)
    preprocess = data.get("preprocess") or {}
    if not isinstance(preprocess, dict):
        raise InputError(path, "preprocess: expected an object")
    runs = []
    for i, entry in enumerate(data.get("runs") or []):
        if not isinstance(entry, dict):
            raise InputError(path, f"runs[{i}]: expected an object")
        external = bool(entry.get("external", False))
        run_path = _load_path(entry.get("path"), folder, f"runs[{i}].path", path, external)
        runs.append(RunRef(str(entry.get("name") or run_path.name), run_path,
                           str(entry.get("cls", "")), external))
    return Project(dataset_root=root, path=path, preprocess=preprocess, runs=runs)

"""Run folders: everything needed to understand, resume, reproduce and use one training.

```
RUN/run.json            kind, status, class, config (preprocessing + model + training), data set
                        fingerprint, code version, encoder description (random weights flagged),
                        pid/host while running, timestamps
RUN/history.jsonl       one JSON line per iteration (losses, lr, phase); a torn last line is ignored
RUN/checkpoint/         last.safetensors (resume state)
RUN/model.safetensors   final weights, RUN/model.json their architecture
RUN/metrics.json        final metrics (the seven numbers), when evaluated
```
A run whose ``run.json`` says "running" but whose process is gone is reported as "interrupted".
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core import __version__
from core.errors import BearingError
from core.io.atomic import atomic_write_json, atomic_write_text

RUN_FILE = "run.json"
HISTORY_FILE = "history.jsonl"
METRICS_FILE = "metrics.json"
CHECKPOINT_DIR = "checkpoint"


class RunError(BearingError):
    """A run folder is missing or unreadable."""


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def code_version() -> str:
    """Package version plus the git commit of the source tree when there is one."""
    here = Path(__file__).resolve().parent
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=here, capture_output=True,
                             text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        sha = ""
    return f"{__version__}+{sha}" if sha else __version__


@dataclass
class RunRecord:
    kind: str                                  # "finetune" | "dinomaly" | "vitad"
    cls: str                                   # "LC" | "SC" | "OD"
    config: dict[str, Any] = field(default_factory=dict)
    encoder: dict[str, Any] = field(default_factory=dict)   # name, weights source, random_weights
    dataset_fingerprint: str = ""
    status: str = "created"                    # created | running | finished | cancelled | failed
    created: str = field(default_factory=_now)
    updated: str = field(default_factory=_now)
    code_version: str = field(default_factory=code_version)
    pid: int | None = None
    host: str | None = None
    message: str = ""

    @property
    def random_weights(self) -> bool:
        return bool(self.encoder.get("random_weights", False))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Run:
    """A run folder on disk."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    # -- record -------------------------------------------------------------------------------
    @classmethod
    def create(cls, folder: str | Path, record: RunRecord, exist_ok: bool = False) -> "Run":
        run = cls(folder)
        if (run.folder / RUN_FILE).exists() and not exist_ok:
            raise RunError(f"{run.folder}: a run already exists here; use --resume to continue it "
                           "or choose another --out folder")
        run.folder.mkdir(parents=True, exist_ok=True)
        run.save_record(record)
        return run

    def load_record(self) -> RunRecord:
        p = self.folder / RUN_FILE
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise RunError(f"{self.folder}: not a run folder (no {RUN_FILE})") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise RunError(f"{p}: unreadable run record ({exc})") from None
        known = set(RunRecord.__dataclass_fields__)
        return RunRecord(**{k: v for k, v in data.items() if k in known})

    def save_record(self, record: RunRecord) -> None:
        record.updated = _now()
        data = {k: getattr(record, k) for k in RunRecord.__dataclass_fields__}
        atomic_write_json(self.folder / RUN_FILE, data)

    def set_status(self, status: str, message: str = "") -> RunRecord:
        rec = self.load_record()
        rec.status = status
        rec.message = message
        if status == "running":
            rec.pid, rec.host = os.getpid(), socket.gethostname()
        self.save_record(rec)
        return rec

    def effective_status(self) -> str:
        """The status, with a 'running' run whose process died shown as 'interrupted'."""
        rec = self.load_record()
        if rec.status == "running" and rec.host == socket.gethostname() and rec.pid:
            if not _pid_alive(rec.pid):
                return "interrupted"
        return rec.status

    # -- history ------------------------------------------------------------------------------
    @property
    def checkpoint_dir(self) -> Path:
        return self.folder / CHECKPOINT_DIR

    def append_history(self, records: list[dict]) -> None:
        with open(self.folder / HISTORY_FILE, "a", encoding="utf-8") as f:
            for r in records:
                f.write(json.dumps(r) + "\n")
            f.flush()

    def read_history(self) -> list[dict]:
        p = self.folder / HISTORY_FILE
        if not p.exists():
            return []
        out = []
        for line in p.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line torn by a kill mid-write
        return out

    def truncate_history(self, iteration: int) -> None:
        """Drop history past ``iteration`` (what a resumed run will redo)."""
        keep = [r for r in self.read_history() if r.get("iteration", 0) <= iteration]
        atomic_write_text(self.folder / HISTORY_FILE, "".join(json.dumps(r) + "\n" for r in keep))

    # -- metrics ------------------------------------------------------------------------------
    def save_metrics(self, metrics: dict) -> None:
        atomic_write_json(self.folder / METRICS_FILE, metrics)

    def load_metrics(self) -> dict | None:
        p = self.folder / METRICS_FILE
        if not p.exists():
            return None
        return json.loads(p.read_text(encoding="utf-8"))


def list_runs(root: str | Path) -> list[Run]:
    """Every run folder below ``root`` (any depth), newest first."""
    root = Path(root)
    runs = [Run(p.parent) for p in root.rglob(RUN_FILE)]
    return sorted(runs, key=lambda r: (r.folder / RUN_FILE).stat().st_mtime, reverse=True)

"""Atomic file writes: a reader (or a crash) only ever sees the old file or the complete new one.

The temporary file is created in the destination folder (``os.replace`` is atomic only within one
file system), flushed and fsynced before the rename, and removed if anything fails.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator


def _fsync_dir(folder: Path) -> None:
    # Makes the rename itself durable; not supported on every platform/file system.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _claim_temp(path: Path, suffix: str) -> tuple[Path, int | None]:
    """The temporary file for saving ``path``, and a locked descriptor on it (None when unlocked).

    One fixed temporary name per target, claimed with an exclusive POSIX record lock (``lockf``;
    HDF5 takes its own ``flock`` on the files it writes, which does not conflict): a save killed half-way
    leaves at most that one stray file, which the next save of the same target reuses. If another
    process holds the lock (saving the same file right now), or locks are not available (Windows),
    a unique ``mkstemp`` name is used instead.
    """
    fixed = path.with_name(f".{path.name}.tmp{suffix}")
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        fcntl = None
    if fcntl is not None:
        fd = os.open(fixed, os.O_RDWR | os.O_CREAT, 0o666)  # mode & ~umask: the usual permissions
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.ftruncate(fd, 0)
            return fixed, fd
        except OSError:
            os.close(fd)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + suffix, dir=path.parent)
    os.close(fd)
    # mkstemp makes the file private (0600); a saved file should get the usual permissions
    umask = os.umask(0)
    os.umask(umask)
    with contextlib.suppress(OSError):
        os.chmod(name, 0o666 & ~umask)
    return Path(name), None


@contextlib.contextmanager
def atomic_path(path: str | Path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it replaces ``path`` atomically.

    For writers that need a file name (h5py, safetensors, cv2.imwrite). The temporary name ends in
    ``suffix`` (default: ``path``'s own extension, which cv2.imwrite needs). The writer must have
    closed the file when the ``with`` block ends. On an exception the temporary file is removed and
    the old ``path`` is left untouched.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp, lock_fd = _claim_temp(path, suffix if suffix is not None else path.suffix)
    except OSError as exc:
        exc.filename = str(path)  # name the file being saved, not the temporary name
        raise
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, OSError) and exc.filename in (None, str(tmp)):
            exc.filename = str(path)  # e.g. ENOSPC from fsync carries no file name
        raise
    finally:
        if lock_fd is not None:
            os.close(lock_fd)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()


def atomic_write_text(path: str | Path, text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` atomically."""
    atomic_write_bytes(path, text.encode(encoding))


def atomic_write_json(path: str | Path, obj: Any, indent: int = 2) -> None:
    """Write ``obj`` as pretty JSON to ``path`` atomically."""
    atomic_write_text(path, json.dumps(obj, indent=indent, ensure_ascii=False, sort_keys=False) + "\n")

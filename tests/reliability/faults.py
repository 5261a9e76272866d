"""Run ``bearing-inspect`` with a simulated file-system fault, for the CLI tests.

``python faults.py MODE [FOLDER] -- CLI ARGS...``

- ``readonly FOLDER``: creating a file or a folder in FOLDER fails with EACCES, as in a
  read-only folder.
  The test also chmods the folder read-only; this stands in for it when the tests run as root,
  whom permissions do not stop.
- ``enospc``: flushing a file to disk (``os.fsync``) fails with ENOSPC, as on a full disk; every
  save goes through ``core.io.atomic``, which fsyncs before the rename.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def _readonly(folder: Path) -> None:
    real_mkstemp, real_mkdir, real_open = tempfile.mkstemp, os.mkdir, os.open
    folder = folder.resolve()

    def denied(path) -> PermissionError:
        return PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))

    def mkstemp(*args, dir=None, **kwargs):  # noqa: A002 - tempfile's own name
        if dir is not None and Path(dir).resolve() == folder:
            raise denied(os.path.join(dir, f"{kwargs.get('prefix', 'tmp')}XXXXXX"))
        return real_mkstemp(*args, dir=dir, **kwargs)

    def mkdir(path, *args, **kwargs):
        if Path(path).resolve().parent == folder:
            raise denied(path)
        return real_mkdir(path, *args, **kwargs)

    def open_(path, flags, *args, **kwargs):
        if flags & os.O_CREAT and Path(os.fsdecode(path)).resolve().parent == folder \
                and not Path(os.fsdecode(path)).exists():
            raise denied(path)
        return real_open(path, flags, *args, **kwargs)

    tempfile.mkstemp = mkstemp
    os.mkdir = mkdir
    os.open = open_


def _enospc() -> None:
    real_fsync = os.fsync

    def fsync(fd):
        if stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_fsync(fd)

    os.fsync = fsync


def main() -> int:
    sep = sys.argv.index("--")
    mode, rest, cli_args = sys.argv[1], sys.argv[2:sep], sys.argv[sep + 1:]
    if mode == "readonly":
        _readonly(Path(rest[0]))
    elif mode == "enospc":
        _enospc()
    else:
        raise SystemExit(f"unknown fault {mode!r}")
    from core.cli import main as cli_main

    return cli_main(cli_args)


if __name__ == "__main__":
    sys.exit(main())

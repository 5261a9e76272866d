"""Subprocess for the real write-failure test: save version 0, then version 1 with writes capped.

``python write_limited.py KIND PATH LIMIT_BYTES`` saves version 0 of KIND at PATH, then caps the
size of any file this process writes at LIMIT_BYTES (``RLIMIT_FSIZE``; SIGXFSZ ignored, so a write
past it fails with EFBIG as a write to a full disk fails with ENOSPC) and saves version 1. It
prints one JSON line: the error raised (class, whether it is an OSError or one of the project's
own errors, the file it names) or ``{"error": null}``. Unlike patching Python functions, this makes
the operating system refuse the bytes, so writers in C or Rust (HDF5, safetensors) fail for real.
"""

from __future__ import annotations

import json
import resource
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from core.errors import BearingError, InputError  # noqa: E402
from tests.reliability.versions import SAVERS  # noqa: E402


def main() -> None:
    kind, path, limit = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    save = SAVERS[kind]()
    save(path, 0)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    try:
        save(path, 1)
    except Exception as exc:  # noqa: BLE001 - reporting what was raised is the point
        named = exc.path if isinstance(exc, InputError) else getattr(exc, "filename", None)
        print(json.dumps({"error": type(exc).__name__, "message": str(exc),
                          "expected_kind": isinstance(exc, (OSError, BearingError)),
                          "named": None if named is None else str(named)}), flush=True)
        return
    print(json.dumps({"error": None}), flush=True)


if __name__ == "__main__":
    main()

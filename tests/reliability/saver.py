"""Subprocess for the kill -9 tests: saves one kind of file over and over, to be killed mid-save.

``python saver.py KIND PATH`` imports what it needs once, prints ``ready`` and then answers one
command per stdin line:

- ``fork FIRST``: fork a child that saves version FIRST, then the other one, and so on, of the
  file at PATH in an endless loop; print the child's pid. The test kills that child with
  SIGKILL at a random moment.
- ``reap PID``: wait for the killed child and print ``reaped PID``, so the test only inspects the
  file once the killed process is really gone.

Forking from an already-imported process makes each kill cost milliseconds instead of a fresh
interpreter's import time, so a test can kill many saves in a few seconds. The versions written
here are the ones :mod:`tests.reliability.versions` checks against.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.reliability.versions import SAVERS  # noqa: E402


def main() -> None:
    kind, path = sys.argv[1], Path(sys.argv[2])
    save = SAVERS[kind]()
    print("ready", flush=True)
    for line in sys.stdin:
        cmd = line.split()
        if cmd[0] == "fork":
            pid = os.fork()
            if pid == 0:  # child: save until killed
                try:
                    i = int(cmd[1])
                    while True:
                        save(path, i % 2)
                        i += 1
                finally:
                    os._exit(3)  # only reached if a save raised: the test sees a non-kill exit
            print(pid, flush=True)
        elif cmd[0] == "reap":
            _, status = os.waitpid(int(cmd[1]), 0)
            print(f"reaped {cmd[1]} {status}", flush=True)
        elif cmd[0] == "quit":
            return


if __name__ == "__main__":
    main()

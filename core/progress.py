"""Progress reporting shared by every long job: a callable ``progress(done, total, message="")``.

Library functions take ``progress`` as an optional argument and call it after each unit of work;
they never print. ``total`` may be ``None`` when the amount of work is unknown. The CLI passes a
:class:`TextProgress`; the GUI passes a function that emits a Qt signal.
"""

from __future__ import annotations

import sys
import time
from typing import Callable, Protocol, TextIO


class ProgressFn(Protocol):
    def __call__(self, done: int, total: int | None, message: str = "") -> None: ...


def null_progress(done: int, total: int | None, message: str = "") -> None:
    """Progress callback that ignores everything."""


class TextProgress:
    """A one-line text progress bar for terminals; plain lines every 10 % when not a terminal.

    ::

        bar = TextProgress("preprocess")
        for i, item in enumerate(items, 1):
            ...
            bar(i, len(items), item.name)
        bar.close()
    """

    def __init__(self, label: str = "", stream: TextIO | None = None, width: int = 28,
                 min_interval: float = 0.1, tty: bool | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.min_interval = min_interval
        isatty = getattr(self.stream, "isatty", None)
        self.tty = tty if tty is not None else bool(isatty and isatty())
        self._clock = clock
        self._last_draw = -float("inf")
        self._last_decile = -1
        self._line_open = False
        self._last_len = 0

    def _text(self, done: int, total: int | None, message: str) -> str:
        head = f"{self.label} " if self.label else ""
        if total:
            frac = min(max(done / total, 0.0), 1.0)
            filled = int(round(frac * self.width))
            bar = "#" * filled + "-" * (self.width - filled)
            text = f"{head}[{bar}] {done}/{total} {frac * 100:3.0f}%"
        else:
            text = f"{head}{done} done"
        return f"{text}  {message}" if message else text

    def __call__(self, done: int, total: int | None, message: str = "") -> None:
        finished = total is not None and done >= total
        if self.tty:
            now = self._clock()
            if not finished and now - self._last_draw < self.min_interval:
                return
            self._last_draw = now
            text = self._text(done, total, message)
            pad = " " * max(0, self._last_len - len(text))
            self.stream.write("\r" + text + pad)
            self._last_len = len(text)
            self._line_open = True
            if finished:
                self.close()
            else:
                self.stream.flush()
            return
        decile = int(10 * done / total) if total else done // 100
        if decile != self._last_decile or finished:
            self._last_decile = decile
            self.stream.write(self._text(done, total, message) + "\n")
            self.stream.flush()

    def close(self) -> None:
        """End the bar's line (call once when done, also after an error)."""
        if self._line_open:
            self.stream.write("\n")
            self.stream.flush()
            self._line_open = False
            self._last_len = 0

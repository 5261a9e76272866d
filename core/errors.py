"""Exceptions that carry the file and the problem, so every layer can show a useful message."""

from __future__ import annotations

from pathlib import Path


class BearingError(Exception):
    """Base class of every error this library raises on purpose."""


class InputError(BearingError):
    """A file the user gave us is unusable.

    The message always names the file and the problem, and where possible what to do about it:
    ``"<path>: <problem>. <hint>"``.
    """

    def __init__(self, path: str | Path | None, problem: str, hint: str = "") -> None:
        self.path = None if path is None else Path(path)
        self.problem = problem
        self.hint = hint
        parts = [f"{self.path}: {problem}" if self.path is not None else problem]
        if hint:
            parts.append(hint)
        super().__init__(". ".join(p.rstrip(".") for p in parts) + ".")


class ROINotFoundError(BearingError):
    """Preprocessing could not find the ring / side-surface region of interest in an image."""

    def __init__(self, path: str | Path | None, reason: str) -> None:
        self.path = None if path is None else Path(path)
        self.reason = reason
        where = f"{self.path}: " if self.path is not None else ""
        super().__init__(f"{where}ROI not found: {reason}")


class WeightsNotFoundError(BearingError):
    """Pre-trained encoder weights are not available offline; the message says which file to get."""

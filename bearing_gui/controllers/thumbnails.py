"""Thumbnails: decoded small in a background pool (Qt's reader scales while decoding), cached.

Only rows the user can see are requested, so a folder of thousands of samples costs nothing until
scrolled to. Failures are cached too, so an unreadable file is tried once.
"""

from __future__ import annotations

from pathlib import Path

from bearing_gui.qt import QtCore, QtGui

THUMB_SIZE = 30


class _Signals(QtCore.QObject):
    done = QtCore.Signal(str, QtGui.QImage)


class _ThumbJob(QtCore.QRunnable):
    def __init__(self, key: str, path: Path, signals: _Signals) -> None:
        super().__init__()
        self.key, self.path, self.signals = key, path, signals

    def run(self) -> None:  # worker thread: QImage (not QPixmap) is safe here
        reader = QtGui.QImageReader(str(self.path))
        size = reader.size()
        if size.isValid() and size.width() > 0:
            reader.setScaledSize(size.scaled(THUMB_SIZE, THUMB_SIZE,
                                             QtCore.Qt.AspectRatioMode.KeepAspectRatio))
        image = reader.read()
        self.signals.done.emit(self.key, image)


class ThumbnailCache(QtCore.QObject):
    ready = QtCore.Signal(str)  # key

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = QtCore.QThreadPool(self)
        self.pool.setMaxThreadCount(2)
        self._icons: dict[str, QtGui.QIcon | None] = {}
        self._pending: set[str] = set()
        self._signals = _Signals()
        self._signals.done.connect(self._on_done)

    def icon(self, key: str) -> QtGui.QIcon | None:
        return self._icons.get(key)

    def has(self, key: str) -> bool:
        return key in self._icons

    def request(self, key: str, path: Path | None) -> None:
        if path is None or key in self._icons or key in self._pending:
            return
        self._pending.add(key)
        self.pool.start(_ThumbJob(key, path, self._signals))

    def clear(self) -> None:
        self.pool.clear()
        self.pool.waitForDone(2000)
        self._icons.clear()
        self._pending.clear()

    def _on_done(self, key: str, image: QtGui.QImage) -> None:
        self._pending.discard(key)
        self._icons[key] = None if image.isNull() else QtGui.QIcon(QtGui.QPixmap.fromImage(image))
        self.ready.emit(key)

"""Gallery of every crop of a class after "Apply to class", failures first."""

from __future__ import annotations

from bearing_gui.controllers.class_run import GALLERY_SIZE, ClassRunController
from bearing_gui.controllers.session import SessionController
from bearing_gui.qt import QtCore, QtGui, QtWidgets

KEY_ROLE = QtCore.Qt.ItemDataRole.UserRole + 1


class ClassGallery(QtWidgets.QWidget):
    def __init__(self, session: SessionController, runner: ClassRunController,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.session, self.runner = session, runner
        self.info = QtWidgets.QLabel("Press “Apply to class…” in the Preprocessing panel to run the "
                                     "current settings on every sample of a class. Failures are "
                                     "shown first.")
        self.info.setWordWrap(True)
        self.progress = QtWidgets.QProgressBar()
        self.progress.hide()
        self.cancel_btn = QtWidgets.QPushButton("Cancel")
        self.cancel_btn.hide()
        self.cancel_btn.clicked.connect(runner.cancel)
        self.list = QtWidgets.QListWidget()
        self.list.setViewMode(QtWidgets.QListView.ViewMode.IconMode)
        self.list.setIconSize(QtCore.QSize(GALLERY_SIZE, GALLERY_SIZE))
        self.list.setGridSize(QtCore.QSize(GALLERY_SIZE + 24, GALLERY_SIZE + 40))
        self.list.setResizeMode(QtWidgets.QListView.ResizeMode.Adjust)
        self.list.setMovement(QtWidgets.QListView.Movement.Static)
        self.list.setWordWrap(True)
        self.list.itemDoubleClicked.connect(self._open)
        self.list.itemActivated.connect(self._open)
        top = QtWidgets.QHBoxLayout()
        top.addWidget(self.info, 1)
        top.addWidget(self.progress)
        top.addWidget(self.cancel_btn)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(top)
        lay.addWidget(self.list, 1)
        runner.progress.connect(self._on_progress)
        runner.finished.connect(self._on_finished)
        runner.failed.connect(self._on_failed)

    def start(self, cls: str) -> None:
        if self.runner.running:
            return
        self.list.clear()
        self.info.setText(f"Applying the {cls} settings to every {cls} sample …")
        self.progress.setRange(0, 0)
        self.progress.show()
        self.cancel_btn.show()
        self.runner.start(cls)

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)

    def _done(self) -> None:
        self.progress.hide()
        self.cancel_btn.hide()

    def _on_finished(self, cls: str, entries: list, note: str) -> None:
        self._done()
        failed = sum(not e.ok for e in entries)
        cfg = self.session.class_config(cls)
        stat = ""
        if cfg.cgcm is not None and cfg.cgcm.r_mean is not None:
            stat = f" r_mean = {cfg.cgcm.r_mean:.1f} px."
        elif cfg.eggcc is not None and cfg.eggcc.global_centre is not None:
            gx, gy = cfg.eggcc.global_centre
            stat = f" Global centre = ({gx:.0f}, {gy:.0f})."
        self.info.setText(f"{cls}: {len(entries) - failed} of {len(entries)} samples cropped, "
                          f"{failed} failed.{stat} {note}".strip())
        for e in entries:
            item = QtWidgets.QListWidgetItem(e.key.split("/", 1)[-1] + ("" if e.ok else "\nFAILED"))
            item.setData(KEY_ROLE, e.key)
            if e.image is not None:
                item.setIcon(QtGui.QIcon(QtGui.QPixmap.fromImage(e.image)))
            if not e.ok:
                item.setForeground(QtGui.QColor("#ff6b6b"))
                item.setToolTip(e.message)
            else:
                item.setToolTip(e.key)
            self.list.addItem(item)

    def _on_failed(self, message: str) -> None:
        self._done()
        self.info.setText("Stopped: " + message)

    def _open(self, item: QtWidgets.QListWidgetItem) -> None:
        self.session.select_key(item.data(KEY_ROLE))

"""Batch inspection: a folder (any depth) + a trained run -> OK / NG / ROI-failed / unreadable per
sample with the reason, streamed into the table with progress and cancel; report export."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

from bearing_gui.controllers.inspection import InspectionController, InspectRequest
from bearing_gui.qt import QtCore, QtGui, QtWidgets

COLUMNS = ("Sample", "Class", "Score", "Decision", "Reason")
DECISION_COLOURS = {"OK": "#2ecc71", "NG": "#ff6b6b", "ROI-failed": "#ff9f43", "unreadable": "#ff9f43",
                    "no-model": "#999999"}
MAX_TABLE_ROWS = 100_000  # beyond this the table keeps counting but results.csv holds every row


class BatchPanel(QtWidgets.QWidget):
    export_requested = QtCore.Signal(str)   # inspection output folder

    def __init__(self, session, controller: InspectionController,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.ctl = controller
        self.counts: dict[str, int] = {}
        self.summary: dict | None = None

        self.folder = QtWidgets.QLineEdit()
        self.folder.setPlaceholderText("folder of images to inspect (any depth)")
        self.run = QtWidgets.QComboBox()
        self.run.setEditable(True)
        self.run.lineEdit().setPlaceholderText("a finished detector run folder")
        self.run.setToolTip("The trained run whose detector and threshold decide OK / NG")
        self.out = QtWidgets.QLineEdit()
        self.out.setPlaceholderText("automatic: <runs folder>/../inspections/<date>")
        self.cls = QtWidgets.QComboBox()
        self.cls.addItem("from the folder names (LC / SC / OD)", None)
        for c in ("LC", "SC", "OD"):
            self.cls.addItem(c, c)
        self.pattern = QtWidgets.QLineEdit()
        from core.io.dataset import LayoutParams

        self.pattern.setPlaceholderText(LayoutParams().pattern)
        self.pattern.setToolTip("File-name pattern with groups 'sample' and 'level' (empty: default)")
        self.overlays = QtWidgets.QCheckBox("Write overlay PNGs")
        self.overlays.setChecked(True)
        form = QtWidgets.QFormLayout()
        form.setLabelAlignment(QtCore.Qt.AlignmentFlag.AlignRight)
        form.addRow("Folder", self._with_browse(self.folder, self._browse_folder))
        form.addRow("Run", self._with_browse(self.run, self._browse_run))
        form.addRow("Output", self._with_browse(self.out, self._browse_out))
        form.addRow("Class", self.cls)
        form.addRow("File pattern", self.pattern)
        form.addRow("", self.overlays)

        self.start_btn = QtWidgets.QPushButton("Inspect")
        self.start_btn.clicked.connect(self.start)
        self.cancel_btn = QtWidgets.QPushButton("Cancel")
        self.cancel_btn.setEnabled(False)
        self.cancel_btn.clicked.connect(self.ctl.cancel)
        self.export_btn = QtWidgets.QPushButton("Export report…")
        self.export_btn.setEnabled(False)
        self.export_btn.setToolTip("HTML, PDF or CSV report of this inspection")
        self.export_btn.clicked.connect(self._export)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.start_btn)
        buttons.addWidget(self.cancel_btn)
        buttons.addWidget(self.progress, 1)
        buttons.addWidget(self.export_btn)
        self.status = QtWidgets.QLabel("Choose a folder and a run, then Inspect.")
        self.status.setWordWrap(True)
        self.table = QtWidgets.QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(4, QtWidgets.QHeaderView.ResizeMode.Stretch)
        self.table.setWordWrap(False)

        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(form)
        lay.addLayout(buttons)
        lay.addWidget(self.status)
        lay.addWidget(self.table, 1)
        self.ctl.rows_ready.connect(self._on_rows)
        self.ctl.progress.connect(self._on_progress)
        self.ctl.finished.connect(self._on_finished)
        self.ctl.failed.connect(self._on_failed)

    def _with_browse(self, field: QtWidgets.QWidget, slot) -> QtWidgets.QWidget:
        w = QtWidgets.QWidget()
        row = QtWidgets.QHBoxLayout(w)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(field, 1)
        b = QtWidgets.QPushButton("…")
        b.setFixedWidth(32)
        b.clicked.connect(slot)
        row.addWidget(b)
        return w

    def _browse_folder(self) -> None:
        p = QtWidgets.QFileDialog.getExistingDirectory(self, "Folder to inspect", self.folder.text())
        if p:
            self.folder.setText(p)

    def _browse_run(self) -> None:
        p = QtWidgets.QFileDialog.getExistingDirectory(self, "Run folder", self.run.currentText())
        if p:
            self.run.setCurrentText(p)

    def _browse_out(self) -> None:
        p = QtWidgets.QFileDialog.getExistingDirectory(self, "Output folder", self.out.text())
        if p:
            self.out.setText(p)

    def set_runs(self, folders: list[str]) -> None:
        """Offer these finished detector runs (from the runs list)."""
        current = self.run.currentText()
        self.run.blockSignals(True)
        self.run.clear()
        self.run.addItems(folders)
        self.run.setCurrentText(current or (folders[0] if folders else ""))
        self.run.blockSignals(False)

    def default_out(self) -> Path:
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        run = Path(self.run.currentText())
        base = run.parent.parent if (run / "run.json").exists() else run.parent
        return base / "inspections" / stamp

    def start(self) -> bool:
        if self.ctl.running:
            return False
        folder, run = self.folder.text().strip(), self.run.currentText().strip()
        if not folder or not Path(folder).is_dir():
            self.session.error.emit("No folder", f"{folder or '(none)'}: choose an existing folder to inspect.")
            return False
        if not run:
            self.session.error.emit("No run", "Choose a trained detector run.")
            return False
        out = Path(self.out.text().strip()) if self.out.text().strip() else self.default_out()
        req = InspectRequest(Path(folder), Path(run), out, self.cls.currentData(),
                             self.pattern.text().strip() or None, self.overlays.isChecked())
        self.table.setRowCount(0)
        self.counts = {}
        self.summary = None
        if not self.ctl.start(req):
            return False
        self.start_btn.setEnabled(False)
        self.cancel_btn.setEnabled(True)
        self.export_btn.setEnabled(False)
        self.progress.setRange(0, 0)
        self.status.setText(f"Inspecting {folder} with {run} → {out}")
        return True

    def _on_rows(self, rows: list) -> None:
        for r in rows:
            self.counts[r.decision] = self.counts.get(r.decision, 0) + 1
        room = MAX_TABLE_ROWS - self.table.rowCount()
        rows = rows[:max(0, room)]
        if not rows:
            return
        start = self.table.rowCount()
        self.table.setRowCount(start + len(rows))
        for i, r in enumerate(rows, start):
            score = QtWidgets.QTableWidgetItem("" if r.score is None else f"{r.score:.4g}")
            score.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
            decision = QtWidgets.QTableWidgetItem(r.decision)
            decision.setForeground(QtGui.QBrush(QtGui.QColor(DECISION_COLOURS.get(r.decision, "#ccc"))))
            reason = QtWidgets.QTableWidgetItem(r.reason)
            reason.setToolTip(r.reason)
            for col, item in enumerate((QtWidgets.QTableWidgetItem(r.sample), QtWidgets.QTableWidgetItem(r.cls),
                                        score, decision, reason)):
                self.table.setItem(i, col, item)
        self.table.scrollToBottom()

    def _on_progress(self, done: int, total: int) -> None:
        if total:
            self.progress.setRange(0, total)
            self.progress.setValue(done)

    def _counts_text(self) -> str:
        return ", ".join(f"{k} {v}" for k, v in self.counts.items() if v) or "nothing"

    def _on_finished(self, summary: dict) -> None:
        self._idle()
        self.summary = summary
        skipped = summary.get("skipped", [])
        text = (f"Inspection {summary['status']}: {summary['inspected']} of {summary['samples']} "
                f"samples — {self._counts_text()}; {len(skipped)} file(s) skipped"
                f". Results in {self.ctl.out}")
        if skipped:
            text += "\nSkipped: " + "; ".join(f"{Path(s['path']).name}: {s['reason']}" for s in skipped[:3])
        if summary.get("random_weights"):
            text += "\n⚠ The run's encoder has RANDOM weights: these decisions say nothing about real parts."
        self.status.setText(text)
        self.export_btn.setEnabled(True)

    def _on_failed(self, message: str) -> None:
        self._idle()
        self.status.setText(f"Inspection failed: {message}")
        self.session.error.emit("Inspection failed", message)

    def _idle(self) -> None:
        self.start_btn.setEnabled(True)
        self.cancel_btn.setEnabled(False)

    def _export(self) -> None:
        if self.ctl.out is not None:
            self.export_requested.emit(str(self.ctl.out))

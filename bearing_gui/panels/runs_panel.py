"""Runs list: every class run under the runs folder with status, class, model, encoder, date and
key metrics. A run left 'running' by a crashed process shows as interrupted and can be resumed."""

from __future__ import annotations

import math
from pathlib import Path

from bearing_gui.controllers.training import RunRow, scan_runs
from bearing_gui.qt import QtCore, QtGui, QtWidgets

COLUMNS = ("Run", "Status", "Class", "Model", "Encoder", "Date", "I-AUROC", "P-AUPRO")
PATH_ROLE = QtCore.Qt.ItemDataRole.UserRole + 1
STATUS_COLOURS = {"finished": "#2ecc71", "running": "#4a9eff", "interrupted": "#ff9f43",
                  "cancelled": "#f5cd79", "failed": "#ff6b6b"}


class _Item(QtWidgets.QTreeWidgetItem):
    """Sorts metric columns as numbers (missing last)."""

    def __lt__(self, other) -> bool:  # noqa: D105
        col = self.treeWidget().sortColumn() if self.treeWidget() else 0
        a, b = self.data(col, QtCore.Qt.ItemDataRole.UserRole), other.data(col, QtCore.Qt.ItemDataRole.UserRole)
        if isinstance(a, float) and isinstance(b, float):
            return (a if math.isfinite(a) else -1) < (b if math.isfinite(b) else -1)
        return self.text(col) < other.text(col)


class RunsPanel(QtWidgets.QWidget):
    resume_requested = QtCore.Signal(str)        # class run folder
    open_requested = QtCore.Signal(str)          # class run folder
    compare_requested = QtCore.Signal(str, str)  # two class run folders
    inspect_requested = QtCore.Signal(str)       # class run folder (batch inspection)
    rows_changed = QtCore.Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.root: Path | None = None
        self.rows: list[RunRow] = []
        self.folder_label = QtWidgets.QLabel("No runs folder yet: open a data set or a project.")
        self.folder_label.setWordWrap(True)
        self.tree = QtWidgets.QTreeWidget()
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSortingEnabled(True)
        self.tree.sortByColumn(5, QtCore.Qt.SortOrder.DescendingOrder)
        self.tree.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.itemSelectionChanged.connect(self._sync_buttons)
        self.tree.itemDoubleClicked.connect(lambda *_: self._open())
        self.empty = QtWidgets.QLabel("No training runs yet. Start one in the Training panel.")
        self.empty.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.empty.setStyleSheet("color:#999;")
        self.refresh_btn = QtWidgets.QPushButton("Refresh")
        self.refresh_btn.clicked.connect(self.refresh)
        self.open_btn = QtWidgets.QPushButton("Open results")
        self.open_btn.setToolTip("Show the selected run in the results browser (double-click)")
        self.open_btn.clicked.connect(self._open)
        self.resume_btn = QtWidgets.QPushButton("Resume")
        self.resume_btn.setToolTip("Continue an interrupted or cancelled run from its last checkpoint")
        self.resume_btn.clicked.connect(self._resume)
        self.compare_btn = QtWidgets.QPushButton("Compare two")
        self.compare_btn.setToolTip("Select two runs (Ctrl+click) to compare them side by side")
        self.compare_btn.clicked.connect(self._compare)
        self.inspect_btn = QtWidgets.QPushButton("Inspect a folder…")
        self.inspect_btn.setToolTip("Use the selected run in the batch inspection panel")
        self.inspect_btn.clicked.connect(self._inspect)
        self.folder_btn = QtWidgets.QPushButton("Runs folder…")
        self.folder_btn.setToolTip("Choose another folder to list runs from")
        self.folder_btn.clicked.connect(self._choose_folder)
        buttons = QtWidgets.QHBoxLayout()
        for b in (self.open_btn, self.resume_btn, self.compare_btn, self.inspect_btn):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.folder_btn)
        buttons.addWidget(self.refresh_btn)
        self.stack = QtWidgets.QStackedWidget()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.tree)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.folder_label)
        lay.addWidget(self.stack, 1)
        lay.addLayout(buttons)
        self._sync_buttons()

    def set_root(self, root: str | Path | None) -> None:
        self.root = Path(root) if root else None
        self.refresh()

    def refresh(self) -> None:
        selected = set(self.selected_paths())
        self.tree.setSortingEnabled(False)
        self.tree.clear()
        if self.root is None:
            self.rows, problems = [], []
        else:
            self.rows, problems = scan_runs(self.root)
            self.folder_label.setText(f"Runs in {self.root}"
                                      + (f" — {len(problems)} unreadable: {problems[0]}" if problems else ""))
        for r in self.rows:
            item = _Item(self.tree)
            m = r.metrics
            status = r.status + (" (resumable)" if r.resumable else "")
            values = (r.name, status, r.cls, r.model, r.encoder + (" ⚠ random" if r.random_weights else ""),
                      r.date, _fmt(m.get("I-AUROC")), _fmt(m.get("P-AUPRO")))
            for col, v in enumerate(values):
                item.setText(col, v)
            for col, key in ((6, "I-AUROC"), (7, "P-AUPRO")):
                v = m.get(key)
                item.setData(col, QtCore.Qt.ItemDataRole.UserRole, float(v) if v is not None else math.nan)
            item.setForeground(1, QtGui.QBrush(QtGui.QColor(STATUS_COLOURS.get(r.status, "#ccc"))))
            tip = str(r.folder) + (f"\n{r.message}" if r.message else "")
            if r.random_weights:
                tip += "\nThe encoder has RANDOM weights: not for real inspection."
            item.setToolTip(0, tip)
            item.setToolTip(1, r.message or r.status)
            item.setData(0, PATH_ROLE, str(r.folder))
            if str(r.folder) in selected:
                item.setSelected(True)
        self.tree.setSortingEnabled(True)
        for col in range(len(COLUMNS)):
            self.tree.resizeColumnToContents(col)
        self.stack.setCurrentIndex(1 if self.rows else 0)
        self._sync_buttons()
        self.rows_changed.emit()

    def row_for(self, folder: str | Path) -> RunRow | None:
        folder = Path(folder)
        return next((r for r in self.rows if r.folder == folder), None)

    def select(self, folder: str | Path) -> None:
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            item.setSelected(item.data(0, PATH_ROLE) == str(folder))

    def selected_paths(self) -> list[str]:
        return [i.data(0, PATH_ROLE) for i in self.tree.selectedItems()]

    def _selected_rows(self) -> list[RunRow]:
        return [r for p in self.selected_paths() if (r := self.row_for(p)) is not None]

    def _sync_buttons(self) -> None:
        rows = self._selected_rows()
        one = rows[0] if len(rows) == 1 else None
        self.open_btn.setEnabled(one is not None and one.status == "finished")
        self.resume_btn.setEnabled(one is not None and one.resumable)
        self.compare_btn.setEnabled(len(rows) == 2 and all(r.metrics for r in rows))
        self.inspect_btn.setEnabled(one is not None and one.status == "finished"
                                    and one.model in ("dinomaly", "vitad"))

    def _open(self) -> None:
        rows = self._selected_rows()
        if len(rows) == 1 and rows[0].status == "finished":
            self.open_requested.emit(str(rows[0].folder))

    def _resume(self) -> None:
        rows = self._selected_rows()
        if len(rows) == 1 and rows[0].resumable:
            self.resume_requested.emit(str(rows[0].folder))

    def _compare(self) -> None:
        rows = self._selected_rows()
        if len(rows) == 2:
            self.compare_requested.emit(str(rows[0].folder), str(rows[1].folder))

    def _inspect(self) -> None:
        rows = self._selected_rows()
        if len(rows) == 1:
            self.inspect_requested.emit(str(rows[0].folder))

    def _choose_folder(self) -> None:
        path = QtWidgets.QFileDialog.getExistingDirectory(self, "Runs folder", str(self.root or ""))
        if path:
            self.set_root(path)


def _fmt(v) -> str:
    if v is None:
        return ""
    v = float(v)
    return f"{v:.3f}" if math.isfinite(v) else "n/a"

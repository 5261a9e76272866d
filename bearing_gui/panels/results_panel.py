"""Results browser: Table 2 (each class and the mean), ROC / PR / PRO curves, the score histogram
with a draggable threshold (and optional uncertain band) and the live confusion matrix, the sample
table, and the selected sample's anomaly map over its image (ROI or original coordinates)."""

from __future__ import annotations

import math
from pathlib import Path

from bearing_gui.controllers.results import METRIC_KEYS, ResultsController, RunResults
from bearing_gui.qt import QtCore, QtGui, QtWidgets
from bearing_gui.widgets.heatmap import HeatmapView
from bearing_gui.widgets.plots import CurvePlot, ScoreHistogram

KEY_ROLE = QtCore.Qt.ItemDataRole.UserRole + 1
LABEL_NAMES = {0: "good", 1: "dent"}
PRED_COLOURS = {"NG": "#ff6b6b", "OK": "#2ecc71", "uncertain": "#f5cd79"}


def _num_item(value: float, text: str | None = None) -> QtWidgets.QTableWidgetItem:
    item = QtWidgets.QTableWidgetItem()
    item.setData(QtCore.Qt.ItemDataRole.DisplayRole, float(value) if text is None else text)
    if text is not None:
        item.setData(QtCore.Qt.ItemDataRole.UserRole, float(value))
    item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
    return item


def _fmt(v: float) -> str:
    return f"{v:.3f}" if v is not None and math.isfinite(v) else "n/a"


class ResultsPanel(QtWidgets.QWidget):
    export_requested = QtCore.Signal(str)   # run folder to export a report of

    def __init__(self, session, controller: ResultsController,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.ctl = controller
        self.view = None   # SampleView shown
        self._pending_accept: tuple[str, str] | None = None

        self.header = QtWidgets.QLabel("No run open. Double-click a finished run in the Runs list.")
        self.header.setWordWrap(True)
        self.warning = QtWidgets.QLabel("")
        self.warning.setStyleSheet("color:#ff9f43; font-weight:bold;")
        self.warning.setWordWrap(True)
        self.warning.hide()
        self.export_btn = QtWidgets.QPushButton("Export report…")
        self.export_btn.setToolTip("HTML, PDF or CSV report of this run (Ctrl+Shift+E)")
        self.export_btn.setEnabled(False)
        self.export_btn.clicked.connect(self._export)

        # -- metrics tab ------------------------------------------------------------------------
        self.table = QtWidgets.QTableWidget(0, len(METRIC_KEYS))
        self.table.setHorizontalHeaderLabels(list(METRIC_KEYS))
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.Stretch)
        self.table.setToolTip("Table 2 layout: image-level (I-) and pixel-level (P-) metrics per class "
                              "and their mean")
        self.roc = CurvePlot("ROC (image)", "false positive rate", "true positive rate", diagonal=True)
        self.pr = CurvePlot("PR (image)", "recall", "precision")
        self.pro = CurvePlot("PRO (pixel)", "false positive rate", "per-region overlap")
        curves = QtWidgets.QHBoxLayout()
        for p in (self.roc, self.pr, self.pro):
            curves.addWidget(p)
        self.compare_box = QtWidgets.QGroupBox("Comparison")
        self.compare_table = QtWidgets.QTableWidget(0, len(METRIC_KEYS))
        self.compare_table.setHorizontalHeaderLabels(list(METRIC_KEYS))
        self.compare_table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.compare_table.horizontalHeader().setSectionResizeMode(
            QtWidgets.QHeaderView.ResizeMode.Stretch)
        self.compare_roc = CurvePlot("ROC of both runs", "false positive rate", "true positive rate",
                                     diagonal=True)
        cl = QtWidgets.QHBoxLayout(self.compare_box)
        cl.addWidget(self.compare_table, 3)
        cl.addWidget(self.compare_roc, 2)
        self.compare_box.hide()
        metrics_tab = QtWidgets.QWidget()
        ml = QtWidgets.QVBoxLayout(metrics_tab)
        ml.addWidget(self.table)
        ml.addLayout(curves, 1)
        ml.addWidget(self.compare_box, 1)

        # -- threshold & samples tab ------------------------------------------------------------
        self.hist = ScoreHistogram()
        self.hist.threshold_moved.connect(self._on_line)
        self.hist.band_moved.connect(lambda lo, hi: self.ctl.set_band((lo, hi)))
        self.threshold_spin = QtWidgets.QDoubleSpinBox()
        self.threshold_spin.setDecimals(6)
        self.threshold_spin.setRange(-1e9, 1e9)
        self.threshold_spin.setKeyboardTracking(False)
        self.threshold_spin.setToolTip("NG when score ≥ threshold (drag the yellow line)")
        self.threshold_spin.valueChanged.connect(self._on_spin)
        self.optimal_btn = QtWidgets.QPushButton("F1-optimal")
        self.optimal_btn.setToolTip("Put the threshold back at the F1-optimal value from evaluation")
        self.optimal_btn.clicked.connect(self.reset_threshold)
        self.band_box = QtWidgets.QCheckBox("Uncertain band")
        self.band_box.setToolTip("Samples with a score inside the band are 'uncertain' (manual review)")
        self.band_box.toggled.connect(self._on_band_toggled)
        trow = QtWidgets.QHBoxLayout()
        trow.addWidget(QtWidgets.QLabel("Threshold"))
        trow.addWidget(self.threshold_spin)
        trow.addWidget(self.optimal_btn)
        trow.addWidget(self.band_box)
        trow.addStretch(1)
        self.confusion_table = QtWidgets.QTableWidget(2, 2)
        self.confusion_table.setHorizontalHeaderLabels(["predicted NG", "predicted OK"])
        self.confusion_table.setVerticalHeaderLabels(["dent", "good"])
        self.confusion_table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.confusion_table.horizontalHeader().setSectionResizeMode(
            QtWidgets.QHeaderView.ResizeMode.Stretch)
        self.confusion_table.setFixedHeight(86)
        self.confusion_table.setToolTip("Confusion matrix at the current threshold")
        self.rates = QtWidgets.QLabel("")
        self.rates.setWordWrap(True)
        self.samples = QtWidgets.QTableWidget(0, 4)
        self.samples.setHorizontalHeaderLabels(["Sample", "Label", "Score", "Prediction"])
        self.samples.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.samples.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.samples.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.samples.horizontalHeader().setSectionResizeMode(0, QtWidgets.QHeaderView.ResizeMode.Stretch)
        self.samples.verticalHeader().hide()
        self.samples.setSortingEnabled(True)
        self.samples.itemSelectionChanged.connect(self._on_sample_selected)
        left = QtWidgets.QWidget()
        ll = QtWidgets.QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self.hist, 3)
        ll.addLayout(trow)
        cm = QtWidgets.QHBoxLayout()
        cm.addWidget(self.confusion_table, 3)
        cm.addWidget(self.rates, 2)
        ll.addLayout(cm)
        ll.addWidget(self.samples, 3)

        self.heatmap = HeatmapView()
        self.coords = QtWidgets.QComboBox()
        self.coords.addItems(["ROI", "Original image"])
        self.coords.setToolTip("Show the crop the model saw, or the whole level-0 image")
        self.coords.currentIndexChanged.connect(lambda _i: self._show_view())
        self.opacity = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(50)
        self.opacity.setToolTip("Heat-map opacity")
        self.opacity.valueChanged.connect(lambda v: self.heatmap.set_opacity(v / 100))
        self.accept_btn = QtWidgets.QPushButton("Accept prediction as label")
        self.accept_btn.setToolTip("Label the selected sample as the model predicts (NG → dent, "
                                   "OK → good) (A)")
        self.accept_btn.clicked.connect(self.accept_prediction)
        self.accept_btn.setEnabled(False)
        self.sample_info = QtWidgets.QLabel("")
        self.sample_info.setWordWrap(True)
        hrow = QtWidgets.QHBoxLayout()
        hrow.addWidget(self.coords)
        hrow.addWidget(QtWidgets.QLabel("Opacity"))
        hrow.addWidget(self.opacity, 1)
        right = QtWidgets.QWidget()
        rl = QtWidgets.QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addLayout(hrow)
        rl.addWidget(self.heatmap, 1)
        rl.addWidget(self.sample_info)
        rl.addWidget(self.accept_btn)
        split = QtWidgets.QSplitter()
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        split.setChildrenCollapsible(False)

        self.tabs = QtWidgets.QTabWidget()
        self.tabs.addTab(metrics_tab, "Metrics")
        self.tabs.addTab(split, "Threshold && samples")
        top = QtWidgets.QHBoxLayout()
        top.addWidget(self.header, 1)
        top.addWidget(self.export_btn)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(top)
        lay.addWidget(self.warning)
        lay.addWidget(self.tabs, 1)

        accept = QtGui.QShortcut(QtGui.QKeySequence("A"), self)
        accept.setContext(QtCore.Qt.ShortcutContext.WidgetWithChildrenShortcut)
        accept.activated.connect(self.accept_prediction)

        self.ctl.loaded.connect(self._on_loaded)
        self.ctl.load_failed.connect(self._on_load_failed)
        self.ctl.threshold_changed.connect(self._on_threshold)
        self.ctl.sample_ready.connect(self._on_sample_ready)
        self.ctl.sample_failed.connect(self._on_sample_failed)
        self.ctl.compared.connect(self._on_compared)
        self.ctl.pro_ready.connect(self._show_pro)
        self.session.sample_loaded.connect(self._on_session_sample)

    # -- opening ----------------------------------------------------------------------------------
    def open_run(self, folder: str | Path) -> None:
        self.header.setText(f"Loading {folder} …")
        self.ctl.open(folder)

    def _on_load_failed(self, message: str) -> None:
        self.header.setText(f"Could not open the run: {message}")
        self.session.error.emit("Could not open the run", message)

    def _on_loaded(self, r: RunResults) -> None:
        self.header.setText(f"<b>{r.folder.parent.name}/{r.folder.name}</b> — {r.kind} on {r.cls}, "
                            f"encoder {r.encoder}, {len(r.keys)} test samples "
                            f"({int(r.labels.sum())} dent)")
        self.header.setToolTip(str(r.folder))
        self.warning.setText("⚠ This run's encoder has RANDOM weights: its scores say nothing about "
                             "real parts." if r.random_weights else "")
        self.warning.setVisible(r.random_weights)
        self.export_btn.setEnabled(True)
        self._fill_table(self.table, r.table)
        self.roc.set_curves([(r.roc[0], r.roc[1], r.cls)] if len(r.roc[0]) else [],
                            "" if len(r.roc[0]) else "one class only")
        self.pr.set_curves([(r.pr[0], r.pr[1], r.cls)] if len(r.pr[0]) else [],
                           "" if len(r.pr[0]) else "one class only")
        self.roc.set_marker(*r.optimal_point.get("ROC", (None, None)))
        self.pr.set_marker(*r.optimal_point.get("PR", (None, None)))
        self._show_pro(r)
        self.hist.set_histograms(r.edges, r.good_counts, r.defect_counts)
        self.hist.set_optimal(r.threshold if math.isfinite(r.threshold) else None)
        self.hist.setXRange(float(r.edges[0]), float(r.edges[-1]))
        step = float(r.edges[-1] - r.edges[0]) / 200
        self.threshold_spin.setSingleStep(step if step > 0 else 0.001)
        self.band_box.setChecked(False)
        self._fill_samples(r)
        self.heatmap.clear_map()
        self.view = None
        self.sample_info.setText("Select a sample in the table.")
        self.accept_btn.setEnabled(False)
        self._on_threshold()

    def _show_pro(self, r: RunResults) -> None:
        self.pro.set_curves([(r.pro[0], r.pro[1], r.cls)] if r.pro is not None else [], r.pro_note)

    def _fill_table(self, table: QtWidgets.QTableWidget, rows: dict[str, dict[str, float]]) -> None:
        table.setRowCount(len(rows))
        table.setVerticalHeaderLabels(list(rows))
        for i, (name, m) in enumerate(rows.items()):
            for j, k in enumerate(METRIC_KEYS):
                item = QtWidgets.QTableWidgetItem(_fmt(m.get(k, math.nan)))
                item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
                if name == "mean":
                    f = item.font()
                    f.setBold(True)
                    item.setFont(f)
                table.setItem(i, j, item)
        # exactly as tall as its rows: no empty band under a one-class table
        table.setFixedHeight(table.horizontalHeader().height() + table.verticalHeader().length()
                             + 2 * table.frameWidth() + 2)

    def _fill_samples(self, r: RunResults) -> None:
        self.samples.setSortingEnabled(False)
        self.samples.clearContents()
        self.samples.setRowCount(len(r.keys))
        for i, (key, label, score) in enumerate(zip(r.keys, r.labels, r.scores)):
            k = QtWidgets.QTableWidgetItem(key)
            k.setData(KEY_ROLE, i)
            self.samples.setItem(i, 0, k)
            self.samples.setItem(i, 1, QtWidgets.QTableWidgetItem(LABEL_NAMES.get(int(label), str(label))))
            self.samples.setItem(i, 2, _num_item(float(score)))
            self.samples.setItem(i, 3, QtWidgets.QTableWidgetItem(""))
        self.samples.setSortingEnabled(True)
        self.samples.sortByColumn(2, QtCore.Qt.SortOrder.DescendingOrder)
        self.samples.resizeColumnsToContents()

    # -- threshold ----------------------------------------------------------------------------------
    def _on_line(self, value: float) -> None:
        self.ctl.set_threshold(value)

    def _on_spin(self, value: float) -> None:
        if self.ctl.results is not None and value != self.ctl.threshold:
            self.ctl.set_threshold(value)

    def set_threshold(self, value: float) -> None:
        self.ctl.set_threshold(value)

    def reset_threshold(self) -> None:
        r = self.ctl.results
        if r is not None and math.isfinite(r.threshold):
            self.ctl.set_threshold(r.threshold)

    def _on_band_toggled(self, on: bool) -> None:
        if self.ctl.results is None:
            return
        if on:
            lo, hi = self.ctl.default_band()
            self.hist.show_band(lo, hi)
            self.ctl.set_band((lo, hi))
        else:
            self.hist.hide_band()
            self.ctl.set_band(None)

    def _on_threshold(self) -> None:
        r = self.ctl.results
        if r is None:
            return
        t = self.ctl.threshold
        self.hist.set_threshold(t)
        self.threshold_spin.blockSignals(True)
        self.threshold_spin.setValue(t)
        self.threshold_spin.blockSignals(False)
        c = self.ctl.confusion()
        for (row, col), key in {(0, 0): "TP", (0, 1): "FN", (1, 0): "FP", (1, 1): "TN"}.items():
            item = QtWidgets.QTableWidgetItem(str(c[key]))
            item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
            item.setToolTip(key)
            if key in ("FN", "FP") and c[key]:
                item.setForeground(QtGui.QBrush(QtGui.QColor("#ff6b6b")))
            self.confusion_table.setItem(row, col, item)
        m = self.ctl.threshold_metrics()
        text = (f"precision {_fmt(m['precision'])}<br>recall {_fmt(m['recall'])}<br>"
                f"F1 {_fmt(m['F1'])}")
        if self.ctl.band is not None:
            text += (f"<br>uncertain: {c['uncertain good']} good, {c['uncertain dent']} dent "
                     f"(band {self.ctl.band[0]:.4g} – {self.ctl.band[1]:.4g})")
        self.rates.setText(text)
        preds = self.ctl.predictions()
        self.samples.setSortingEnabled(False)
        for row in range(self.samples.rowCount()):
            i = self.samples.item(row, 0).data(KEY_ROLE)
            item = self.samples.item(row, 3)
            item.setText(preds[i])
            item.setForeground(QtGui.QBrush(QtGui.QColor(PRED_COLOURS[preds[i]])))
        self.samples.setSortingEnabled(True)
        self.heatmap.set_threshold(t)
        self._update_sample_info()

    def confusion_counts(self) -> dict[str, int]:
        """What the confusion matrix shows (TP, FN, FP, TN), read back from the table."""
        out = {}
        for (row, col), key in {(0, 0): "TP", (0, 1): "FN", (1, 0): "FP", (1, 1): "TN"}.items():
            out[key] = int(self.confusion_table.item(row, col).text())
        return out

    # -- samples ------------------------------------------------------------------------------------
    def selected_key(self) -> str | None:
        rows = self.samples.selectionModel().selectedRows()
        return self.samples.item(rows[0].row(), 0).text() if rows else None

    def select_key(self, key: str) -> None:
        for row in range(self.samples.rowCount()):
            if self.samples.item(row, 0).text() == key:
                self.samples.selectRow(row)
                return

    def _on_sample_selected(self) -> None:
        key = self.selected_key()
        self.accept_btn.setEnabled(key is not None)
        if key is not None:
            self.sample_info.setText(f"Loading {key} …")
            self.ctl.select_sample(key)

    def _on_sample_ready(self, view) -> None:
        self.view = view
        self._show_view()

    def _on_sample_failed(self, key: str, message: str) -> None:
        self.view = None
        self.heatmap.clear_map()
        self.sample_info.setText(f"{key}: {message}")

    def _show_view(self) -> None:
        v = self.view
        if v is None:
            return
        roi = self.coords.currentIndex() == 0
        if roi:
            self.heatmap.show_map(v.roi_image, v.roi_map, v.map_max, self.ctl.threshold, v.roi_gt)
        else:
            self.heatmap.show_map(v.level0, v.anomaly_map, v.map_max, self.ctl.threshold, v.gt_mask)
        self.heatmap.fit()
        self._update_sample_info()

    def _update_sample_info(self) -> None:
        v = self.view
        if v is None or self.ctl.results is None:
            return
        r = self.ctl.results
        i = r.keys.index(v.key) if v.key in r.keys else -1
        label = LABEL_NAMES.get(int(r.labels[i]), "?") if i >= 0 else "?"
        pred = self.ctl.predictions()[i] if i >= 0 else ("NG" if v.score >= self.ctl.threshold else "OK")
        x0, y0, x1, y1 = v.crop
        self.sample_info.setText(
            f"<b>{v.key}</b>: label {label}, score {v.score:.4g} → {pred}. Crop x {x0}–{x1}, "
            f"y {y0}–{y1} (level-0 pixels). White contour: map ≥ threshold; green dashes: ground "
            f"truth." + (f"<br>{v.note}" if v.note else ""))

    def accept_prediction(self) -> None:
        """Label the selected sample as predicted (through the labelling controller, undoable)."""
        key = self.selected_key()
        r = self.ctl.results
        if key is None or r is None:
            return
        pred = self.ctl.predictions()[r.keys.index(key)]
        if pred == "uncertain":
            self.session.error.emit("Prediction uncertain", f"{key} lies in the uncertain band; label "
                                    "it by hand.")
            return
        label = "dent" if pred == "NG" else "good"
        t = self.session.labels.target
        if t is not None and t.key == key:
            self.session.labels.mark(label)
            return
        self._pending_accept = (key, label)
        self.session.select_key(key)

    def _on_session_sample(self, loaded) -> None:
        if self._pending_accept is None:
            return
        key, label = self._pending_accept
        if loaded.sample.key == key:
            self._pending_accept = None
            t = self.session.labels.target
            if t is not None and t.key == key:
                self.session.labels.mark(label)

    # -- comparison / export ------------------------------------------------------------------------
    def compare(self, a: str | Path, b: str | Path) -> None:
        self.ctl.compare(a, b)

    def _on_compared(self, a: RunResults, b: RunResults) -> None:
        name = lambda r: f"{r.folder.parent.name}/{r.folder.name}"  # noqa: E731
        rows = {name(a): a.table.get(a.cls, {}), name(b): b.table.get(b.cls, {})}
        delta = {k: rows[name(b)].get(k, math.nan) - rows[name(a)].get(k, math.nan) for k in METRIC_KEYS}
        rows["difference (2nd − 1st)"] = delta
        self._fill_table(self.compare_table, rows)
        self.compare_roc.set_curves([(a.roc[0], a.roc[1], name(a)), (b.roc[0], b.roc[1], name(b))])
        self.compare_box.show()
        self.tabs.setCurrentIndex(0)

    def _export(self) -> None:
        r = self.ctl.results
        if r is not None:
            self.export_requested.emit(str(r.folder.parent if (r.folder.parent / r.cls).exists()
                                           and r.folder.name == r.cls else r.folder))

"""Main window: viewer in the centre, docks for samples, preprocessing, labelling, class gallery,
training, runs, results and batch inspection."""

from __future__ import annotations

import os
from pathlib import Path

from bearing_gui.controllers.class_run import ClassRunController
from bearing_gui.controllers.inspection import InspectionController, ReportExporter
from bearing_gui.controllers.results import ResultsController
from bearing_gui.controllers.session import SessionController
from bearing_gui.controllers.training import TrainingController
from bearing_gui.panels.batch_panel import BatchPanel
from bearing_gui.panels.class_gallery import ClassGallery
from bearing_gui.panels.label_panel import LabelPanel
from bearing_gui.panels.preprocess_panel import PreprocessPanel
from bearing_gui.panels.results_panel import ResultsPanel
from bearing_gui.panels.runs_panel import RunsPanel
from bearing_gui.panels.sample_browser import SampleBrowser
from bearing_gui.panels.training_panel import TrainingPanel
from bearing_gui.panels.viewer_area import MODES, ViewerArea
from bearing_gui.qt import QtCore, QtGui, QtWidgets
from core.project import PROJECT_SUFFIX

SETTINGS_VERSION = 2  # bump when the dock layout changes: old saved layouts are then ignored
MAX_RECENT = 8


class MainWindow(QtWidgets.QMainWindow):
    def __init__(self, settings: QtCore.QSettings, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.setObjectName("bearing_main")
        self.ask_before_close = True
        self.demo_options: dict = {}  # folder / size / counts for ensure_demo (tests: a tiny demo)
        self.last_error = ""
        self.session = SessionController(self)
        self.viewer = ViewerArea(self.session)
        self.setCentralWidget(self.viewer)
        self.browser = SampleBrowser(self.session)
        self.preprocess_panel = PreprocessPanel(self.session, self.viewer)
        self.label_panel = LabelPanel(self.session, self.viewer)
        self.runner = ClassRunController(self.session, self)
        self.gallery = ClassGallery(self.session, self.runner)
        self.preprocess_panel.apply_to_class_requested.connect(self._apply_to_class)
        self.trainer = TrainingController(self)
        self.training_panel = TrainingPanel(self.session, self.trainer)
        self.runs_panel = RunsPanel()
        self.results_ctl = ResultsController(self.session, self)
        self.results_panel = ResultsPanel(self.session, self.results_ctl)
        self.inspector = InspectionController(self)
        self.batch_panel = BatchPanel(self.session, self.inspector)
        self.reporter = ReportExporter(self)

        self.docks: dict[str, QtWidgets.QDockWidget] = {}
        self._add_dock("samples", "Samples", self.browser, QtCore.Qt.DockWidgetArea.LeftDockWidgetArea)
        self._add_dock("preprocess", "Preprocessing", self.preprocess_panel,
                       QtCore.Qt.DockWidgetArea.RightDockWidgetArea)
        self._add_dock("labels", "Labelling", self.label_panel,
                       QtCore.Qt.DockWidgetArea.RightDockWidgetArea)
        self._add_dock("gallery", "Class results", self.gallery,
                       QtCore.Qt.DockWidgetArea.BottomDockWidgetArea)
        self._add_dock("training", "Training", self.training_panel,
                       QtCore.Qt.DockWidgetArea.RightDockWidgetArea)
        self._add_dock("runs", "Runs", self.runs_panel, QtCore.Qt.DockWidgetArea.BottomDockWidgetArea,
                       squeezable=True)
        self._add_dock("results", "Results", self.results_panel,
                       QtCore.Qt.DockWidgetArea.BottomDockWidgetArea, squeezable=True)
        self._add_dock("batch", "Batch inspection", self.batch_panel,
                       QtCore.Qt.DockWidgetArea.BottomDockWidgetArea, squeezable=True)
        self.tabifyDockWidget(self.docks["preprocess"], self.docks["labels"])
        self.tabifyDockWidget(self.docks["labels"], self.docks["training"])
        self.tabifyDockWidget(self.docks["gallery"], self.docks["runs"])
        self.tabifyDockWidget(self.docks["runs"], self.docks["results"])
        self.tabifyDockWidget(self.docks["results"], self.docks["batch"])
        self.docks["preprocess"].raise_()
        self.resizeDocks([self.docks["samples"], self.docks["preprocess"]], [350, 440],
                         QtCore.Qt.Orientation.Horizontal)
        self.resizeDocks([self.docks["gallery"]], [250], QtCore.Qt.Orientation.Vertical)
        self.docks["gallery"].hide()
        for name in ("runs", "results", "batch"):
            self.docks[name].hide()
        self._connect_training()

        self.pixel_label = QtWidgets.QLabel("")
        self.mode_label = QtWidgets.QLabel("")
        self.statusBar().addPermanentWidget(self.mode_label)
        self.statusBar().addPermanentWidget(self.pixel_label)
        self._build_actions()
        self._build_view_toolbar()

        s = self.session
        s.dirty_changed.connect(lambda _d: self._update_title())
        s.project_opened.connect(self._on_project_opened)
        s.sample_selected.connect(lambda smp: self.statusBar().showMessage(smp.key, 4000))
        s.error.connect(self.show_error)
        s.labels.save_failed.connect(lambda key, msg: self.statusBar().showMessage(
            f"Mask of {key} NOT saved: {msg}"))
        self.viewer.view.pixel_hovered.connect(self._on_pixel)
        self.viewer.mode_changed.connect(lambda m: self.mode_label.setText(f"Showing {m}"))
        self.mode_label.setText("Showing level 0")
        self._update_title()
        self.resize(1400, 900)
        self._restore_layout()

    # -- construction -------------------------------------------------------------------------
    def _add_dock(self, name: str, title: str, widget: QtWidgets.QWidget, area,
                  squeezable: bool = False) -> None:
        dock = QtWidgets.QDockWidget(title, self)
        dock.setObjectName(f"dock_{name}")
        if squeezable:
            # even hidden, a dock's minimum size counts towards the window's: these big panels
            # may be squeezed (float the dock to give them room) instead of pushing the window
            # past small screens
            widget.setMinimumSize(240, 120)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        self.docks[name] = dock

    def _action(self, text: str, slot, shortcut=None, tip: str = "", checkable: bool = False,
                menu: QtWidgets.QMenu | None = None) -> QtGui.QAction:
        act = QtGui.QAction(text, self)
        if shortcut:
            keys = shortcut if isinstance(shortcut, list) else [shortcut]
            act.setShortcuts([QtGui.QKeySequence(k) for k in keys])
            act.setShortcutContext(QtCore.Qt.ShortcutContext.WindowShortcut)
        if tip:
            act.setStatusTip(tip)
            act.setToolTip(tip)
        act.setCheckable(checkable)
        act.triggered.connect(slot)
        self.addAction(act)  # shortcuts work even when the menu bar is hidden
        if menu is not None:
            menu.addAction(act)
        return act

    def _build_actions(self) -> None:
        mb = self.menuBar()
        S = QtGui.QKeySequence.StandardKey
        f = mb.addMenu("&File")
        self.act_open = self._action("&Open project…", self.open_project_dialog, S.Open,
                                     "Open a saved project (*.bearing.json)", menu=f)
        self._action("Open data set &folder…", self.open_folder_dialog, "Ctrl+Shift+O",
                     "Open a data set folder (ROOT/LC|SC|OD/train|test/<group>/...)", menu=f)
        self._action("Open &demo project", self.open_demo, None,
                     "Open the built-in synthetic demo data set", menu=f)
        self.recent_menu = f.addMenu("Open &recent")
        self._refresh_recent()
        f.addSeparator()
        self.act_save = self._action("&Save project", self.save, S.Save, menu=f)
        self._action("Save project &as…", self.save_as, "Ctrl+Shift+S", menu=f)
        self._action("&Export preprocessing config for the CLI…", self.export_config, None,
                     "Write the per-class preprocessing settings as JSON (bearing-inspect "
                     "preprocess --config)", menu=f)
        f.addSeparator()
        self._action("&Quit", self.close, "Ctrl+Q", menu=f)

        e = mb.addMenu("&Edit")
        stack = self.session.labels.undo_stack
        self.act_undo = self._action("&Undo", stack.undo, "Ctrl+Z", menu=e)
        self.act_redo = self._action("&Redo", stack.redo, ["Ctrl+Shift+Z", "Ctrl+Y"], menu=e)
        stack.canUndoChanged.connect(self.act_undo.setEnabled)
        stack.canRedoChanged.connect(self.act_redo.setEnabled)
        stack.undoTextChanged.connect(lambda t: self.act_undo.setText(f"&Undo {t}".strip()))
        stack.redoTextChanged.connect(lambda t: self.act_redo.setText(f"&Redo {t}".strip()))
        self.act_undo.setEnabled(False)
        self.act_redo.setEnabled(False)

        lab = mb.addMenu("&Label")
        labels = self.session.labels
        self._action("Mark &good", lambda: labels.mark("good"), "G", menu=lab)
        self._action("Mark &dent", lambda: labels.mark("dent"), "D", menu=lab)
        lab.addSeparator()
        for tool, key, text in (("pan", "Esc", "&Pan / zoom"), ("brush", "B", "&Brush"),
                                ("eraser", "E", "&Eraser"), ("polygon", "P", "P&olygon"),
                                ("rect", "R", "&Rectangle")):
            self._action(text, lambda _=False, t=tool: self._set_tool(t), key, menu=lab)
        self._action("Finish polygon", self.viewer.view.finish_polygon, ["Return", "Enter"],
                     menu=lab)
        self._action("Smaller brush", lambda: self.label_panel.change_radius(1 / 1.25), "[", menu=lab)
        self._action("Larger brush", lambda: self.label_panel.change_radius(1.25), "]", menu=lab)

        v = mb.addMenu("&View")
        for i, mode in enumerate(MODES):
            self._action(f"Show {mode}", lambda _=False, m=mode: self.viewer.set_mode(m), str(i + 1),
                         menu=v)
        self._action("Next image (cycle levels / composed)", self.viewer.cycle_mode, "C", menu=v)
        self.act_side = self._action("Levels side by side", self.viewer.set_side_by_side, "T",
                                     checkable=True, menu=v)
        v.addSeparator()
        self._action("Fit to window", self._fit, ["F", "Ctrl+0"], menu=v)
        self._action("Actual pixels (1:1)", lambda: self.viewer.view.zoom_to_pixels(), "Ctrl+1",
                     menu=v)
        self._action("Zoom in", lambda: self.viewer.view.zoom(1.25), ["+", "="], menu=v)
        self._action("Zoom out", lambda: self.viewer.view.zoom(0.8), "-", menu=v)
        v.addSeparator()
        for dock in self.docks.values():
            v.addAction(dock.toggleViewAction())

        n = mb.addMenu("&Go")
        self._action("&Next sample", lambda: self._step(1), ["N", "PgDown"], menu=n)
        self._action("&Previous sample", lambda: self._step(-1), ["Shift+N", "PgUp"], menu=n)

        self._build_training_menu(mb)

        h = mb.addMenu("&Help")
        self._action("Keyboard shortcuts", self.show_shortcuts, "F1", menu=h)

    def _build_training_menu(self, mb: QtWidgets.QMenuBar) -> None:
        t = mb.addMenu("&Training")
        self._action("&Training panel", lambda: self.show_dock("training"), "Ctrl+T",
                     "Choose what to train and watch it train", menu=t)
        self.act_start_training = self._action("&Start training", self.training_panel.start, "F5",
                                               "Start a training with the Training panel's settings",
                                               menu=t)
        self.act_cancel_training = self._action("&Cancel training", self.trainer.cancel, "Shift+F5",
                                                "Stop after the current iteration (resumable)", menu=t)
        t.addSeparator()
        self._action("&Runs", lambda: self.show_dock("runs"), "Ctrl+R",
                     "Every training run, with status and key metrics", menu=t)
        self._action("R&esults", lambda: self.show_dock("results"), "Ctrl+E",
                     "Metrics, curves, threshold and heat maps of a finished run", menu=t)
        self._action("&Batch inspection", lambda: self.show_dock("batch"), "Ctrl+B",
                     "Inspect a folder of images with a trained run", menu=t)
        self._action("E&xport report…", self._export_current, "Ctrl+Shift+E",
                     "HTML / PDF / CSV report of the open run (or of the last batch)", menu=t)

    def _connect_training(self) -> None:
        tp, runs = self.training_panel, self.runs_panel
        tp.run_finished.connect(lambda _p: runs.refresh())
        self.trainer.finished.connect(lambda _s, outcomes: self._list_runs_in_project(outcomes))
        self.trainer.started.connect(lambda _p: QtCore.QTimer.singleShot(1500, runs.refresh))
        runs.resume_requested.connect(self._resume_run)
        runs.rows_changed.connect(lambda: tp.set_finetune_runs(
            [(str(r.folder), r.random_weights) for r in runs.rows
             if r.model == "finetune" and r.status == "finished"]))
        self.session.project_opened.connect(lambda: runs.set_root(tp.runs_root or tp.default_runs_root()))
        runs.open_requested.connect(self.open_results)
        runs.compare_requested.connect(self._compare_runs)
        runs.inspect_requested.connect(self._inspect_with)
        runs.rows_changed.connect(lambda: self.batch_panel.set_runs(
            [str(r.folder) for r in runs.rows if r.model in ("dinomaly", "vitad") and r.status == "finished"]))
        self.results_panel.export_requested.connect(self.export_report_dialog)
        self.batch_panel.export_requested.connect(self.export_report_dialog)
        self.reporter.finished.connect(lambda p: self.statusBar().showMessage(f"Report written to {p}", 8000))
        self.reporter.failed.connect(lambda m: self.show_error("Report not written", m))

    def open_results(self, folder: str) -> None:
        self.show_dock("results")
        self.results_panel.open_run(folder)

    def _compare_runs(self, a: str, b: str) -> None:
        self.show_dock("results")
        self.results_panel.compare(a, b)

    def _inspect_with(self, folder: str) -> None:
        self.show_dock("batch")
        self.batch_panel.run.setCurrentText(folder)

    def _export_current(self) -> None:
        if self.docks["batch"].isVisible() and self.inspector.out is not None and \
                not self.docks["results"].isVisible():
            self.export_report_dialog(str(self.inspector.out))
        elif self.results_ctl.results is not None:
            self.results_panel._export()
        elif self.inspector.out is not None:
            self.export_report_dialog(str(self.inspector.out))

    def export_report_dialog(self, folder: str) -> None:
        path, chosen = QtWidgets.QFileDialog.getSaveFileName(
            self, "Export report", str(Path(folder) / "report.html"),
            "HTML report (*.html);;PDF report (*.pdf);;CSV table (*.csv)")
        if path:
            ext = {"HTML": ".html", "PDF ": ".pdf", "CSV ": ".csv"}.get(chosen[:4], "")
            if not Path(path).suffix and ext:
                path += ext
            self.reporter.export(folder, path)

    def _list_runs_in_project(self, outcomes: list) -> None:
        """Finished class runs inside a saved project's folder join its run list (saved with it)."""
        from core.errors import InputError

        p = self.session.project
        if p is None or p.folder is None:
            return
        known = {r.path for r in p.runs}
        added = False
        for o in outcomes:
            folder = Path(os.path.abspath(o["run"]))
            if o["status"] != "finished" or folder in known:
                continue
            try:
                p.add_run(folder, name=f"{folder.parent.name}/{folder.name}", cls=o["cls"])
            except InputError:
                continue  # outside the project folder: listed by the runs panel only
            added = True
        if added:
            self.session.mark_dirty()

    def set_runs_root(self, root: str | Path) -> None:
        """Where new runs go and which runs the list shows (default: PROJECT/runs)."""
        self.training_panel.runs_root = Path(root)
        self.runs_panel.set_root(root)

    def show_dock(self, name: str) -> None:
        self.docks[name].show()
        self.docks[name].raise_()

    def _resume_run(self, folder: str) -> None:
        self.show_dock("training")
        self.training_panel.resume(folder)

    def _build_view_toolbar(self) -> None:
        tb = QtWidgets.QToolBar("View")
        tb.setObjectName("toolbar_view")
        self.addToolBar(tb)
        self.mode_combo = QtWidgets.QComboBox()
        self.mode_combo.addItems([m.capitalize() for m in MODES])
        self.mode_combo.setToolTip("Which image to show (keys 1-4, C cycles)")
        self.mode_combo.currentIndexChanged.connect(lambda i: self.viewer.set_mode(MODES[i]))
        self.viewer.mode_changed.connect(lambda m: self._sync_combo(MODES.index(m)))
        tb.addWidget(QtWidgets.QLabel(" Image "))
        tb.addWidget(self.mode_combo)
        tb.addAction(self.act_side)
        tb.addSeparator()
        self.black = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.white = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        for sl, val, tip in ((self.black, 0, "Display black point (does not change the data)"),
                             (self.white, 255, "Display white point (does not change the data)")):
            sl.setRange(0, 255)
            sl.setValue(val)
            sl.setFixedWidth(110)
            sl.setToolTip(tip)
            sl.valueChanged.connect(self._on_levels)
        tb.addWidget(QtWidgets.QLabel(" Black "))
        tb.addWidget(self.black)
        tb.addWidget(QtWidgets.QLabel(" White "))
        tb.addWidget(self.white)
        reset = QtGui.QAction("Reset display", self)
        reset.triggered.connect(lambda: (self.black.setValue(0), self.white.setValue(255)))
        tb.addAction(reset)

    def _sync_combo(self, i: int) -> None:
        self.mode_combo.blockSignals(True)
        self.mode_combo.setCurrentIndex(i)
        self.mode_combo.blockSignals(False)

    def _on_levels(self) -> None:
        self.viewer.set_display_levels(self.black.value(), self.white.value())

    def _fit(self) -> None:
        self.viewer.view.fit()
        for v in self.viewer.side:
            v.fit()

    def _set_tool(self, tool: str) -> None:
        if tool == "pan":
            self.viewer.view.cancel_polygon()
        self.label_panel.set_tool(tool)
        if tool != "pan":
            self.docks["labels"].raise_()

    def _step(self, delta: int) -> None:
        self.session.step(delta, self.browser.visible_keys())

    # -- project ------------------------------------------------------------------------------------
    def open_path(self, path: str | Path) -> bool:
        if not self._confirm_discard():
            return False
        ok = self.session.open_path(path)
        if ok:
            self._remember_recent(str(self.session.project.path or Path(path)))
        return ok

    def open_project_dialog(self) -> None:
        start = self.settings.value("last_dir", str(Path.home()))
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "Open project", start, f"Bearing Inspector projects (*{PROJECT_SUFFIX})")
        if path:
            self.settings.setValue("last_dir", str(Path(path).parent))
            self.open_path(path)

    def open_folder_dialog(self) -> None:
        start = self.settings.value("last_dir", str(Path.home()))
        path = QtWidgets.QFileDialog.getExistingDirectory(self, "Open data set folder", start)
        if path:
            self.settings.setValue("last_dir", str(Path(path).parent))
            self.open_path(path)

    def open_demo(self) -> None:
        from bearing_gui.app import ensure_demo

        path = ensure_demo(self, **self.demo_options)
        if path is not None:
            self.open_path(path)

    def save(self) -> bool:
        if self.session.project is None:
            return False
        if self.session.project.path is None:
            return self.save_as()
        return self.session.save()

    def save_as(self) -> bool:
        if self.session.project is None:
            return False
        start = str(self.session.project.dataset_root.parent / ("project" + PROJECT_SUFFIX))
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self, "Save project", start, f"Bearing Inspector projects (*{PROJECT_SUFFIX})")
        if not path:
            return False
        ok = self.session.save(path)
        if ok:
            self._remember_recent(str(self.session.project.path))
            self._update_title()
        return ok

    def export_config(self) -> None:
        if self.session.config is None:
            return
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export preprocessing config",
                                                        "preprocess.json", "JSON (*.json)")
        if path and self.session.export_config(path):
            self.statusBar().showMessage(f"Preprocessing config written to {path}", 6000)

    def _on_project_opened(self) -> None:
        self._update_title()
        p = self.session.project
        n = len(self.session.samples)
        self.statusBar().showMessage(f"Opened {p.dataset_root} — {n} samples", 6000)
        self.browser.tree.setFocus()  # not the search box: single-key shortcuts must work

    def _apply_to_class(self, cls: str) -> None:
        self.docks["gallery"].show()
        self.docks["gallery"].raise_()
        self.gallery.start(cls)

    def _update_title(self) -> None:
        self.setWindowTitle(self.session.title)

    def _confirm_discard(self) -> bool:
        if not self.ask_before_close:
            return True
        unsaved = self.session.labels.unsaved
        if unsaved:
            self.session.labels.retry_save()
        if unsaved:
            keys = ", ".join(sorted(unsaved)[:5]) + (" …" if len(unsaved) > 5 else "")
            answer = QtWidgets.QMessageBox.warning(
                self, "Labels not saved",
                f"{len(unsaved)} sample(s) could not be saved ({keys}):\n\n"
                f"{next(iter(unsaved.values()))}\n\nClose anyway and lose these labels?",
                QtWidgets.QMessageBox.StandardButton.Discard
                | QtWidgets.QMessageBox.StandardButton.Cancel)
            if answer != QtWidgets.QMessageBox.StandardButton.Discard:
                return False
        if not self.session.dirty or self.session.project is None:
            return True
        answer = QtWidgets.QMessageBox.question(
            self, "Unsaved project changes",
            "The project's settings have changed since it was saved. Save them first?\n"
            "(Labels and masks are saved automatically.)",
            QtWidgets.QMessageBox.StandardButton.Save | QtWidgets.QMessageBox.StandardButton.Discard
            | QtWidgets.QMessageBox.StandardButton.Cancel)
        if answer == QtWidgets.QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QtWidgets.QMessageBox.StandardButton.Discard

    # -- recent files / layout -------------------------------------------------------------------
    def recent(self) -> list[str]:
        value = self.settings.value("recent", [])
        if isinstance(value, str):
            value = [value]
        return [v for v in (value or []) if v]

    def _remember_recent(self, path: str) -> None:
        items = [path] + [p for p in self.recent() if p != path]
        self.settings.setValue("recent", items[:MAX_RECENT])
        self._refresh_recent()

    def _refresh_recent(self) -> None:
        self.recent_menu.clear()
        items = self.recent()
        for p in items:
            act = self.recent_menu.addAction(p)
            act.triggered.connect(lambda _=False, path=p: self.open_path(path))
        self.recent_menu.setEnabled(bool(items))

    def _restore_layout(self) -> None:
        if self.settings.value("layout_version", 0, type=int) != SETTINGS_VERSION:
            return
        geometry = self.settings.value("geometry")
        state = self.settings.value("window_state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state, SETTINGS_VERSION)

    def save_layout(self) -> None:
        self.settings.setValue("layout_version", SETTINGS_VERSION)
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("window_state", self.saveState(SETTINGS_VERSION))
        self.settings.sync()

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:  # noqa: N802
        if not self._confirm_discard():
            event.ignore()
            return
        from bearing_gui.controllers.workers import global_pool

        self.runner.cancel()  # checked before every image: returns within one sample
        self.trainer.cancel()  # checked after every iteration; the run keeps its checkpoint
        self.trainer.wait(30000)
        self.inspector.cancel()
        self.inspector.wait(30000)
        self.reporter.wait(60000)
        self.results_ctl.wait(30000)
        self.session.wait_idle(5000)
        global_pool().waitForDone(10000)
        self.browser.thumbs.clear()
        self.save_layout()
        event.accept()

    # -- messages ------------------------------------------------------------------------------------
    def show_error(self, title: str, message: str) -> None:
        """A clear, non-blocking message (never a traceback)."""
        self.last_error = message
        self.statusBar().showMessage(message, 10000)
        box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Icon.Warning, title, message,
                                    QtWidgets.QMessageBox.StandardButton.Ok, self)
        box.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def _on_pixel(self, x: int, y: int, value: str) -> None:
        self.pixel_label.setText(f"x {x}  y {y}  value {value}" if value else "")

    def show_shortcuts(self) -> None:
        text = ("Samples: N / PgDown next, Shift+N / PgUp previous\n"
                "Images: 1-3 levels, 4 composed, C cycle, T levels side by side\n"
                "Zoom: wheel, + / -, F fit, Ctrl+1 actual pixels; drag to pan\n"
                "Label: G good, D dent; B brush, E eraser, P polygon (Enter fills), R rectangle, "
                "Esc pan; [ / ] brush size; Shift+polygon/rectangle erases\n"
                "Undo Ctrl+Z, redo Ctrl+Shift+Z\n"
                "Project: Ctrl+O open project, Ctrl+Shift+O open data set folder, Ctrl+S save, "
                "Ctrl+Shift+S save as\n"
                "Training: Ctrl+T panel, F5 start, Shift+F5 cancel, Ctrl+R runs, Ctrl+E results, "
                "Ctrl+B batch inspection, Ctrl+Shift+E export report; in Results: A accepts the "
                "prediction as label")
        box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Icon.Information, "Keyboard shortcuts",
                                    text, QtWidgets.QMessageBox.StandardButton.Ok, self)
        box.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

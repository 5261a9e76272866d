"""Training panel: what to train (classes, stage, encoder, device, hyper-parameters), start / cancel /
resume, progress with ETA, live loss and learning-rate curves, and the training log."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

from bearing_gui.controllers.training import (DETECTORS, TrainingController, TrainRequest,
                                              new_run_name)
from bearing_gui.qt import QtCore, QtWidgets
from bearing_gui.widgets.param_form import replace_path
from bearing_gui.widgets.param_form import ParamForm
from bearing_gui.widgets.plots import TrainingCurves

STAGES = (("dinomaly", "Train Dinomaly (detector)"), ("vitad", "Train ViTAD (detector)"),
          ("finetune", "Fine-tune the encoder"))
MODEL_GROUPS = {"dinomaly": ("Dinomaly",), "vitad": ("ViTAD",), "finetune": ("fine-tuning", "patch labels")}
HIDDEN_PATHS = (("model",), ("device",))  # edited by the dedicated widgets above the form
MAX_LOG_LINES = 5000


def format_duration(seconds: float) -> str:
    if not math.isfinite(seconds) or seconds < 0:
        return "–"
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class TrainingPanel(QtWidgets.QWidget):
    run_finished = QtCore.Signal(str)   # the run root (RUNS/<name>) or resumed class run folder

    def __init__(self, session, controller: TrainingController,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        from core.train.stages import TrainConfig

        self.session = session
        self.ctl = controller
        self.config = TrainConfig()
        self.runs_root: Path | None = None   # set by the main window; None: next to the data set
        self._last_root = ""
        self._random_encoders: dict[str, bool] = {}  # fine-tuning run -> built on random weights

        # -- what to train ----------------------------------------------------------------------
        self.class_boxes = {c: QtWidgets.QCheckBox(c) for c in ("LC", "SC", "OD")}
        self.class_boxes["LC"].setChecked(True)
        classes = QtWidgets.QHBoxLayout()
        for c, box in self.class_boxes.items():
            box.setToolTip(f"Train a model for the {c} images (one run folder per class)")
            classes.addWidget(box)
        classes.addStretch(1)
        self.stage = QtWidgets.QComboBox()
        for key, text in STAGES:
            self.stage.addItem(text, key)
        self.stage.setToolTip("Fine-tune the encoder first (optional), then train a detector on the "
                              "pre-trained or the fine-tuned encoder")
        self.backbone = QtWidgets.QComboBox()
        self.backbone.setEditable(True)
        from core.models.encoder import BACKBONES

        self.backbone.addItems(list(BACKBONES))
        self.backbone.setToolTip("timm model name of the ViT encoder")
        self.weights = QtWidgets.QComboBox()
        self.weights.setEditable(True)
        self.weights.addItems(["pretrained", "random"])
        self.weights.setToolTip("'pretrained' (timm cache), a local .safetensors/.pth file, or "
                                "'random' (no pre-training: tests and demos only)")
        browse_w = QtWidgets.QPushButton("File…")
        browse_w.setToolTip("Use a local weights file (.safetensors or .pth)")
        browse_w.clicked.connect(self._browse_weights)
        wrow = QtWidgets.QHBoxLayout()
        wrow.addWidget(self.weights, 1)
        wrow.addWidget(browse_w)
        self.encoder_run = QtWidgets.QComboBox()
        self.encoder_run.setEditable(True)
        self.encoder_run.addItem("")
        self.encoder_run.lineEdit().setPlaceholderText("none: use the pre-trained encoder")
        self.encoder_run.setToolTip("A fine-tuning run folder whose encoder the detector uses")
        self.random_warning = QtWidgets.QLabel(
            "⚠ RANDOM encoder weights: the model will not detect real dents (tests and demos only).")
        self.random_warning.setWordWrap(True)
        self.random_warning.setStyleSheet("color:#ff9f43; font-weight:bold;")
        self.device = QtWidgets.QComboBox()
        from core.device import available_devices

        for d in available_devices():
            self.device.addItem(d.label, d.name)
        self.device.setToolTip("Where to train: each CUDA GPU, or the CPU (slow)")
        self.run_name = QtWidgets.QLineEdit()
        self.run_name.setPlaceholderText("automatic (date-model-classes)")
        self.run_name.setToolTip("Folder name of the new run under the runs folder")
        self.evaluate = QtWidgets.QCheckBox("Evaluate on the test split when finished")
        self.evaluate.setChecked(True)

        what = QtWidgets.QGroupBox("What to train")
        f = QtWidgets.QFormLayout(what)
        f.setLabelAlignment(QtCore.Qt.AlignmentFlag.AlignRight)
        f.addRow("Classes", classes)
        f.addRow("Stage", self.stage)
        f.addRow("Encoder", self.backbone)
        f.addRow("Weights", wrow)
        f.addRow("Fine-tuned encoder", self.encoder_run)
        f.addRow(self.random_warning)
        f.addRow("Device", self.device)
        f.addRow("Run name", self.run_name)
        f.addRow(self.evaluate)

        # -- hyper-parameters (generated from TrainConfig's metadata) ----------------------------
        self.form = ParamForm()
        self.form.changed.connect(self._on_param)
        self.form.reset_requested.connect(self._on_reset)
        self.optim_form = ParamForm()
        self.optim_form.changed.connect(lambda p, v: self._on_param((self._optim_field(),) + p, v))
        self.optim_form.reset_requested.connect(
            lambda paths: self._on_reset([(self._optim_field(),) + p for p in paths]))
        self.advanced = QtWidgets.QCheckBox("Show advanced parameters")
        self.advanced.toggled.connect(self._on_advanced)

        settings = QtWidgets.QWidget()
        sl = QtWidgets.QVBoxLayout(settings)
        sl.setContentsMargins(0, 0, 4, 0)
        sl.addWidget(what)
        sl.addWidget(self.advanced)
        sl.addWidget(self.form)
        sl.addWidget(self.optim_form)
        sl.addStretch(1)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(settings)

        # -- running ----------------------------------------------------------------------------
        self.start_btn = QtWidgets.QPushButton("Start training")
        self.start_btn.setToolTip("Start training (F5)")
        self.start_btn.clicked.connect(self.start)
        self.cancel_btn = QtWidgets.QPushButton("Cancel")
        self.cancel_btn.setToolTip("Stop after the current iteration and save a checkpoint "
                                   "(the run can be resumed) (Shift+F5)")
        self.cancel_btn.clicked.connect(self.ctl.cancel)
        self.cancel_btn.setEnabled(False)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.status = QtWidgets.QLabel("Not training. Choose what to train, then Start.")
        self.status.setWordWrap(True)
        self.curves = TrainingCurves()
        self.log = QtWidgets.QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(MAX_LOG_LINES)
        self.log.setPlaceholderText("The training log appears here.")
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.start_btn)
        buttons.addWidget(self.cancel_btn)
        buttons.addWidget(self.progress, 1)
        run_box = QtWidgets.QWidget()
        rl = QtWidgets.QVBoxLayout(run_box)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addLayout(buttons)
        rl.addWidget(self.status)
        tabs = QtWidgets.QTabWidget()
        tabs.addTab(self.curves, "Curves")
        tabs.addTab(self.log, "Log")
        self.tabs = tabs
        rl.addWidget(tabs, 1)

        split = self.splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        split.addWidget(scroll)
        split.addWidget(run_box)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        split.setChildrenCollapsible(False)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(split)

        self.stage.currentIndexChanged.connect(self._on_stage)
        self.weights.currentTextChanged.connect(lambda _t: self._sync_encoder())
        self.backbone.currentTextChanged.connect(lambda _t: self._sync_encoder())
        self.encoder_run.currentTextChanged.connect(lambda _t: self._sync_encoder())
        self.device.currentIndexChanged.connect(lambda _i: self._sync_encoder())
        self.ctl.updated.connect(self._on_update)
        self.ctl.log_lines.connect(self._on_log)
        self.ctl.finished.connect(self._on_finished)
        self.ctl.failed.connect(self._on_failed)
        self._show_config()

    # -- config ---------------------------------------------------------------------------------
    def _optim_field(self) -> str:
        return "finetune_optim" if self.config.model == "finetune" else "optim"

    def set_config(self, config) -> None:
        """Show ``config`` (a TrainConfig) in every widget."""
        self.config = config
        for w, v in ((self.backbone, config.encoder.backbone), (self.weights, config.encoder.weights),
                     (self.encoder_run, config.encoder_run)):
            w.blockSignals(True)
            w.setCurrentText(v)
            w.blockSignals(False)
        self.stage.blockSignals(True)
        self.stage.setCurrentIndex(self.stage.findData(config.model))
        self.stage.blockSignals(False)
        i = self.device.findData(config.device)
        if i >= 0:
            self.device.blockSignals(True)
            self.device.setCurrentIndex(i)
            self.device.blockSignals(False)
        self._show_config()

    def _show_config(self) -> None:
        self.form.set_config(self.config)
        self.optim_form.set_config(getattr(self.config, self._optim_field()))
        self._apply_visibility()
        self._sync_encoder(update=False)

    def _apply_visibility(self) -> None:
        visible = {"training"} | set(MODEL_GROUPS[self.config.model])
        for title in ("training", "encoder", "optimiser", "Dinomaly", "ViTAD", "fine-tuning",
                      "patch labels"):
            try:
                self.form.group_box(title).setVisible(title in visible)
            except KeyError:
                continue
        for path in HIDDEN_PATHS:
            editor = self.form.editor(path)
            editor.hide()
            layout = editor.parentWidget().layout() if editor.parentWidget() else None
            form = layout.itemAt(0).layout() if layout is not None and layout.count() else None
            if isinstance(form, QtWidgets.QFormLayout):
                label = form.labelForField(editor)
                if label is not None:
                    label.hide()
        self.optim_form.group_box("optimiser").setTitle(
            "fine-tuning optimiser" if self.config.model == "finetune" else "detector optimiser")

    def _on_advanced(self, show: bool) -> None:
        self.form.set_show_advanced(show)
        self.optim_form.set_show_advanced(show)
        self._apply_visibility()

    def _on_stage(self, _i: int) -> None:
        self._set(("model",), self.stage.currentData())
        self._show_config()

    def _sync_encoder(self, update: bool = True) -> None:
        if update:
            enc = dataclasses.replace(self.config.encoder, backbone=self.backbone.currentText().strip(),
                                      weights=self.weights.currentText().strip())
            self.config = dataclasses.replace(self.config, encoder=enc,
                                              encoder_run=self.encoder_run.currentText().strip(),
                                              device=self.device.currentData() or "auto")
        detector = self.config.model in DETECTORS
        self.encoder_run.setEnabled(detector)
        if detector and self.config.encoder_run:
            random = self._random_encoders.get(self.config.encoder_run, False)
        else:
            random = self.config.encoder.weights == "random"
        self.random_warning.setVisible(random)

    def _set(self, path: tuple, value) -> bool:
        from core.config import ConfigError, validate

        try:
            new = replace_path(self.config, path, value)
            validate(new)
        except (ConfigError, TypeError, ValueError) as exc:
            self.session.error.emit("Invalid value", str(exc))
            self._show_config()
            return False
        self.config = new
        return True

    def _on_param(self, path: tuple, value) -> None:
        if self._set(path, value) and path == ("model",):
            self._show_config()

    def _on_reset(self, paths: list) -> None:
        from core.train.stages import TrainConfig
        from bearing_gui.widgets.param_form import get_path

        default = TrainConfig()
        for p in paths:
            if p not in HIDDEN_PATHS:
                self.config = replace_path(self.config, p, get_path(default, p))
        self._show_config()

    def set_finetune_runs(self, runs: list[tuple[str, bool]]) -> None:
        """Offer these fine-tuning runs (folder, built on random weights) as encoders."""
        self._random_encoders = dict(runs)
        folders = [f for f, _r in runs]
        current = self.encoder_run.currentText()
        self.encoder_run.blockSignals(True)
        self.encoder_run.clear()
        self.encoder_run.addItem("")
        self.encoder_run.addItems(folders)
        self.encoder_run.setCurrentText(current)
        self.encoder_run.blockSignals(False)
        self._sync_encoder(update=False)

    def _browse_weights(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Encoder weights", "",
                                                        "Weights (*.safetensors *.pth)")
        if path:
            self.weights.setCurrentText(path)

    # -- running --------------------------------------------------------------------------------
    def selected_classes(self) -> list[str]:
        return [c for c, b in self.class_boxes.items() if b.isChecked()]

    def default_runs_root(self) -> Path | None:
        p = self.session.project
        if p is None:
            return None
        return (p.folder or p.dataset_root.parent) / "runs"

    def start(self) -> bool:
        """Start a new training with the panel's settings; errors are shown, not raised."""
        if self.ctl.running:
            return False
        p = self.session.project
        if p is None:
            self.session.error.emit("Nothing to train on", "Open a data set or a project first.")
            return False
        classes = self.selected_classes()
        if not classes:
            self.session.error.emit("No class chosen", "Tick at least one class (LC, SC or OD).")
            return False
        self._sync_encoder()
        root = self.runs_root or self.default_runs_root()
        name = self.run_name.text().strip() or new_run_name(self.config.model, classes)
        if "/" in name or "\\" in name or name in (".", ".."):
            self.session.error.emit("Invalid run name", f"{name!r}: use a plain folder name.")
            return False
        run_root = root / name
        if run_root.exists():
            self.session.error.emit("Run exists", f"{run_root} already exists; choose another run "
                                    "name, or resume it from the runs list.")
            return False
        req = TrainRequest(p.dataset_root, classes, self.config, self.session.config, run_root,
                           evaluate=self.evaluate.isChecked())
        return self._launch(req, f"Training {self.config.model} on {', '.join(classes)} into {run_root}")

    def resume(self, run_dir: str | Path) -> bool:
        """Continue an interrupted or cancelled class run from its checkpoint."""
        if self.ctl.running:
            return False
        p = self.session.project
        data_root = p.dataset_root if p is not None else Path(run_dir)
        config = self.session.config
        req = TrainRequest(data_root, [], None, config, None, resume_dir=Path(run_dir),
                           evaluate=self.evaluate.isChecked())
        return self._launch(req, f"Resuming {run_dir}")

    def _launch(self, req: TrainRequest, text: str) -> bool:
        self.log.clear()
        self._last_root = str(req.resume_dir or req.run_root)
        if not self.ctl.start(req):
            return False
        self.log.appendPlainText(text)
        self.start_btn.setEnabled(False)
        self.cancel_btn.setEnabled(True)
        self.progress.setRange(0, 0)
        self.status.setText(text)
        return True

    def _on_update(self) -> None:
        c = self.ctl
        if c.total:
            self.progress.setRange(0, c.total)
            self.progress.setValue(c.iteration)
        eta = format_duration(c.eta_s)
        last = {k: v[-1] for k, v in c.curves.values.items() if v}
        losses = "  ".join(f"{k} {v:.4g}" for k, v in last.items() if math.isfinite(v))
        cls = f"{c.curves.cls}: " if c.curves.cls else ""
        if c.running:
            self.status.setText(f"{cls}{c.phase} — iteration {c.iteration}/{c.total or '?'}, "
                                f"elapsed {format_duration(c.elapsed_s)}, ETA {eta}"
                                + (f"\n{losses}" if losses else ""))
        self.curves.set_data(c.curves.iterations, c.curves.values, c.curves.lr)

    def _on_log(self, lines: list) -> None:
        for line in lines:
            self.log.appendPlainText(line)

    def _on_finished(self, status: str, outcomes: list) -> None:
        self._idle()
        parts = [f"{o['cls']}: {o['status']}" for o in outcomes]
        hint = " — resume it from the runs list" if status == "cancelled" else ""
        self.status.setText(f"Training {status}" + (f" ({', '.join(parts)})" if parts else "") + hint)
        self.log.appendPlainText(f"training {status}")
        self.run_finished.emit(self._last_root)

    def _on_failed(self, message: str) -> None:
        self._idle()
        self.status.setText(f"Training failed: {message}")
        self.session.error.emit("Training failed", message)
        self.run_finished.emit(self._last_root)

    def _idle(self) -> None:
        self.start_btn.setEnabled(True)
        self.cancel_btn.setEnabled(False)
        if self.ctl.total:
            self.progress.setRange(0, self.ctl.total)
            self.progress.setValue(self.ctl.iteration)
        else:
            self.progress.setRange(0, 1)
            self.progress.setValue(0)

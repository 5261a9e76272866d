"""Live preprocessing tuning: the current class's parameters, overlay toggles, the ROI result."""

from __future__ import annotations

import math

from bearing_gui.controllers.session import SessionController
from bearing_gui.panels.viewer_area import ViewerArea
from bearing_gui.qt import QtCore, QtWidgets
from bearing_gui.widgets.param_form import ParamForm

STAGES = [("", "none"), ("clahe", "CLAHE"), ("blur", "blur"), ("binary", "binary (Otsu)"),
          ("closed", "closed"), ("edges", "edges (SC)")]


class PreprocessPanel(QtWidgets.QWidget):
    apply_to_class_requested = QtCore.Signal(str)

    def __init__(self, session: SessionController, viewer: ViewerArea,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.session, self.viewer = session, viewer
        self._cls: str | None = None

        self.heading = QtWidgets.QLabel("Open a data set to tune its preprocessing")
        self.heading.setStyleSheet("font-weight:bold; font-size:13px;")
        self.result_label = QtWidgets.QLabel("")
        self.result_label.setWordWrap(True)
        self.result_label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)

        # overlays
        ov = QtWidgets.QGroupBox("Overlays")
        grid = QtWidgets.QGridLayout(ov)
        grid.setContentsMargins(8, 6, 8, 6)
        self.stage_combo = QtWidgets.QComboBox()
        for key, text in STAGES:
            self.stage_combo.addItem(text, key)
        self.stage_as_image = QtWidgets.QCheckBox("as image")
        self.stage_as_image.setToolTip("Show the stage opaque instead of as a tinted layer")
        grid.addWidget(QtWidgets.QLabel("Stage"), 0, 0)
        grid.addWidget(self.stage_combo, 0, 1)
        grid.addWidget(self.stage_as_image, 0, 2)
        self.toggles: dict[str, QtWidgets.QCheckBox] = {}
        opts = viewer.options
        for i, (name, text, tip) in enumerate([
                ("candidates", "All candidates", "every circle/ellipse found (grey, dashed)"),
                ("passed", "Passed filters", "candidates that passed area/roundness/radius (yellow)"),
                ("chosen", "Chosen ROI", "the circle or ellipse that was chosen (green)"),
                ("rings", "c_inner / c_outer", "mask boundaries of LC/SC (orange / red)"),
                ("roi_mask", "ROI mask", "darken what the mask removes"),
                ("crop_box", "Crop box", "the square crop of LC/SC (cyan)"),
                ("od_points", "OD boundary points", "sampled boundary of the OD ellipse"),
                ("od_centre", "OD global centre", "the reference centre the OD crop hangs on"),
                ("od_handles", "OD crop handles", "drag to tune the OD pre-crop (purple) and crop "
                                                  "(cyan) on the image")]):
            cb = QtWidgets.QCheckBox(text)
            cb.setToolTip(tip)
            cb.setChecked(getattr(opts, name))
            cb.toggled.connect(lambda on, n=name: self.viewer.set_options(**{n: on}))
            grid.addWidget(cb, 1 + i // 2, i % 2 if i < 8 else 0, 1, 1 if i < 8 else 3)
            self.toggles[name] = cb
        legend = QtWidgets.QLabel(
            "<span style='color:#2ecc71'>■</span> chosen &nbsp;"
            "<span style='color:#f1c40f'>■</span> passed &nbsp;"
            "<span style='color:#7f8c8d'>■</span> candidate &nbsp;"
            "<span style='color:#e67e22'>■</span> c_inner &nbsp;"
            "<span style='color:#e74c3c'>■</span> c_outer &nbsp;"
            "<span style='color:#4dd0e1'>■</span> crop &nbsp;"
            "<span style='color:#9b59b6'>■</span> OD pre-crop &nbsp;"
            "<span style='color:#ff4dd2'>+</span> OD centre")
        legend.setWordWrap(True)
        legend.setStyleSheet("color:#aaa;")
        grid.addWidget(legend, 6, 0, 1, 3)
        self.stage_combo.currentIndexChanged.connect(
            lambda _: self.viewer.set_options(stage=self.stage_combo.currentData()))
        self.stage_as_image.toggled.connect(lambda on: self.viewer.set_options(stage_as_image=on))

        self.form = ParamForm()
        self.form.changed.connect(self._on_param)
        self.form.reset_requested.connect(self._on_reset)
        self.advanced = QtWidgets.QCheckBox("Show advanced parameters")
        self.advanced.toggled.connect(self.form.set_show_advanced)

        self.apply_btn = QtWidgets.QPushButton("Apply to class…")
        self.apply_btn.setToolTip("Run these settings on every sample of the class, fit r_mean / "
                                  "the OD global centre, and show all crops (failures first)")
        self.apply_btn.clicked.connect(lambda: self._cls and self.apply_to_class_requested.emit(
            self._cls))

        inner = QtWidgets.QWidget()
        lay = QtWidgets.QVBoxLayout(inner)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(self.heading)
        lay.addWidget(self.result_label)
        lay.addWidget(ov)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.advanced)
        row.addStretch(1)
        row.addWidget(self.apply_btn)
        lay.addLayout(row)
        lay.addWidget(self.form)
        lay.addStretch(1)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(inner)
        scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        outer = QtWidgets.QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

        session.sample_selected.connect(self._on_sample)
        session.project_opened.connect(self._on_project)
        session.config_changed.connect(self._on_config)
        session.preprocess_done.connect(self._on_result)
        session.preprocess_failed.connect(self._on_failed)
        self.setEnabled(False)

    def _on_project(self) -> None:
        self._cls = None
        self.setEnabled(bool(self.session.samples))

    def _on_sample(self, sample) -> None:
        if sample.cls != self._cls:
            self._cls = sample.cls
            self.form.set_config(self.session.class_config(sample.cls))
        self.heading.setText(f"{sample.cls} preprocessing — {sample.key}")
        self.result_label.setText("computing…")
        self.result_label.setStyleSheet("")

    def _on_config(self, cls: str) -> None:
        if cls == self._cls:
            self.form.set_config(self.session.class_config(cls))

    def _on_param(self, path: tuple, value) -> None:
        if self._cls:
            self.session.set_param(self._cls, path, value)

    def _on_reset(self, paths: list) -> None:
        if self._cls:
            self.session.reset_params(self._cls, paths)

    def _on_result(self, key, result) -> None:
        g = result.to_geometry()
        if g["kind"] == "circle":
            shape = f"circle at ({g['cx']:.0f}, {g['cy']:.0f}), r = {g['r']:.0f} px"
        else:
            shape = (f"ellipse at ({g['cx']:.0f}, {g['cy']:.0f}), a = {g['a']:.0f}, "
                     f"b = {g['b']:.0f} px, {g['angle']:.0f}°")
        x0, y0, x1, y1 = result.crop
        ms = self.session.last_latency_ms
        timing = "" if math.isnan(ms) else f" · {ms:.0f} ms"
        self.result_label.setText(f"ROI found: {shape}; crop {x1 - x0}×{y1 - y0} px; "
                                  f"{len(result.passed)}/{len(result.candidates)} candidates "
                                  f"passed{timing}")
        self.result_label.setStyleSheet("color:#9ad39a;")

    def _on_failed(self, key, message: str) -> None:
        self.result_label.setText(message)
        self.result_label.setStyleSheet("color:#ff8080;")

"""Labelling tools: good/dent, brush/eraser/polygon/rectangle, radius, opacity, patch grid."""

from __future__ import annotations

from bearing_gui.controllers.session import SessionController
from bearing_gui.panels.viewer_area import ViewerArea
from bearing_gui.qt import QtCore, QtWidgets

AUTOSAVE_HINT = ("Every stroke is saved at once: masks as ROOT/<class>/ground_truth/<group>/"
                 "<sample>_mask.png, relabels in ROOT/labels.json.")
TOOL_KEYS = {"pan": "Esc", "brush": "B", "eraser": "E", "polygon": "P", "rect": "R"}
TOOL_NAMES = {"pan": "Pan / zoom", "brush": "Brush", "eraser": "Eraser", "polygon": "Polygon",
              "rect": "Rectangle"}


class LabelPanel(QtWidgets.QWidget):
    def __init__(self, session: SessionController, viewer: ViewerArea,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.session, self.viewer = session, viewer
        labels = session.labels

        self.sample_label = QtWidgets.QLabel("No sample")
        self.sample_label.setStyleSheet("font-weight:bold;")
        self.good_btn = QtWidgets.QPushButton("Good  (G)")
        self.dent_btn = QtWidgets.QPushButton("Dent  (D)")
        for b in (self.good_btn, self.dent_btn):
            b.setCheckable(True)
            b.setMinimumHeight(30)
        self.good_btn.clicked.connect(lambda: labels.mark("good"))
        self.dent_btn.clicked.connect(lambda: labels.mark("dent"))
        mark_row = QtWidgets.QHBoxLayout()
        mark_row.addWidget(self.good_btn)
        mark_row.addWidget(self.dent_btn)

        tools = QtWidgets.QGroupBox("Tools")
        tl = QtWidgets.QGridLayout(tools)
        self.tool_buttons: dict[str, QtWidgets.QToolButton] = {}
        group = QtWidgets.QButtonGroup(self)
        for i, tool in enumerate(TOOL_KEYS):
            b = QtWidgets.QToolButton()
            b.setText(f"{TOOL_NAMES[tool]} ({TOOL_KEYS[tool]})")
            b.setCheckable(True)
            b.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonTextOnly)
            b.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding,
                            QtWidgets.QSizePolicy.Policy.Fixed)
            b.clicked.connect(lambda _=False, t=tool: self.set_tool(t))
            group.addButton(b)
            tl.addWidget(b, i // 2, i % 2)
            self.tool_buttons[tool] = b
        self.tool_buttons["pan"].setChecked(True)
        hint = QtWidgets.QLabel("Polygon: click the corners, double-click or Enter to fill. "
                                "Hold Shift with polygon/rectangle to erase.")
        hint.setWordWrap(True)
        hint.setStyleSheet("color:#999;")
        tl.addWidget(hint, 3, 0, 1, 2)

        self.radius = QtWidgets.QSpinBox()
        self.radius.setRange(1, 500)
        self.radius.setValue(int(labels.brush_radius))
        self.radius.setSuffix(" px")
        self.radius.setToolTip("Brush and eraser radius in level-0 pixels ([ and ] change it)")
        self.radius.valueChanged.connect(self._on_radius)
        self.opacity = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(int(viewer.options.label_opacity * 100))
        self.opacity.setToolTip("Opacity of the red dent overlay")
        self.opacity.valueChanged.connect(lambda v: viewer.set_options(label_opacity=v / 100))
        form = QtWidgets.QFormLayout()
        form.addRow("Brush radius", self.radius)
        form.addRow("Overlay opacity", self.opacity)

        self.undo_btn = QtWidgets.QPushButton("Undo (Ctrl+Z)")
        self.redo_btn = QtWidgets.QPushButton("Redo (Ctrl+Shift+Z)")
        self.undo_btn.setToolTip("Ctrl+Z: undo the last stroke / fill / mark")
        self.redo_btn.setToolTip("Ctrl+Shift+Z")
        self.undo_btn.clicked.connect(labels.undo_stack.undo)
        self.redo_btn.clicked.connect(labels.undo_stack.redo)
        labels.undo_stack.canUndoChanged.connect(self.undo_btn.setEnabled)
        labels.undo_stack.canRedoChanged.connect(self.redo_btn.setEnabled)
        self.undo_btn.setEnabled(False)
        self.redo_btn.setEnabled(False)
        ur = QtWidgets.QHBoxLayout()
        ur.addWidget(self.undo_btn)
        ur.addWidget(self.redo_btn)

        grid_box = QtWidgets.QGroupBox("Patch grid (what patch classification sees)")
        gl = QtWidgets.QFormLayout(grid_box)
        self.grid_on = QtWidgets.QCheckBox("Show abnormal patches")
        self.input_size = QtWidgets.QComboBox()
        self.input_size.addItems(["448", "256", "224"])
        self.input_size.setToolTip("Model input size: Dinomaly 448, ViTAD 256")
        self.patch_size = QtWidgets.QComboBox()
        self.patch_size.addItems(["14", "16", "8"])
        self.patch_size.setToolTip("ViT patch size (DINOv2: 14, DINO: 16 or 8)")
        gl.addRow(self.grid_on)
        gl.addRow("Input size [px]", self.input_size)
        gl.addRow("Patch size [px]", self.patch_size)
        self.grid_info = QtWidgets.QLabel("")
        self.grid_info.setStyleSheet("color:#aaa;")
        gl.addRow(self.grid_info)
        self.grid_on.toggled.connect(self._update_grid)
        self.input_size.currentIndexChanged.connect(self._update_grid)
        self.patch_size.currentIndexChanged.connect(self._update_grid)

        self.save_status = QtWidgets.QLabel(AUTOSAVE_HINT)
        self.save_status.setWordWrap(True)
        self.save_status.setStyleSheet("color:#999;")

        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(self.sample_label)
        lay.addLayout(mark_row)
        lay.addWidget(tools)
        lay.addLayout(form)
        lay.addLayout(ur)
        lay.addWidget(grid_box)
        lay.addWidget(self.save_status)
        lay.addStretch(1)

        labels.mask_changed.connect(self._on_mask)
        labels.saved.connect(lambda key: self._show_saved(True, ""))
        labels.save_failed.connect(lambda key, msg: self._show_saved(False, msg))
        session.sample_loaded.connect(lambda *_: self._on_mask())
        session.preprocess_done.connect(lambda *_: self._update_grid())
        self.setEnabled(False)
        session.project_opened.connect(lambda: self.setEnabled(bool(session.samples)))

    def set_tool(self, tool: str) -> None:
        self.viewer.view.set_tool(tool)
        self.viewer.view.set_brush_radius(self.radius.value())
        self.tool_buttons[tool].setChecked(True)

    def change_radius(self, factor: float) -> None:
        self.radius.setValue(max(1, int(round(self.radius.value() * factor))) if factor > 1
                             else max(1, int(self.radius.value() * factor)))

    def _on_radius(self, r: int) -> None:
        self.session.labels.brush_radius = float(r)
        self.viewer.view.set_brush_radius(float(r))

    def _on_mask(self) -> None:
        lc = self.session.labels
        t = lc.target
        self.sample_label.setText(t.key if t else "No sample")
        self.good_btn.setChecked(lc.label == "good")
        self.dent_btn.setChecked(lc.label == "dent")
        if t is not None and t.key in lc.unsaved:
            self._show_saved(False, lc.unsaved[t.key])
        self._update_grid()

    def _show_saved(self, ok: bool, message: str) -> None:
        if ok:
            self.save_status.setText("All changes saved.")
            self.save_status.setStyleSheet("color:#9ad39a;")
        else:
            self.save_status.setText(f"NOT SAVED: {message}")
            self.save_status.setStyleSheet("color:#ff6b6b; font-weight:bold;")

    def _update_grid(self) -> None:
        on = self.grid_on.isChecked()
        self.viewer.options.patch_grid = on
        if not on:
            self.viewer.set_patch_cells(None)
            self.grid_info.setText("")
            return
        size, patch = int(self.input_size.currentText()), int(self.patch_size.currentText())
        cells, why = self.session.patch_grid(size, patch)
        self.viewer.set_patch_cells(cells)
        if cells is None:
            self.grid_info.setText(why)
        else:
            self.grid_info.setText(f"{int(cells.sum())} of {cells.size} patches abnormal "
                                   f"({cells.shape[1]}×{cells.shape[0]} grid)")

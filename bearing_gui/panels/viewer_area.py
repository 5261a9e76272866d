"""The central area: the main image view (or the three levels side by side) and its overlays.

Everything drawn here is in level-0 pixel coordinates: the composed model input and the ROI mask
are placed at their crop box, OD stage images at their pre-crop box.
"""

from __future__ import annotations

from dataclasses import dataclass

from bearing_gui.controllers.session import LoadedSample, SessionController
from bearing_gui.qt import QtCore, QtWidgets
from bearing_gui.widgets.image_view import ImageView

MODES = ("level 0", "level 1", "level 2", "composed")
STAGE_TINTS = {"clahe": None, "blur": None, "binary": (0, 200, 255), "closed": (0, 255, 140),
               "edges": (255, 230, 0)}


def _shift() -> bool:
    mods = QtWidgets.QApplication.keyboardModifiers()
    return bool(mods & QtCore.Qt.KeyboardModifier.ShiftModifier)


@dataclass
class OverlayOptions:
    """Which overlays are drawn (toggled from the preprocessing panel and the View menu)."""

    stage: str = ""  # "" = none, else a key of PreprocessResult.stages
    stage_as_image: bool = False  # False: tinted layer over the picture
    candidates: bool = False
    passed: bool = True
    chosen: bool = True
    rings: bool = True  # c_inner / c_outer
    roi_mask: bool = True
    crop_box: bool = True
    od_points: bool = True
    od_centre: bool = True
    od_handles: bool = True
    labels: bool = True
    label_opacity: float = 0.45
    patch_grid: bool = False


class ViewerArea(QtWidgets.QWidget):
    mode_changed = QtCore.Signal(str)

    def __init__(self, session: SessionController, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.mode = "level 0"
        self.options = OverlayOptions()
        self.black, self.white = 0, 255
        self.patch_cells = None  # (rows, cols) bool grid, set by the labelling panel
        self.view = ImageView()
        self.side = [ImageView(title=f"Level {i}") for i in range(3)]
        side_box = QtWidgets.QWidget()
        side_layout = QtWidgets.QHBoxLayout(side_box)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.setSpacing(2)
        for v in self.side:
            side_layout.addWidget(v)
            v.view_changed.connect(lambda rect, src=v: self._sync(src, rect))
        self.stack = QtWidgets.QStackedWidget()
        self.stack.addWidget(self.view)
        self.stack.addWidget(side_box)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)
        self.view.show_message("No project open.\n\nOpen a data set folder (Ctrl+Shift+O), a "
                               "project (Ctrl+O) or the demo (File menu).")

        session.sample_selected.connect(self._on_selected)
        session.sample_loaded.connect(self._on_loaded)
        session.preprocess_done.connect(lambda *_: self.redraw_overlays())
        session.preprocess_failed.connect(lambda *_: self.redraw_overlays())
        session.labels.mask_changed.connect(self._on_mask_changed)
        session.project_opened.connect(self._on_project)
        self.view.crop_rect_edited.connect(session.set_od_box)
        self.view.stroke_started.connect(
            lambda x, y: session.labels.begin_stroke(x, y, erase=self.view.tool == "eraser"))
        self.view.stroke_moved.connect(session.labels.extend_stroke)
        self.view.stroke_finished.connect(session.labels.end_stroke)
        self.view.polygon_drawn.connect(lambda pts: session.labels.polygon(pts, erase=_shift()))
        self.view.rect_drawn.connect(
            lambda x0, y0, x1, y1: session.labels.rect((x0, y0), (x1, y1), erase=_shift()))

    # -- modes -----------------------------------------------------------------------------------
    @property
    def side_by_side(self) -> bool:
        return self.stack.currentIndex() == 1

    def set_side_by_side(self, on: bool) -> None:
        self.stack.setCurrentIndex(1 if on else 0)
        self._show_images()

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(mode)
        self.mode = mode
        self._show_images()
        self.mode_changed.emit(mode)

    def cycle_mode(self) -> None:
        self.set_mode(MODES[(MODES.index(self.mode) + 1) % len(MODES)])

    def set_display_levels(self, black: int, white: int) -> None:
        self.black, self.white = black, white
        for v in [self.view, *self.side]:
            v.set_display_levels(black, white)

    def _sync(self, source: ImageView, rect) -> None:
        for v in self.side:
            if v is not source:
                v.set_view_range(rect)

    # -- content -----------------------------------------------------------------------------------
    def _on_project(self) -> None:
        if not self.session.samples:
            self.view.show_message("This data set has no samples.\n\nExpected "
                                   "ROOT/LC|SC|OD/train|test/<group>/<sample>_<level>.png")

    def _on_selected(self, sample) -> None:
        if self.session.loaded is None:
            self.view.show_message(f"Loading {sample.key} …")

    def _on_loaded(self, loaded: LoadedSample) -> None:
        self._show_images()
        self._on_mask_changed()
        self.redraw_overlays()

    def _show_images(self) -> None:
        loaded = self.session.loaded
        if loaded is None:
            return
        levels = (self.black, self.white)
        if self.side_by_side:
            for i, v in enumerate(self.side):
                img = loaded.levels[i] if i < len(loaded.levels) else None
                if img is None:
                    v.show_message(loaded.errors.get(i, f"No level {i}"))
                else:
                    v.set_image(img, levels=levels)
            return
        v = self.view
        frame = loaded.shape
        if frame is None:
            v.show_message("Cannot show this sample:\n\n" + "\n".join(loaded.errors.values()))
            return
        if self.mode == "composed":
            res = self.session.result
            if res is None:
                why = self.session.result_error or "still computing"
                v.show_message(f"No composed input for {loaded.sample.key}:\n\n{why}")
                return
            x0, y0 = res.crop[0], res.crop[1]
            v.set_image(res.composed, levels=levels, origin=(x0, y0), frame=frame)
            return
        i = MODES.index(self.mode)
        img = loaded.levels[i] if i < len(loaded.levels) else None
        if img is None:
            v.show_message(f"Level {i} of {loaded.sample.key} cannot be shown:\n\n"
                           + loaded.errors.get(i, "missing"))
            return
        v.set_image(img, levels=levels, frame=frame)

    def _on_mask_changed(self) -> None:
        mask = self.session.labels.mask
        self.view.set_label_mask(mask if self.options.labels else None)
        self.view.set_label_opacity(self.options.label_opacity)
        self._draw_patch_grid()

    def set_patch_cells(self, cells) -> None:
        self.patch_cells = cells
        self._draw_patch_grid()

    def _draw_patch_grid(self) -> None:
        res = self.session.result
        if not self.options.patch_grid or self.patch_cells is None or res is None:
            self.view.set_patch_grid(None)
            return
        x0, y0, x1, y1 = res.crop
        self.view.set_patch_grid(self.patch_cells, QtCore.QRectF(x0, y0, x1 - x0, y1 - y0))

    # -- overlays ------------------------------------------------------------------------------------
    def set_options(self, **changes) -> None:
        for k, v in changes.items():
            setattr(self.options, k, v)
        self._on_mask_changed()
        self.redraw_overlays()

    def redraw_overlays(self) -> None:
        v, o, s = self.view, self.options, self.session
        if self.mode == "composed":
            self._show_images()
        v.clear_shapes()
        res = s.result
        loaded = s.loaded
        v.set_banner(s.result_error if loaded is not None and res is None and s.result_error
                     else "")
        if res is None or loaded is None:
            v.set_stage(None)
            v.set_roi_mask(None)
            self._update_od_handles()
            return
        stage = res.stages.get(o.stage) if o.stage else None
        if stage is not None:
            rect = None
            pre = res.extras.get("precrop")
            if pre is not None:
                rect = QtCore.QRectF(pre[0], pre[1], pre[2] - pre[0], pre[3] - pre[1])
            tint = None if o.stage_as_image else (STAGE_TINTS.get(o.stage) or (255, 120, 255))
            v.set_stage(stage, tint=tint, rect=rect)
        else:
            v.set_stage(None)
        v.set_roi_mask(res.roi_mask if o.roi_mask and self.mode != "composed" else None, res.crop)
        if o.candidates:
            for c in res.candidates:
                self._draw_shape(c, "#7f8c8d", 1.0, dashed=True)
        if o.passed:
            for c in res.passed:
                self._draw_shape(c, "#f1c40f", 1.2)
        if o.chosen:
            self._draw_shape(res.shape, "#2ecc71", 2.5)
        if o.rings and res.cls != "OD":
            ci, co = res.extras.get("c_inner"), res.extras.get("c_outer")
            if ci:
                v.add_circle(res.shape.cx, res.shape.cy, ci, "#e67e22", 1.5, dashed=True)
            if co:
                v.add_circle(res.shape.cx, res.shape.cy, co, "#e74c3c", 1.5, dashed=True)
        if o.crop_box and res.cls != "OD":
            v.add_rect(*res.crop, "#4dd0e1", 1.5)
        if res.cls == "OD":
            if o.od_points and res.extras.get("boundary_points") is not None:
                v.add_points(res.extras["boundary_points"], "#f39c12", 5)
            if o.od_centre and res.extras.get("global_centre") is not None:
                gx, gy = res.extras["global_centre"]
                v.add_cross(gx, gy, "#ff4dd2", 18)
        self._update_od_handles()

    def _draw_shape(self, shape, colour: str, width: float, dashed: bool = False) -> None:
        if hasattr(shape, "r"):
            self.view.add_circle(shape.cx, shape.cy, shape.r, colour, width, dashed)
        elif hasattr(shape, "a"):
            self.view.add_ellipse(shape.cx, shape.cy, shape.a, shape.b, shape.angle, colour, width,
                                  dashed)

    def _update_od_handles(self) -> None:
        boxes = self.session.od_boxes() if self.options.od_handles else {}
        self.view.set_crop_rect("precrop", boxes.get("precrop"), "#9b59b6")
        self.view.set_crop_rect("crop", boxes.get("crop"), "#4dd0e1")

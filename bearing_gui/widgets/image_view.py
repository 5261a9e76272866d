"""The central image viewer: zoom/pan, pixel readout, display levels, overlays and paint tools.

Image coordinates: with pyqtgraph's row-major order an ImageItem at the origin maps item (x, y) to
column x, row y of the array, i.e. level-0 pixel coordinates, which is what every signal here uses.
"""

from __future__ import annotations

import math

import numpy as np

from bearing_gui.qt import QtCore, QtGui, QtWidgets, pg

TOOLS = ("pan", "brush", "eraser", "polygon", "rect")

_LABEL_LUT = np.array([[0, 0, 0, 0], [255, 60, 60, 255]], np.uint8)


def _tint_lut(rgb: tuple[int, int, int]) -> np.ndarray:
    """Lookup table that shows 0 as transparent and brighter values as more of ``rgb``."""
    ramp = np.arange(256, dtype=np.uint16)
    lut = np.zeros((256, 4), np.uint8)
    lut[:, 0], lut[:, 1], lut[:, 2] = rgb
    lut[:, 3] = (ramp * 200 // 255).astype(np.uint8)
    return lut


class _PaintableImage(pg.ImageItem):
    """The base image; in a paint tool mode it turns mouse drags/clicks into paint signals."""

    def __init__(self, view: "ImageView") -> None:
        super().__init__()
        self._view = view

    def mouseDragEvent(self, ev) -> None:  # noqa: N802 (Qt naming)
        tool = self._view.tool
        if tool == "pan" or ev.button() != QtCore.Qt.MouseButton.LeftButton:
            ev.ignore()
            return
        ev.accept()
        pos = self._view.view_box.mapSceneToView(ev.scenePos())
        if tool in ("brush", "eraser"):
            if ev.isStart():
                self._view.stroke_started.emit(pos.x(), pos.y())
            self._view.stroke_moved.emit(pos.x(), pos.y())
            if ev.isFinish():
                self._view.stroke_finished.emit()
        elif tool == "rect":
            start = self._view.view_box.mapSceneToView(ev.buttonDownScenePos())
            self._view._show_rubber_band(start, pos)
            if ev.isFinish():
                self._view._hide_rubber_band()
                self._view.rect_drawn.emit(start.x(), start.y(), pos.x(), pos.y())

    def mouseClickEvent(self, ev) -> None:  # noqa: N802
        tool = self._view.tool
        if ev.button() != QtCore.Qt.MouseButton.LeftButton or tool == "pan":
            ev.ignore()
            return
        ev.accept()
        pos = self._view.view_box.mapSceneToView(ev.scenePos())
        if tool in ("brush", "eraser"):
            self._view.stroke_started.emit(pos.x(), pos.y())
            self._view.stroke_moved.emit(pos.x(), pos.y())
            self._view.stroke_finished.emit()
        elif tool == "polygon":
            if ev.double():
                self._view.finish_polygon()
            else:
                self._view._add_polygon_point(pos.x(), pos.y())


class ImageView(QtWidgets.QWidget):
    """One zoomable image with overlays. Shows ``message`` instead when there is nothing to show."""

    pixel_hovered = QtCore.Signal(int, int, str)  # x, y, value text ("" outside the image)
    stroke_started = QtCore.Signal(float, float)
    stroke_moved = QtCore.Signal(float, float)
    stroke_finished = QtCore.Signal()
    polygon_drawn = QtCore.Signal(list)  # [(x, y), ...]
    rect_drawn = QtCore.Signal(float, float, float, float)
    crop_rect_edited = QtCore.Signal(str, tuple)  # name, (x0, y0, x1, y1)
    view_changed = QtCore.Signal(object)  # view range, for synchronised side-by-side views

    def __init__(self, parent: QtWidgets.QWidget | None = None, title: str = "") -> None:
        super().__init__(parent)
        self.tool = "pan"
        self.brush_radius = 8.0
        self._image: np.ndarray | None = None
        self._frame: tuple | None = None
        self._origin = (0, 0)
        self._polygon: list[tuple[float, float]] = []
        self._crop_rois: dict[str, pg.ROI] = {}
        self._shape_items: list[QtWidgets.QGraphicsItem] = []
        self._syncing = False

        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setFocusPolicy(QtCore.Qt.FocusPolicy.ClickFocus)  # keys go to shortcuts
        self.view_box = self.graphics.addViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.view_box.setDefaultPadding(0.02)
        self.image_item = _PaintableImage(self)
        self.stage_item = pg.ImageItem()
        self.stage_item.setZValue(5)
        self.label_item = pg.ImageItem()
        self.label_item.setZValue(10)
        self.label_item.setOpacity(0.45)
        self.roi_item = pg.ImageItem()
        self.roi_item.setZValue(6)
        self.roi_item.setOpacity(0.35)
        self.patch_item = pg.ImageItem()
        self.patch_item.setZValue(12)
        self.patch_item.setOpacity(0.35)
        for item in (self.image_item, self.stage_item, self.roi_item, self.label_item,
                     self.patch_item):
            self.view_box.addItem(item)
        self._poly_line = pg.PlotCurveItem(pen=pg.mkPen("#ffd34d", width=2, cosmetic=True))
        self._poly_line.setZValue(30)
        self.view_box.addItem(self._poly_line)
        self._rubber = QtWidgets.QGraphicsRectItem()
        self._rubber.setPen(pg.mkPen("#ffd34d", width=1, style=QtCore.Qt.PenStyle.DashLine,
                                     cosmetic=True))
        self._rubber.setZValue(30)
        self._rubber.hide()
        self.view_box.addItem(self._rubber)
        self._stroke_path = QtWidgets.QGraphicsPathItem()
        self._stroke_path.setZValue(35)
        self._stroke_path.hide()
        self.view_box.addItem(self._stroke_path, ignoreBounds=True)
        self.stroke_started.connect(self._preview_start)
        self.stroke_moved.connect(self._preview_move)
        self.stroke_finished.connect(self._preview_end)
        self._brush_cursor = QtWidgets.QGraphicsEllipseItem()
        self._brush_cursor.setPen(pg.mkPen("#ffffff", width=1, cosmetic=True))
        self._brush_cursor.setZValue(40)
        self._brush_cursor.hide()
        self.view_box.addItem(self._brush_cursor, ignoreBounds=True)

        self.title = QtWidgets.QLabel(title)
        self.title.setVisible(bool(title))
        self.title.setStyleSheet("color:#bbb; padding:2px 4px;")
        self.message = QtWidgets.QLabel()
        self.message.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.message.setObjectName("viewerMessage")
        self.message.setStyleSheet("#viewerMessage{color:#e8e8e8; font-size:14px; padding:24px;"
                                   "background:#1e1f22;}")
        self.banner = QtWidgets.QLabel(self.graphics)
        self.banner.setObjectName("viewerBanner")
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("#viewerBanner{background:rgba(120,20,20,215); color:#fff; "
                                  "padding:6px 10px; border-radius:3px;}")
        self.banner.hide()
        self.stack = QtWidgets.QStackedWidget()
        self.stack.addWidget(self.graphics)
        self.stack.addWidget(self.message)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.title)
        layout.addWidget(self.stack)

        self.graphics.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.view_box.sigRangeChanged.connect(self._on_range_changed)
        self.show_message("No image")

    # -- content ----------------------------------------------------------------------------------
    @property
    def image(self) -> np.ndarray | None:
        return self._image

    def set_image(self, image: np.ndarray | None, keep_view: bool = True, levels=None,
                  origin: tuple[int, int] = (0, 0), frame: tuple[int, int] | None = None) -> None:
        """Show ``image`` (uint8 grey or RGB) with its top-left at ``origin`` (level-0 pixels).

        ``frame`` (H, W) is the size of the coordinate frame (the level-0 image); zoom and pan are
        kept while it stays the same.
        """
        if image is None:
            self._image = None
            self.image_item.clear()
            return
        frame = frame or image.shape[:2]
        same_size = self._frame == tuple(frame)
        self._frame = tuple(frame)
        self._image = image
        self._origin = origin
        self.image_item.setImage(image, autoLevels=False, levels=levels or (0, 255))
        self.image_item.setPos(*origin)
        self.stack.setCurrentWidget(self.graphics)
        if not (keep_view and same_size):
            self.fit()

    def show_message(self, text: str) -> None:
        """Replace the image by a clear message (unreadable file, missing level, empty project)."""
        self.message.setText(text)
        self.stack.setCurrentWidget(self.message)

    def set_banner(self, text: str) -> None:
        """A short warning over the top of the picture (e.g. why no ROI was found); "" hides it."""
        self.banner.setText(text)
        self.banner.setVisible(bool(text))
        self._place_banner()

    def _place_banner(self) -> None:
        if self.banner.isVisible():
            width = max(120, self.graphics.width() - 16)
            self.banner.setFixedWidth(width)
            self.banner.setFixedHeight(self.banner.heightForWidth(width))
            self.banner.move(8, 8)

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._place_banner()

    @property
    def message_shown(self) -> bool:
        return self.stack.currentWidget() is self.message

    def set_display_levels(self, black: float, white: float) -> None:
        """Brightness/contrast for display only: grey ``black`` maps to black, ``white`` to white."""
        if self._image is not None:
            self.image_item.setLevels((black, max(white, black + 1)))

    def fit(self) -> None:
        if self._frame is not None:
            h, w = self._frame[:2]
            self.view_box.setRange(xRange=(0, w), yRange=(0, h), padding=0.02)

    def zoom(self, factor: float) -> None:
        self.view_box.scaleBy((1 / factor, 1 / factor))

    def zoom_to_pixels(self) -> None:
        """1 image pixel = 1 screen pixel, around the current centre."""
        centre = self.view_box.viewRect().center()
        w = max(1, self.view_box.width())
        h = max(1, self.view_box.height())
        self.view_box.setRange(xRange=(centre.x() - w / 2, centre.x() + w / 2),
                               yRange=(centre.y() - h / 2, centre.y() + h / 2), padding=0)

    def set_view_range(self, rect: QtCore.QRectF) -> None:
        self._syncing = True
        try:
            self.view_box.setRange(rect=rect, padding=0)
        finally:
            self._syncing = False

    def _on_range_changed(self, *_):
        if not self._syncing:
            self.view_changed.emit(self.view_box.viewRect())

    # -- overlays -----------------------------------------------------------------------------------
    def set_label_mask(self, mask: np.ndarray | None) -> None:
        if mask is None:
            self.label_item.clear()
            return
        self.label_item.setImage(mask.view(np.uint8), autoLevels=False, levels=(0, 1),
                                 lut=_LABEL_LUT)

    def refresh_label_region(self, mask: np.ndarray) -> None:
        # setImage on a view of the same array re-uploads it; cheap enough for one stroke step.
        self.label_item.setImage(mask.view(np.uint8), autoLevels=False, levels=(0, 1),
                                 lut=_LABEL_LUT)

    def set_label_opacity(self, opacity: float) -> None:
        self.label_item.setOpacity(opacity)

    def set_patch_grid(self, cells: np.ndarray | None, cell_rect: QtCore.QRectF | None = None) -> None:
        """Show a (rows, cols) bool grid of abnormal patches stretched over ``cell_rect``."""
        if cells is None or cell_rect is None:
            self.patch_item.clear()
            return
        self.patch_item.setImage(cells.astype(np.uint8), autoLevels=False, levels=(0, 1),
                                 lut=np.array([[0, 0, 0, 0], [255, 200, 0, 255]], np.uint8))
        self.patch_item.setRect(cell_rect)

    def set_roi_mask(self, roi: np.ndarray | None, crop: tuple[int, int, int, int] | None = None) -> None:
        """Darken what the ROI mask throws away (``roi`` in crop coordinates at ``crop``)."""
        if roi is None or crop is None:
            self.roi_item.clear()
            return
        self.roi_item.setImage(roi.view(np.uint8), autoLevels=False, levels=(0, 1),
                               lut=np.array([[0, 0, 40, 255], [0, 0, 0, 0]], np.uint8))
        x0, y0, x1, y1 = crop
        self.roi_item.setRect(QtCore.QRectF(x0, y0, x1 - x0, y1 - y0))

    def set_stage(self, stage: np.ndarray | None, tint: tuple[int, int, int] | None = (0, 200, 255),
                  rect: QtCore.QRectF | None = None, opacity: float = 0.6) -> None:
        """Show a preprocessing stage image over the picture: tinted layer, or opaque if no tint."""
        if stage is None:
            self.stage_item.clear()
            return
        if tint is None:
            self.stage_item.setImage(stage, autoLevels=False, levels=(0, 255), lut=None)
            self.stage_item.setOpacity(1.0)
        else:
            self.stage_item.setImage(stage, autoLevels=False, levels=(0, 255), lut=_tint_lut(tint))
            self.stage_item.setOpacity(opacity)
        h, w = stage.shape[:2]
        self.stage_item.setRect(rect if rect is not None else QtCore.QRectF(0, 0, w, h))

    def clear_shapes(self) -> None:
        for item in self._shape_items:
            self.view_box.removeItem(item)
        self._shape_items = []

    def add_circle(self, cx: float, cy: float, r: float, colour: str, width: float = 1.5,
                   dashed: bool = False) -> None:
        self.add_ellipse(cx, cy, r, r, 0.0, colour, width, dashed)

    def add_ellipse(self, cx: float, cy: float, a: float, b: float, angle_deg: float, colour: str,
                    width: float = 1.5, dashed: bool = False) -> None:
        item = QtWidgets.QGraphicsEllipseItem(-a, -b, 2 * a, 2 * b)
        item.setPos(cx, cy)
        item.setRotation(angle_deg)
        item.setPen(self._pen(colour, width, dashed))
        self._add_shape(item)

    def add_rect(self, x0: float, y0: float, x1: float, y1: float, colour: str, width: float = 1.5,
                 dashed: bool = False) -> None:
        item = QtWidgets.QGraphicsRectItem(x0, y0, x1 - x0, y1 - y0)
        item.setPen(self._pen(colour, width, dashed))
        self._add_shape(item)

    def add_points(self, xy, colour: str, size: float = 6) -> None:
        pts = np.asarray(xy, dtype=float).reshape(-1, 2)
        item = pg.ScatterPlotItem(pts[:, 0], pts[:, 1], size=size, pen=None, brush=pg.mkBrush(colour))
        self._add_shape(item)

    def add_cross(self, x: float, y: float, colour: str, size: float = 14) -> None:
        item = pg.ScatterPlotItem([x], [y], symbol="+", size=size, pen=pg.mkPen(colour, width=2),
                                  brush=pg.mkBrush(colour))
        self._add_shape(item)

    def _add_shape(self, item) -> None:
        item.setZValue(20)
        self.view_box.addItem(item, ignoreBounds=True)
        self._shape_items.append(item)

    @staticmethod
    def _pen(colour: str, width: float, dashed: bool) -> QtGui.QPen:
        pen = pg.mkPen(colour, width=width, cosmetic=True)
        if dashed:
            pen.setStyle(QtCore.Qt.PenStyle.DashLine)
        return pen

    # -- draggable crop rectangles ---------------------------------------------------------------
    def set_crop_rect(self, name: str, box: tuple[float, float, float, float] | None,
                      colour: str = "#4dd0e1") -> None:
        """Show (or move, or remove with None) an editable rectangle with a handle on each side."""
        roi = self._crop_rois.get(name)
        if box is None:
            if roi is not None:
                self.view_box.removeItem(roi)
                del self._crop_rois[name]
            return
        x0, y0, x1, y1 = box
        if roi is None:
            roi = pg.ROI((x0, y0), (x1 - x0, y1 - y0), pen=pg.mkPen(colour, width=2),
                         movable=False, rotatable=False, resizable=False,
                         handlePen=pg.mkPen(colour, width=2), handleHoverPen=pg.mkPen("#ffffff", width=2))
            roi.handleSize = 9  # easier to grab than the default 5 px
            for handle, anchor in (((0, 0.5), (1, 0.5)), ((1, 0.5), (0, 0.5)),
                                   ((0.5, 0), (0.5, 1)), ((0.5, 1), (0.5, 0))):
                roi.addScaleHandle(handle, anchor)
            roi.setZValue(25)
            roi.sigRegionChangeFinished.connect(lambda r, n=name: self._on_crop_roi(n, r))
            self.view_box.addItem(roi, ignoreBounds=True)
            self._crop_rois[name] = roi
        else:
            roi.blockSignals(True)
            roi.setPos((x0, y0), update=False)
            roi.setSize((x1 - x0, y1 - y0))
            roi.blockSignals(False)

    def crop_roi(self, name: str) -> pg.ROI | None:
        return self._crop_rois.get(name)

    def _on_crop_roi(self, name: str, roi: pg.ROI) -> None:
        pos, size = roi.pos(), roi.size()
        self.crop_rect_edited.emit(name, (pos.x(), pos.y(), pos.x() + size.x(), pos.y() + size.y()))

    # -- tools ---------------------------------------------------------------------------------------
    def set_tool(self, tool: str) -> None:
        if tool not in TOOLS:
            raise ValueError(tool)
        self.tool = tool
        self._polygon = []
        self._poly_line.setData([], [])
        self._brush_cursor.setVisible(tool in ("brush", "eraser"))
        self.view_box.setMouseEnabled(True, True)

    def _preview_start(self, x: float, y: float) -> None:
        erase = self.tool == "eraser"
        pen = QtGui.QPen(QtGui.QColor(80, 80, 80, 160) if erase else QtGui.QColor(255, 60, 60, 140))
        pen.setWidthF(2 * self.brush_radius)  # in image pixels, like the brush
        pen.setCapStyle(QtCore.Qt.PenCapStyle.RoundCap)
        pen.setJoinStyle(QtCore.Qt.PenJoinStyle.RoundJoin)
        self._stroke_path.setPen(pen)
        path = QtGui.QPainterPath(QtCore.QPointF(x, y))
        path.lineTo(x + 0.01, y)
        self._stroke_path.setPath(path)
        self._stroke_path.show()

    def _preview_move(self, x: float, y: float) -> None:
        path = self._stroke_path.path()
        path.lineTo(x, y)
        self._stroke_path.setPath(path)

    def _preview_end(self) -> None:
        self._stroke_path.hide()
        self._stroke_path.setPath(QtGui.QPainterPath())

    def set_brush_radius(self, radius: float) -> None:
        self.brush_radius = radius

    def _add_polygon_point(self, x: float, y: float) -> None:
        self._polygon.append((x, y))
        xs = [p[0] for p in self._polygon] + [self._polygon[0][0]]
        ys = [p[1] for p in self._polygon] + [self._polygon[0][1]]
        self._poly_line.setData(xs, ys)

    def finish_polygon(self) -> None:
        points = list(self._polygon)
        self._polygon = []
        self._poly_line.setData([], [])
        if len(points) >= 3:
            self.polygon_drawn.emit(points)

    def cancel_polygon(self) -> None:
        self._polygon = []
        self._poly_line.setData([], [])

    def _show_rubber_band(self, a: QtCore.QPointF, b: QtCore.QPointF) -> None:
        self._rubber.setRect(QtCore.QRectF(a, b).normalized())
        self._rubber.show()

    def _hide_rubber_band(self) -> None:
        self._rubber.hide()

    def _on_mouse_moved(self, scene_pos: QtCore.QPointF) -> None:
        if self._image is None:
            return
        p = self.view_box.mapSceneToView(scene_pos)
        r = self.brush_radius
        self._brush_cursor.setRect(p.x() - r, p.y() - r, 2 * r, 2 * r)
        x, y = int(math.floor(p.x())), int(math.floor(p.y()))
        h, w = self._image.shape[:2]
        ix, iy = x - self._origin[0], y - self._origin[1]
        if 0 <= ix < w and 0 <= iy < h:
            v = self._image[iy, ix]
            text = str(int(v)) if np.ndim(v) == 0 else "(" + ", ".join(str(int(c)) for c in v) + ")"
            self.pixel_hovered.emit(x, y, text)
        else:
            self.pixel_hovered.emit(x, y, "")

    def map_image_to_widget(self, x: float, y: float) -> QtCore.QPoint:
        """Widget coordinates of image point (x, y) (for tests and tools)."""
        scene = self.view_box.mapViewToScene(QtCore.QPointF(x, y))
        return self.graphics.mapFromScene(scene)

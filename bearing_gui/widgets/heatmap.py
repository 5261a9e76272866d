"""An image with an anomaly map as a heat-map overlay: opacity, colour bar, threshold contour and
the ground-truth mask outline. Shows what it is given; it computes nothing."""

from __future__ import annotations

import numpy as np

from bearing_gui.qt import QtCore, QtWidgets, pg

GT_COLOUR = "#2ecc71"
CONTOUR_COLOUR = "#ffffff"


class HeatmapView(pg.GraphicsLayoutWidget):
    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = self.addViewBox(row=0, col=0, lockAspect=True, invertY=True, enableMenu=False)
        self.base = pg.ImageItem(axisOrder="row-major")
        self.heat = pg.ImageItem(axisOrder="row-major")
        self.heat.setOpacity(0.5)
        self.view.addItem(self.base)
        self.view.addItem(self.heat)
        self.contour = pg.IsocurveItem(level=0.0, pen=pg.mkPen(CONTOUR_COLOUR, width=1.5), axisOrder="row-major")
        self.contour.setParentItem(self.heat)
        self.gt = pg.IsocurveItem(level=0.5, pen=pg.mkPen(GT_COLOUR, width=1.5,
                                                          style=QtCore.Qt.PenStyle.DashLine),
                                  axisOrder="row-major")
        self.gt.setParentItem(self.base)
        self.cmap = pg.colormap.get("inferno")
        self.heat.setColorMap(self.cmap)
        self.bar = pg.ColorBarItem(colorMap=self.cmap, interactive=False, width=12, label="anomaly")
        self.bar.setImageItem(self.heat)
        self.addItem(self.bar, row=0, col=1)
        self.empty = pg.TextItem("Select a sample to see its anomaly map", color="#999", anchor=(0.5, 0.5))
        self.view.addItem(self.empty)
        self.has_image = False
        self.setMinimumSize(260, 220)

    def show_map(self, image: np.ndarray, amap: np.ndarray, vmax: float, threshold: float,
                 gt_mask: np.ndarray | None = None) -> None:
        """``image`` uint8 grey, ``amap`` float in the same pixels, colours 0..``vmax``."""
        self.empty.hide()
        self.base.show()
        self.heat.show()
        self.base.setImage(image, levels=(0, 255), autoLevels=False)
        vmax = float(vmax) if vmax > 0 else 1.0
        self.heat.setImage(amap, levels=(0.0, vmax), autoLevels=False)
        self.bar.setLevels((0.0, vmax))
        self.contour.setData(amap)
        self.contour.setLevel(threshold)
        if gt_mask is not None and gt_mask.any():
            self.gt.setData(gt_mask.astype(np.float32))
            self.gt.show()
        else:
            self.gt.hide()
        if not self.has_image:
            self.view.autoRange(padding=0.01)
        self.has_image = True

    def set_threshold(self, threshold: float) -> None:
        self.contour.setLevel(threshold)

    def set_opacity(self, opacity: float) -> None:
        self.heat.setOpacity(opacity)

    def fit(self) -> None:
        self.view.autoRange(padding=0.01)

    def clear_map(self) -> None:
        # not named clear(): GraphicsLayoutWidget forwards clear() to its layout (removes everything)
        for item in (self.base, self.heat, self.gt):
            item.hide()
        self.empty.show()
        self.has_image = False

"""pyqtgraph plots: training curves, metric curves (ROC / PR / PRO) and the score histogram.

The widgets only draw what they are given (arrays computed by a controller) and report what the
user moves (the threshold line, the uncertain band) as signals.
"""

from __future__ import annotations

from typing import Sequence

from bearing_gui.qt import QtCore, QtGui, QtWidgets, pg

PALETTE = ("#4a9eff", "#ff9f43", "#2ecc71", "#e056fd", "#f5cd79", "#ff6b6b", "#7ed6df", "#c8d6e5")
GOOD_COLOUR = "#2ecc71"
DEFECT_COLOUR = "#ff6b6b"
THRESHOLD_COLOUR = "#f5cd79"


def _pen(i: int, width: float = 1.5, style=None) -> QtGui.QPen:
    pen = pg.mkPen(PALETTE[i % len(PALETTE)], width=width)
    if style is not None:
        pen.setStyle(style)
    return pen


class TrainingCurves(pg.GraphicsLayoutWidget):
    """Losses (log scale) above, learning rate below, sharing the iteration axis."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.loss_plot = self.addPlot(row=0, col=0)
        self.loss_plot.setLabel("left", "loss")
        self.loss_plot.setLogMode(y=True)
        self.loss_plot.showGrid(x=True, y=True, alpha=0.2)
        self.legend = self.loss_plot.addLegend(offset=(-8, 8), labelTextSize="8pt",
                                               brush=(30, 31, 34, 180))
        self.lr_plot = self.addPlot(row=1, col=0)
        self.lr_plot.setLabel("left", "lr")
        self.lr_plot.setLabel("bottom", "iteration")
        self.lr_plot.showGrid(x=True, y=True, alpha=0.2)
        self.lr_plot.setXLink(self.loss_plot)
        self.ci.layout.setRowStretchFactor(0, 3)
        self.ci.layout.setRowStretchFactor(1, 1)
        self.lr_curve = self.lr_plot.plot([], [], pen=_pen(4))
        self.loss_curves: dict[str, pg.PlotDataItem] = {}
        self.setMinimumHeight(220)

    def set_data(self, iterations: Sequence[int], losses: dict[str, Sequence[float]],
                 lr: Sequence[float]) -> None:
        for name, values in losses.items():
            curve = self.loss_curves.get(name)
            if curve is None:
                curve = self.loss_plot.plot([], [], pen=_pen(len(self.loss_curves)), name=name,
                                            connect="finite")
                self.loss_curves[name] = curve
            curve.setData(list(iterations), list(values), connect="finite")
        for name in list(self.loss_curves):
            if name not in losses:
                self.loss_plot.removeItem(self.loss_curves.pop(name))
                self.legend.removeItem(name)
        self.lr_curve.setData(list(iterations), list(lr))

    def point_count(self) -> int:
        return max((len(c.xData) for c in self.loss_curves.values() if c.xData is not None),
                   default=0)


class CurvePlot(pg.PlotWidget):
    """One metric plot (ROC, PR or PRO): several labelled curves and an optional marker point."""

    def __init__(self, title: str, xlabel: str, ylabel: str, diagonal: bool = False,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle(title, size="9pt")
        self.setLabel("bottom", xlabel)
        self.setLabel("left", ylabel)
        self.showGrid(x=True, y=True, alpha=0.2)
        self.setXRange(0, 1, padding=0.02)
        self.setYRange(0, 1.02, padding=0.02)
        self.legend = self.addLegend(offset=(-8, -8), labelTextSize="8pt")
        if diagonal:
            self.plot([0, 1], [0, 1], pen=pg.mkPen("#666", style=QtCore.Qt.PenStyle.DashLine))
        self.curves: list[pg.PlotDataItem] = []
        self.marker = pg.ScatterPlotItem(size=9, brush=pg.mkBrush(THRESHOLD_COLOUR), pen=None)
        self.addItem(self.marker)
        self.note = pg.TextItem("", color="#aaa", anchor=(0.5, 0.5))
        self.note.setPos(0.5, 0.5)
        self.addItem(self.note)
        self.setMinimumSize(200, 170)

    def set_curves(self, curves: Sequence[tuple[Sequence[float], Sequence[float], str]],
                   note: str = "") -> None:
        for c in self.curves:
            self.removeItem(c)
        self.legend.clear()
        self.curves = []
        for i, (x, y, label) in enumerate(curves):
            self.curves.append(self.plot(list(x), list(y), pen=_pen(i, 2), name=label or None))
        self.note.setText(note)

    def set_marker(self, x: float | None, y: float | None) -> None:
        self.marker.setData([] if x is None else [x], [] if y is None else [y])


class ScoreHistogram(pg.PlotWidget):
    """Image scores of good and defect samples, a draggable threshold and an optional band.

    ``set_histograms`` takes bin edges and counts (computed by the controller). The threshold line
    emits ``threshold_moved`` while dragged; the band (two edges) ``band_moved``.
    """

    threshold_moved = QtCore.Signal(float)
    band_moved = QtCore.Signal(float, float)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setLabel("bottom", "image score")
        self.setLabel("left", "samples")
        self.getAxis("bottom").enableAutoSIPrefix(False)  # a scaled axis misreads next to the line label
        self.showGrid(x=True, y=True, alpha=0.2)
        self.legend = self.addLegend(offset=(-8, 8), labelTextSize="8pt")
        self.good = self.plot([0, 1], [0], stepMode="center", fillLevel=0, name="good",
                              pen=pg.mkPen(GOOD_COLOUR), brush=pg.mkBrush(46, 204, 113, 90))
        self.defect = self.plot([0, 1], [0], stepMode="center", fillLevel=0, name="dent",
                                pen=pg.mkPen(DEFECT_COLOUR), brush=pg.mkBrush(255, 107, 107, 90))
        self.band = pg.LinearRegionItem(values=(0, 0), movable=True,
                                        brush=pg.mkBrush(245, 205, 121, 40))
        self.band.setZValue(-10)
        self.band.hide()
        self.addItem(self.band)
        self.optimal = pg.InfiniteLine(angle=90, movable=False, label="F1-opt",
                                       labelOpts={"position": 0.92, "color": "#aaa"},
                                       pen=pg.mkPen("#aaa", style=QtCore.Qt.PenStyle.DashLine))
        self.addItem(self.optimal)
        self.line = pg.InfiniteLine(angle=90, movable=True, label="threshold {value:.4g}",
                                    labelOpts={"position": 0.75, "color": THRESHOLD_COLOUR,
                                               "fill": (30, 31, 34, 200)},
                                    pen=pg.mkPen(THRESHOLD_COLOUR, width=2),
                                    hoverPen=pg.mkPen("#fff", width=3))
        self.addItem(self.line)
        self._quiet = False
        self.line.sigPositionChanged.connect(self._on_line)
        self.band.sigRegionChanged.connect(self._on_band)
        self.setMinimumSize(260, 180)

    def set_histograms(self, edges: Sequence[float], good: Sequence[int], defect: Sequence[int]) -> None:
        self.good.setData(list(edges), list(good))
        self.defect.setData(list(edges), list(defect))

    def set_optimal(self, value: float | None) -> None:
        self.optimal.setVisible(value is not None)
        if value is not None:
            self.optimal.setValue(value)

    def set_threshold(self, value: float) -> None:
        """Move the line without emitting ``threshold_moved`` (its label still follows)."""
        self._quiet = True
        try:
            self.line.setValue(value)
        finally:
            self._quiet = False

    def _on_line(self, line) -> None:
        if not self._quiet:
            self.threshold_moved.emit(float(line.value()))

    def threshold(self) -> float:
        return float(self.line.value())

    def show_band(self, lo: float, hi: float) -> None:
        self.band.blockSignals(True)
        self.band.setRegion((lo, hi))
        self.band.blockSignals(False)
        self.band.show()

    def hide_band(self) -> None:
        self.band.hide()

    def _on_band(self) -> None:
        lo, hi = self.band.getRegion()
        self.band_moved.emit(float(lo), float(hi))

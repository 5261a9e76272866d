"""Render the desktop app's panels offscreen to PNGs for the README (docs/screenshots/*.png).

Renders a small demo data set into a temporary folder, opens it in the real main window (with
private settings), drives it into each state and grabs the window or one dock:

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="docs/screenshots", help="output folder")
    ap.add_argument("--size", type=int, default=1024, help="demo image side in pixels")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    from bearing_gui.qt import QtCore, QtWidgets
    from core.synth import render_demo

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    from bearing_gui.app import create_window, make_settings

    loop = QtCore.QEventLoop()

    def settle(seconds: float = 0.3) -> None:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            loop.processEvents()
            time.sleep(0.01)

    def wait_for(cond, timeout: float = 60.0) -> None:
        end = time.perf_counter() + timeout
        while not cond():
            if time.perf_counter() > end:
                raise TimeoutError("the app did not reach the expected state")
            loop.processEvents()
            time.sleep(0.01)
        settle()

    def grab(widget, name: str) -> None:
        path = out / f"{name}.png"
        widget.grab().save(str(path))
        print(f"wrote {path} ({widget.width()}x{widget.height()})")

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        counts = {(c, s, g): 3 for c in ("LC", "SC", "OD") for s in ("train", "test")
                  for g in ("good", "dent")}
        render_demo(data, seed=0, size=(args.size, args.size), counts=counts)
        w = create_window(make_settings(Path(tmp) / "settings.ini"))
        w.ask_before_close = False
        w.resize(1500, 940)
        w.show()
        settle()
        grab(w, "empty_state")

        w.open_path(data)
        s = w.session

        def show(key: str) -> None:
            s.select_key(key)
            wait_for(lambda: s.loaded is not None and s.loaded.sample.key == key
                     and (s.result is not None or bool(s.result_error)))
            w.viewer.view.fit()
            settle()

        def first(cls, split, group):
            return next(x.key for x in s.samples if (x.cls, x.split, x.group) == (cls, split, group))

        show(first("LC", "test", "dent"))
        grab(w, "main_window")
        grab(w.docks["samples"], "panel_samples")
        grab(w.docks["preprocess"], "panel_preprocess")

        combo = w.preprocess_panel.stage_combo
        combo.setCurrentIndex(combo.findData("closed"))
        w.preprocess_panel.toggles["candidates"].setChecked(True)
        settle()
        grab(w.viewer, "overlay_stage_closed")
        combo.setCurrentIndex(0)
        w.preprocess_panel.toggles["candidates"].setChecked(False)

        w.docks["labels"].raise_()
        w.label_panel.grid_on.setChecked(True)
        w.label_panel.set_tool("brush")
        settle()
        res = s.result
        if res is not None:  # zoom onto the dent area so the patch grid is readable
            ys, xs = s.labels.mask.nonzero()
            if len(xs):
                cx, cy = xs.mean(), ys.mean()
                w.viewer.view.view_box.setRange(xRange=(cx - 120, cx + 120),
                                                yRange=(cy - 120, cy + 120), padding=0)
        settle()
        grab(w, "labelling")
        grab(w.docks["labels"], "panel_labelling")
        w.label_panel.grid_on.setChecked(False)
        w.label_panel.set_tool("pan")
        w.docks["preprocess"].raise_()

        show(first("OD", "train", "good"))
        grab(w, "od_crop_handles")

        show(first("SC", "train", "good"))
        w.viewer.set_mode("composed")
        settle()
        grab(w.viewer, "composed_input")
        w.viewer.set_mode("level 0")
        w.act_side.setChecked(True)
        w.viewer.set_side_by_side(True)
        for name in ("samples", "preprocess", "labels"):
            w.docks[name].hide()
        settle()
        for v in w.viewer.side:
            v.fit()
        settle()
        grab(w, "levels_side_by_side")
        for name in ("samples", "preprocess", "labels"):
            w.docks[name].show()
        w.docks["preprocess"].raise_()
        w.act_side.setChecked(False)
        w.viewer.set_side_by_side(False)

        w.preprocess_panel.apply_btn.click()
        wait_for(lambda: not w.runner.running, timeout=300)
        grab(w.docks["gallery"], "panel_class_gallery")
        grab(w, "apply_to_class")
        w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

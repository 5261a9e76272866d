"""Render the desktop app's panels offscreen to PNGs for the README (docs/screenshots/*.png).

Renders a small demo data set into a temporary folder, opens it in the real main window (with
private settings), drives it into each state and grabs the window or one dock:

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshots.py [--out docs/screenshots] [--part2]

The training, runs, results and batch panels are shown on a tiny model trained here with a RANDOM
encoder (the curves and scores show the layout, not real performance). ``--part2`` renders only those.
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
    ap.add_argument("--part2", action="store_true",
                    help="only the training / runs / results / batch panels")
    ap.add_argument("--iterations", type=int, default=60, help="iterations of the tiny training")
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
        if args.part2:
            part2(w, Path(tmp), data, grab, settle, wait_for, args.iterations)
            w.close()
            return 0

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
        part2(w, Path(tmp), data, grab, settle, wait_for, args.iterations)
        w.close()
    return 0


def part2(w, tmp: Path, data: Path, grab, settle, wait_for, iterations: int) -> None:
    """Training (live and finished), runs list, results browser, batch inspection."""
    import shutil

    from core.config import from_dict
    from core.train.stages import TrainConfig

    os.environ["BEARING_CACHE_DIR"] = str(tmp / "cache")
    w.set_runs_root(tmp / "runs")
    for name in ("samples", "gallery"):
        w.docks[name].hide()
    tp = w.training_panel
    tp.set_config(from_dict(TrainConfig, {
        "model": "dinomaly", "encoder": {"backbone": "tiny", "weights": "random"}, "device": "cpu",
        "optim": {"total_iters": iterations, "warmup_iters": max(1, iterations // 10)},
        "batch_size": 4, "checkpoint_every": 20, "dinomaly": {"image_size": 112}}))
    tp.run_name.setText("demo-dinomaly")
    w.show_dock("training")
    w.docks["training"].setFloating(True)
    w.docks["training"].resize(560, 900)
    tp.splitter.setSizes([760, 140])
    settle()
    scroll = tp.splitter.widget(0)
    scroll.verticalScrollBar().setValue(300)
    settle()
    grab(w.docks["training"], "panel_training_settings")
    scroll.verticalScrollBar().setValue(0)
    tp.splitter.setSizes([330, 570])
    tp.start()
    wait_for(lambda: w.trainer.iteration >= iterations // 2, timeout=900)
    settle(0.5)
    grab(w.docks["training"], "panel_training_live")
    wait_for(lambda: not w.trainer.running, timeout=900)
    tp.tabs.setCurrentIndex(1)
    settle()
    grab(w.docks["training"], "panel_training_log")
    tp.tabs.setCurrentIndex(0)
    w.docks["training"].setFloating(False)

    w.show_dock("runs")
    runs = w.runs_panel
    runs.refresh()
    w.docks["runs"].setFloating(True)
    w.docks["runs"].resize(1100, 260)
    settle()
    grab(w.docks["runs"], "panel_runs")
    w.docks["runs"].setFloating(False)

    run_dir = tmp / "runs" / "demo-dinomaly" / "LC"
    w.open_results(str(run_dir))
    wait_for(lambda: w.results_ctl.results is not None and not w.results_ctl.busy, timeout=600)
    dock = w.docks["results"]
    dock.setFloating(True)
    dock.resize(1400, 820)
    settle()
    grab(dock, "panel_results_metrics")
    rp = w.results_panel
    rp.tabs.setCurrentIndex(1)
    r = w.results_ctl.results
    dent = next(k for k, lab in zip(r.keys, r.labels) if lab == 1)
    rp.select_key(dent)
    wait_for(lambda: rp.view is not None, timeout=300)
    rp.band_box.setChecked(True)
    settle(0.5)
    grab(dock, "panel_results_threshold")
    dock.setFloating(False)

    incoming = tmp / "incoming"
    shutil.copytree(data / "LC" / "test", incoming / "LC")
    for lv in range(3):
        (incoming / "LC" / "good" / f"torn_{lv}.png").write_bytes(b"not a PNG")
    bp = w.batch_panel
    bp.folder.setText(str(incoming))
    bp.run.setCurrentText(str(run_dir.parent))
    bp.out.setText(str(tmp / "inspected"))
    w.show_dock("batch")
    bp.start()
    wait_for(lambda: not w.inspector.running, timeout=900)
    dock = w.docks["batch"]
    dock.setFloating(True)
    dock.resize(1100, 560)
    settle()
    grab(dock, "panel_batch")
    dock.setFloating(False)


if __name__ == "__main__":
    sys.exit(main())

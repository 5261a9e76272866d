"""Training panel and runs list: a tiny random-encoder model trained in the test (CPU)."""

from __future__ import annotations

import json
import threading

import pytest

from bearing_gui.controllers.training import LiveBuffer
from core.config import from_dict
from core.train.runs import Run
from core.train.stages import TrainConfig
from tests.gui.conftest import key, pump


def tiny_config(iters: int, checkpoint_every: int = 2, model: str = "dinomaly") -> TrainConfig:
    return from_dict(TrainConfig, {
        "model": model, "encoder": {"backbone": "tiny", "weights": "random"}, "device": "cpu",
        "optim": {"total_iters": iters, "warmup_iters": 1}, "batch_size": 2,
        "checkpoint_every": checkpoint_every, "dinomaly": {"image_size": 56}, "vitad": {"image_size": 56}})


@pytest.fixture
def trained_window(make_window, demo_data, tmp_path, monkeypatch, qtbot):
    """A window on the demo data with private cache and runs folders."""
    monkeypatch.setenv("BEARING_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    w = make_window()
    assert w.open_path(demo_data)
    w.set_runs_root(tmp_path / "runs")
    yield w
    w.trainer.cancel()
    w.trainer.wait()


def wait_training(qtbot, w, timeout=120000):
    qtbot.waitUntil(lambda: not w.trainer.running, timeout=timeout)
    pump(0.05)


def test_form_shows_paper_defaults_and_edits_reach_the_config(trained_window):
    tp = trained_window.training_panel
    lr = tp.optim_form.editor(("lr",))
    assert lr.value() == pytest.approx(2e-3) and tp.optim_form.editor(("eps",)).value() == 1e-10
    assert tp.form.group_box("Dinomaly").isVisibleTo(tp) and not tp.form.group_box("ViTAD").isVisibleTo(tp)
    lr.setText("1e-3")
    lr.editingFinished.emit()
    assert tp.config.optim.lr == pytest.approx(1e-3)
    tp.stage.setCurrentIndex(tp.stage.findData("finetune"))
    assert tp.config.model == "finetune"
    assert tp.form.group_box("fine-tuning").isVisibleTo(tp) and not tp.form.group_box("Dinomaly").isVisibleTo(tp)
    assert tp.optim_form.editor(("lr",)).value() == pytest.approx(1e-4)   # the fine-tuning optimiser
    tp.weights.setCurrentText("random")
    assert tp.config.encoder.weights == "random" and tp.random_warning.isVisibleTo(tp)
    tp.weights.setCurrentText("pretrained")
    assert not tp.random_warning.isVisibleTo(tp)
    assert tp.device.findData("cpu") >= 0
    # stage and device are the dedicated pickers above: their generated rows are hidden
    from bearing_gui.qt import QtWidgets

    shown = {lab.text() for lab in tp.form.findChildren(QtWidgets.QLabel) if lab.isVisibleTo(tp)}
    assert "Batch size" in shown and "Device" not in shown and "Model" not in shown
    tp.advanced.setChecked(True)
    shown = {lab.text() for lab in tp.form.findChildren(QtWidgets.QLabel) if lab.isVisibleTo(tp)}
    assert "Checkpoint every [iterations]" in shown and "Device" not in shown


def test_train_evaluate_and_list(trained_window, qtbot, tmp_path):
    w = trained_window
    tp = w.training_panel
    tp.set_config(tiny_config(6))
    tp.run_name.setText("first")
    assert tp.random_warning.isVisibleTo(tp)
    assert tp.start()
    assert not tp.start_btn.isEnabled() and tp.cancel_btn.isEnabled()
    wait_training(qtbot, w)
    assert "finished" in tp.status.text(), tp.log.toPlainText()
    run_dir = tmp_path / "runs" / "first" / "LC"
    assert Run(run_dir).load_record().status == "finished"
    metrics = Run(run_dir).load_metrics()
    assert metrics is not None and len(metrics["samples"]) == 4
    # the curves hold every iteration with each loss and the lr
    c = w.trainer.curves
    assert c.iterations == list(range(1, 7)) and len(c.lr) == 6 and c.values
    assert tp.curves.point_count() == 6
    assert "evaluated" in tp.log.toPlainText()
    # the runs list shows it with its metrics
    rows = w.runs_panel.rows
    assert [r.status for r in rows] == ["finished"] and rows[0].cls == "LC" and rows[0].model == "dinomaly"
    item = w.runs_panel.tree.topLevelItem(0)
    assert item.text(6) == f"{metrics['metrics']['I-AUROC']:.3f}"
    assert "random" in item.text(4)


def test_cancel_then_resume_and_interrupted_runs(trained_window, qtbot, tmp_path, monkeypatch):
    w = trained_window
    tp = w.training_panel
    # hold the worker at iteration 3 until the test has pressed Cancel (so the run cannot finish
    # first on a fast machine); the cancel itself goes through the button and the loop's flag
    gate = threading.Event()
    original = LiveBuffer.event

    def held(self, cls, ev):
        original(self, cls, ev)
        if ev.iteration == 3:
            gate.wait(60)

    monkeypatch.setattr(LiveBuffer, "event", held)
    tp.set_config(tiny_config(12, checkpoint_every=4))
    tp.run_name.setText("long")
    tp.evaluate.setChecked(False)
    assert tp.start()
    qtbot.waitUntil(lambda: w.trainer.iteration >= 3, timeout=120000)
    assert "ETA" in tp.status.text() and tp.progress.maximum() == 12 and tp.progress.value() == 3
    tp.cancel_btn.click()
    gate.set()
    wait_training(qtbot, w)
    run_dir = tmp_path / "runs" / "long" / "LC"
    assert "cancelled" in tp.status.text()
    done = w.trainer.iteration
    assert done == 3
    w.runs_panel.refresh()
    row = w.runs_panel.row_for(run_dir)
    assert row.status == "cancelled" and row.resumable

    # a crash leaves "running" with a process that is gone: shown as interrupted and resumable
    rec = json.loads((run_dir / "run.json").read_text())
    rec["status"], rec["pid"] = "running", 2 ** 22 + 12345   # beyond pid_max: no such process
    (run_dir / "run.json").write_text(json.dumps(rec))
    w.runs_panel.refresh()
    row = w.runs_panel.row_for(run_dir)
    assert row.status == "interrupted" and row.resumable
    assert "interrupted" in w.runs_panel.tree.topLevelItem(0).text(1)

    w.runs_panel.select(run_dir)
    assert w.runs_panel.resume_btn.isEnabled()
    w.runs_panel.resume_btn.click()
    assert w.trainer.running
    assert w.trainer.curves.iterations and w.trainer.curves.iterations[-1] <= done  # history so far
    wait_training(qtbot, w, timeout=300000)
    assert Run(run_dir).load_record().status == "finished", tp.log.toPlainText()
    its = w.trainer.curves.iterations
    assert its[-1] == 12 and its == sorted(set(its))  # no iteration twice, none missing at the end
    w.runs_panel.refresh()
    assert w.runs_panel.row_for(run_dir).status == "finished"


def test_errors_are_messages(trained_window, qtbot):
    w = trained_window
    tp = w.training_panel
    for b in tp.class_boxes.values():
        b.setChecked(False)
    w.browser.tree.setFocus()
    key(qtbot, w, "F5")                     # Training ▸ Start training
    assert "class" in w.last_error and not w.trainer.running
    w.last_error = ""
    assert not tp.start()
    assert "class" in w.last_error
    tp.class_boxes["LC"].setChecked(True)
    cfg = tiny_config(4)
    tp.set_config(cfg)
    tp.weights.setCurrentText("/no/such/weights.safetensors")
    tp.run_name.setText("bad")
    assert tp.start()
    wait_training(qtbot, w)
    assert "failed" in tp.status.text()
    assert "weights.safetensors" in w.last_error and "Traceback" not in w.last_error
    assert tp.start_btn.isEnabled()


def test_finetune_then_detector_on_the_finetuned_encoder(trained_window, qtbot, tmp_path):
    w = trained_window
    tp = w.training_panel
    cfg = tiny_config(4, model="finetune")
    cfg.epochs = 2
    cfg.finetune.image_size = 56
    cfg.finetune.reconstruction_epochs = 1
    cfg.finetune.alternate_every = 1
    tp.set_config(cfg)
    assert not tp.encoder_run.isEnabled()          # only detectors take a fine-tuned encoder
    tp.run_name.setText("ft")
    assert tp.start()
    wait_training(qtbot, w)
    assert "finished" in tp.status.text(), tp.log.toPlainText()
    ft = tmp_path / "runs" / "ft" / "LC"
    assert (ft / "encoder.safetensors").is_file()
    # the runs list offers the fine-tuned encoder to the detector stage
    offered = [tp.encoder_run.itemText(i) for i in range(tp.encoder_run.count())]
    assert str(ft) in offered
    tp.stage.setCurrentIndex(tp.stage.findData("vitad"))
    assert tp.encoder_run.isEnabled()
    tp.encoder_run.setCurrentText(str(ft))
    tp.weights.setCurrentText("pretrained")
    # the fine-tuning run was built on random weights: the warning stays
    assert tp.random_warning.isVisibleTo(tp)
    tp.encoder_run.setCurrentText("")
    assert not tp.random_warning.isVisibleTo(tp)
    tp.encoder_run.setCurrentText(str(ft))
    tp.run_name.setText("vitad-ft")
    assert tp.config.model == "vitad" and tp.config.encoder_run == str(ft)
    assert tp.start()
    wait_training(qtbot, w)
    assert "finished" in tp.status.text(), tp.log.toPlainText()
    rec = Run(tmp_path / "runs" / "vitad-ft" / "LC").load_record()
    assert rec.kind == "vitad" and rec.config["train"]["encoder_run"] == str(ft)
    w.runs_panel.refresh()
    row = w.runs_panel.row_for(tmp_path / "runs" / "vitad-ft" / "LC")
    assert row.encoder.endswith("(fine-tuned)") and row.metrics


def test_finished_run_joins_a_saved_project(trained_window, qtbot, tmp_path):
    from core.project import load_project

    w = trained_window
    project_file = tmp_path / "proj" / "lot.bearing.json"
    project_file.parent.mkdir()
    assert w.session.save(project_file)
    w.set_runs_root(project_file.parent / "runs")
    tp = w.training_panel
    tp.set_config(tiny_config(2))
    tp.run_name.setText("in-project")
    tp.evaluate.setChecked(False)
    assert tp.start()
    wait_training(qtbot, w)
    assert w.session.dirty and "*" in w.windowTitle()
    assert w.session.save()
    runs = load_project(project_file).runs
    assert [(r.name, r.cls, r.path) for r in runs] == [
        ("in-project/LC", "LC", project_file.parent / "runs" / "in-project" / "LC")]


def test_schedule_values_are_not_plotted_as_losses():
    from bearing_gui.controllers.training import Curves

    c = Curves()
    c.add(1, {"cosine": 0.9, "hard_mining_p": 0.0}, 1e-3)
    c.add(2, {"cosine": 0.5, "hard_mining_p": 0.1}, 2e-3)
    assert set(c.values) == {"cosine"} and c.values["cosine"] == [0.9, 0.5]

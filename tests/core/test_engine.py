"""The generic training loop: determinism, checkpoints, cancel, resume, and DDP equivalence."""

from __future__ import annotations

import math
import os
import socket

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from core.models.finetune import task_for_epoch
from core.train.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from core.train.data import finetune_plan, shard, stream_indices
from core.train.engine import run_training_loop

N, D = 40, 6


class ToyStep(torch.nn.Module):
    """A tiny regression model with the engine's step protocol."""

    def __init__(self, dropout: float = 0.0) -> None:
        super().__init__()
        torch.manual_seed(123)
        self.net = torch.nn.Sequential(torch.nn.Linear(D, 16), torch.nn.Dropout(dropout), torch.nn.Linear(16, 1))

    def forward(self, batch, iteration):
        loss = torch.nn.functional.mse_loss(self.net(batch["x"]).squeeze(-1), batch["y"])
        return loss, {"mse": loss.detach()}


def _data():
    g = np.random.default_rng(0)
    x = g.normal(size=(N, D)).astype(np.float32)
    y = (x @ g.normal(size=D) + 0.1).astype(np.float32)
    return torch.from_numpy(x), torch.from_numpy(y)


def _batch_at(batch_size=8, seed=0):
    x, y = _data()

    def batch_at(it, rank, world):
        idx = shard(stream_indices(N, batch_size, it, seed), rank, world)
        return {"x": x[idx], "y": y[idx]}
    return batch_at


def _lr_at(it):
    return 0.05 * 0.5 * (1 + math.cos(math.pi * it / 30))


def _train(step, iters, **kw):
    opt = torch.optim.AdamW([p for p in step.parameters() if p.requires_grad], lr=0.0)
    return run_training_loop(step, opt, _lr_at, _batch_at(), iters, device=torch.device("cpu"), **kw)


def test_loss_decreases_and_progress_is_reported():
    events = []
    res = _train(ToyStep(), 30, progress=events.append)
    assert res.status == "finished" and res.iteration == 30
    assert [e.iteration for e in events] == list(range(1, 31))
    assert events[-1].losses["mse"] < 0.5 * events[0].losses["mse"]
    assert events[5].eta_s > 0 and events[-1].eta_s == 0


def test_cancel_then_resume_gives_the_same_weights_as_an_uninterrupted_run(tmp_path):
    ref = ToyStep(dropout=0.3)
    _train(ref, 20, seed=7)

    a = ToyStep(dropout=0.3)
    calls = {"n": 0}

    def cancel():
        calls["n"] += 1
        return calls["n"] > 9  # cancel before the 10th iteration

    res = _train(a, 20, seed=7, checkpoint_dir=tmp_path, checkpoint_every=4, cancel=cancel)
    assert res.status == "cancelled" and res.iteration == 9
    b = ToyStep(dropout=0.3)  # a fresh process would build the model again
    res2 = _train(b, 20, seed=7, checkpoint_dir=tmp_path, checkpoint_every=4, resume=True)
    assert res2.status == "finished" and res2.history[0]["iteration"] == 10
    for p_ref, p_b in zip(ref.parameters(), b.parameters()):
        assert torch.equal(p_ref, p_b)


def test_resume_without_checkpoint_says_what_to_do(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint to resume from"):
        _train(ToyStep(), 5, checkpoint_dir=tmp_path, resume=True)


def test_damaged_checkpoint_is_reported(tmp_path):
    step = ToyStep()
    opt = torch.optim.AdamW(step.parameters())
    path = save_checkpoint(tmp_path, step, opt, 3)
    path.write_bytes(path.read_bytes()[:50])
    with pytest.raises(CheckpointError, match="damaged"):
        load_checkpoint(tmp_path, ToyStep(), None)


def test_nan_loss_stops_with_a_clear_message():
    class Bad(ToyStep):
        def forward(self, batch, iteration):
            loss = super().forward(batch, iteration)[0] * float("nan")
            return loss, {"mse": loss}
    with pytest.raises(FloatingPointError, match="lower the learning rate"):
        _train(Bad(), 3)


def test_stream_indices_cover_each_epoch_once():
    got = np.concatenate([stream_indices(10, 4, it, seed=3) for it in range(5)])  # 2 epochs
    assert sorted(got[:10]) == list(range(10)) and sorted(got[10:20]) == list(range(10))
    assert np.array_equal(stream_indices(10, 4, 2, 3), stream_indices(10, 4, 2, 3))
    assert len(stream_indices(3, 8, 0, 0)) == 8  # fewer samples than the batch still gives full batches


def test_finetune_plan_follows_the_paper_schedule():
    plan = finetune_plan(n_normal=10, n_abnormal=4, epochs=32, batch_size=4, seed=0,
                         task_of_epoch=task_for_epoch)
    phase_by_epoch = {s.epoch: s.phase for s in plan}
    assert all(phase_by_epoch[e] == "reconstruction" for e in range(20))
    assert all(phase_by_epoch[e] == "patch" for e in range(20, 25))
    assert all(phase_by_epoch[e] == "reconstruction" for e in range(25, 30))
    assert phase_by_epoch[30] == "patch"
    first = [s for s in plan if s.epoch == 0]
    assert len(first) == 3 and sorted(np.concatenate([s.indices for s in first])) == list(range(10))
    assert {s.phase for s in finetune_plan(5, 0, 30, 4, 0, task_for_epoch)} == {"reconstruction"}


def _ddp_worker(rank, world, port, out_path):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        step = ToyStep()
        _train(step, 15)
        if rank == 0:
            torch.save({k: v.clone() for k, v in step.state_dict().items()}, out_path)
    finally:
        dist.destroy_process_group()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_process_ddp_matches_one_process(tmp_path):
    single = ToyStep()
    _train(single, 15)
    out = tmp_path / "ddp.pt"
    mp.spawn(_ddp_worker, args=(2, _free_port(), str(out)), nprocs=2, join=True)
    ddp_state = torch.load(out, weights_only=True)
    for k, v in single.state_dict().items():
        torch.testing.assert_close(ddp_state[k], v, rtol=1e-5, atol=1e-6)

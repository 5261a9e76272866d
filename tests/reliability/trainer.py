"""Subprocess for the killed-training test: a small model trained by ``core.train.engine``.

``python trainer.py RUN_DIR ITERS EVERY OUT.safetensors`` trains from scratch, or resumes from
``RUN_DIR/last.safetensors`` when it exists, with a checkpoint every EVERY iterations; prints
``start N`` and then one ``it N`` line per finished iteration (flushed, so the test can kill the
process at a chosen point); at the end writes the final weights to OUT. One thread, fixed seed:
two runs that do the same iterations end with bit-identical weights.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import torch  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

from core.train.checkpoint import CHECKPOINT_NAME, load_checkpoint  # noqa: E402
from core.train.engine import run_training_loop  # noqa: E402

N, D, BATCH = 256, 16, 16


class Step(torch.nn.Module):
    """A small MLP regression with dropout, in the engine's step protocol."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(5)
        self.net = torch.nn.Sequential(torch.nn.Linear(D, 64), torch.nn.GELU(), torch.nn.Dropout(0.2),
                                       torch.nn.Linear(64, 1))

    def forward(self, batch, iteration):
        loss = torch.nn.functional.mse_loss(self.net(batch["x"]).squeeze(-1), batch["y"])
        return loss, {"mse": loss.detach()}


def make_batch_at():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(N, D, generator=g)
    y = torch.sin(x @ torch.randn(D, generator=g))

    def batch_at(it: int, rank: int, world: int) -> dict:
        # deterministic in the iteration alone, as the engine requires for exact resume
        idx = torch.randperm(N, generator=torch.Generator().manual_seed(1000 + it))[:BATCH]
        return {"x": x[idx], "y": y[idx]}
    return batch_at


def lr_at(it: int) -> float:
    return 3e-3 * 0.5 * (1 + math.cos(math.pi * it / 400))


def main() -> None:
    torch.set_num_threads(1)
    run_dir, iters, every, out = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    step = Step()
    opt = torch.optim.AdamW(step.parameters(), lr=0.0, weight_decay=0.01)
    resume = (run_dir / CHECKPOINT_NAME).exists()
    start = load_checkpoint(run_dir, Step(), None)[0] if resume else 0
    print(f"start {start}", flush=True)
    run_training_loop(step, opt, lr_at, make_batch_at(), iters, device=torch.device("cpu"), seed=11,
                      amp=False, checkpoint_dir=run_dir, checkpoint_every=every, resume=resume,
                      progress=lambda e: print(f"it {e.iteration}", flush=True))
    save_file({k: v.contiguous() for k, v in step.state_dict().items()}, out)
    print("done", flush=True)


if __name__ == "__main__":
    main()

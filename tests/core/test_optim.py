from __future__ import annotations

import math

import pytest
import torch

from core.train.optim import OptimConfig, StableAdamW, WarmCosine, warm_cosine_lr


def _two_steps(dtype=torch.float64):
    p = torch.nn.Parameter(torch.tensor([1.0, -2.0], dtype=dtype))
    opt = StableAdamW([p], lr=2e-3, betas=(0.9, 0.999), eps=1e-10, weight_decay=1e-4)
    out = []
    for g in ([0.1, -0.3], [10.0, 0.3]):
        p.grad = torch.tensor(g, dtype=dtype)
        opt.step()
        out.append(p.detach().clone())
    return out


def test_stable_adamw_matches_hand_computed_vector():
    # Hand computation of the formula (reference brief, section 1.7): step 1 s = 1, step 2
    # s = 1.22449996 (the big second gradient trips the per-tensor clip).
    p1, p2 = _two_steps()
    assert p1.tolist() == pytest.approx([0.997999800002, -1.9979996000006666], abs=1e-12)
    assert p2.tolist() == pytest.approx([0.996773309546573, -1.9980851645992228], abs=1e-12)


def test_stable_adamw_step_two_hand_derivation():
    # Re-derive step 2 by hand from scalars, independently of the optimiser's tensor code.
    b1, b2, lr, wd, eps = 0.9, 0.999, 2e-3, 1e-4, 1e-10
    g1, g2 = [0.1, -0.3], [10.0, 0.3]
    p = [1.0, -2.0]
    m = [0.0, 0.0]; v = [0.0, 0.0]; vmax = [0.0, 0.0]
    for t, g in ((1, g1), (2, g2)):
        m = [b1 * a + (1 - b1) * x for a, x in zip(m, g)]
        v = [b2 * a + (1 - b2) * x * x for a, x in zip(v, g)]
        vmax = [max(a, b) for a, b in zip(vmax, v)]
        den = [math.sqrt(a) / math.sqrt(1 - b2 ** t) + eps for a in vmax]
        rms = math.sqrt(sum((x / d) ** 2 for x, d in zip(g, den)) / 2)
        s = max(1.0, rms)
        p = [pi * (1 - lr * wd) - lr / (1 - b1 ** t) / s * mi / d for pi, mi, d in zip(p, m, den)]
    assert s == pytest.approx(1.22449996, abs=1e-8)
    assert _two_steps()[1].tolist() == pytest.approx(p, abs=1e-14)


def test_stable_adamw_float32_and_skips_params_without_grad():
    p1, _ = _two_steps(torch.float32)
    assert p1.tolist() == pytest.approx([0.9979998, -1.9979996], abs=1e-6)
    a = torch.nn.Parameter(torch.ones(3))
    b = torch.nn.Parameter(torch.ones(3))
    opt = StableAdamW([a, b])
    a.grad = torch.ones(3)
    opt.step()
    assert torch.equal(b.detach(), torch.ones(3))      # untouched: no decay without a gradient
    assert not torch.equal(a.detach(), torch.ones(3))
    assert b not in opt.state or not opt.state[b]


@pytest.mark.parametrize("it,expected", [(0, 0.0), (1, 2.0202020202e-5), (50, 1.0101010101e-3),
                                         (99, 2e-3), (100, 2e-3), (925, 1.1e-3),
                                         (1749, 2.000018e-4), (1750, 2e-4), (5000, 2e-4)])
def test_warm_cosine_values(it, expected):
    assert warm_cosine_lr(it, 2e-3, 2e-4, 100, 1750) == pytest.approx(expected, rel=1e-6, abs=1e-12)


def test_warm_cosine_scheduler_stepped_per_iteration():
    p = torch.nn.Parameter(torch.zeros(1))
    cfg = OptimConfig()
    opt = StableAdamW.from_config([p], cfg)
    sched = WarmCosine.from_config(opt, cfg)
    seen = []
    for _ in range(1751):
        seen.append(opt.param_groups[0]["lr"])
        p.grad = torch.zeros(1)
        opt.step()
        sched.step()
    assert seen[0] == 0.0                          # the first step runs at lr 0, as upstream
    assert seen[99] == pytest.approx(2e-3) and seen[100] == pytest.approx(2e-3)
    assert seen[1749] == pytest.approx(2.000018e-4, rel=1e-5)
    assert seen[1750] == pytest.approx(2e-4)
    # Resume: a fresh scheduler loaded from the state dict continues where it stopped.
    sd = sched.state_dict()
    opt2 = StableAdamW([torch.nn.Parameter(torch.zeros(1))], lr=2e-3)
    sched2 = WarmCosine.from_config(opt2, cfg)
    sched2.load_state_dict(sd)
    assert sched2.lr_at(sched2.last_epoch) == sched.lr_at(sched.last_epoch)


def test_stable_adamw_resume_continues_identically():
    import json

    torch.manual_seed(0)
    grads = [torch.randn(3, 4) for _ in range(6)]

    def run(steps, opt=None, p=None):
        p = p if p is not None else torch.nn.Parameter(torch.ones(3, 4))
        opt = opt or StableAdamW([p])
        for g in steps:
            p.grad = g.clone()
            opt.step()
        return p, opt

    p_full, _ = run(grads)
    p_half, opt_half = run(grads[:3])
    sd = opt_half.state_dict()
    # As a checkpoint stores it: tensors as tensors, the rest through JSON (tuples become lists).
    sd = {"state": sd["state"], "param_groups": json.loads(json.dumps(sd["param_groups"]))}
    p2 = torch.nn.Parameter(p_half.detach().clone())
    opt2 = StableAdamW([p2])
    opt2.load_state_dict(sd)
    run(grads[3:], opt2, p2)
    assert torch.equal(p2.detach(), p_full.detach())

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import ndimage

from core.models.losses import (cosine_distance_map, feature_ssim_loss, gaussian_blur2d,
                                gaussian_kernel1d, global_cosine, global_cosine_hard_mining,
                                hard_mining_fraction, patch_cross_entropy, ssim)


def test_gaussian_kernel_size_and_blur_match_scipy():
    assert gaussian_kernel1d(4.0).numel() == 33          # sigma 4, truncate 4 -> 33 taps
    rng = np.random.default_rng(0)
    for shape in [(2, 40, 52), (1, 9, 7)]:               # second: radius 16 > side, folded borders
        x = rng.random(shape)
        ours = gaussian_blur2d(torch.from_numpy(x), sigma=4.0).numpy()
        ref = ndimage.gaussian_filter(x, sigma=(0, 4.0, 4.0), mode="reflect", truncate=4.0)
        np.testing.assert_allclose(ours, ref, atol=1e-12)


def _ssim_reference(a, b, sigma=1.5, radius=5, k1=0.01, k2=0.03):
    """SSIM with scipy filters, sample by sample (independent of the torch code path)."""
    out = []
    trunc = (radius + 0.49) / sigma
    for x, y in zip(a, b):
        g = lambda z: ndimage.gaussian_filter(z, sigma=(0, sigma, sigma), mode="reflect", truncate=trunc)
        r = x.max() - x.min()
        c1, c2 = (k1 * r) ** 2, (k2 * r) ** 2
        mx, my = g(x), g(y)
        vx, vy, cxy = g(x * x) - mx ** 2, g(y * y) - my ** 2, g(x * y) - mx * my
        s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx ** 2 + my ** 2 + c1) * (vx + vy + c2))
        out.append(s.mean())
    return np.array(out)


def test_ssim_matches_reference_and_identity():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(2, 4, 6, 7))
    b = a + 0.5 * rng.normal(size=a.shape)
    ours = ssim(torch.from_numpy(a), torch.from_numpy(b)).numpy()
    np.testing.assert_allclose(ours, _ssim_reference(a, b), rtol=1e-5)
    assert (ours < 0.99).all()
    same = ssim(torch.from_numpy(a), torch.from_numpy(a))
    np.testing.assert_allclose(same.numpy(), 1.0, atol=1e-6)
    # L_P sums (1 - mean SSIM) over layers.
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    lp = feature_ssim_loss([ta, ta], [tb, ta])
    assert lp.item() == pytest.approx(float((1 - ours).mean()), rel=1e-5)


def test_global_cosine_hand_computation():
    t = torch.tensor([[[[1.0]], [[0.0]]], [[[1.0]], [[1.0]]]])      # (2, 2, 1, 1)
    s = torch.tensor([[[[0.0]], [[1.0]]], [[[1.0]], [[1.0]]]])
    # sample 0: orthogonal -> 1; sample 1: identical -> 0; mean 0.5; two identical pairs sum to 1.0.
    assert global_cosine([t], [s]).item() == pytest.approx(0.5)
    assert global_cosine([t, t], [s, s]).item() == pytest.approx(1.0)
    d = cosine_distance_map(t, s)
    assert d.shape == (2, 1, 1) and d.flatten().tolist() == pytest.approx([1.0, 0.0], abs=1e-6)


def test_global_cosine_flattens_whole_map_not_pointwise():
    # Point-wise the distances are 0 and 1 (mean 0.5); the flattened vectors [3,1,0,0] and
    # [3,0,0,1] have cos 9/10, so the global loss is 0.1.
    t = torch.tensor([[[[3.0, 1.0]], [[0.0, 0.0]]]])               # (1, 2, 1, 2)
    s = torch.tensor([[[[3.0, 0.0]], [[0.0, 1.0]]]])
    expected = 1 - 9 / (math.sqrt(10) * math.sqrt(10))
    assert global_cosine([t], [s]).item() == pytest.approx(expected)


def test_hard_mining_schedule():
    assert hard_mining_fraction(0) == 0.0
    assert hard_mining_fraction(500) == pytest.approx(0.45)
    assert hard_mining_fraction(1000) == pytest.approx(0.9)
    assert hard_mining_fraction(1749) == pytest.approx(0.9)


def test_hard_mining_scales_easy_gradients_by_exactly_a_tenth():
    torch.manual_seed(0)
    t = torch.randn(2, 8, 5, 5)
    s0 = torch.randn(2, 8, 5, 5)
    groups_plain = [s0.clone().requires_grad_(True) for _ in range(2)]
    groups_hm = [s0.clone().requires_grad_(True) for _ in range(2)]
    t2 = [t, t * 2]
    plain = sum(global_cosine([a], [b]) for a, b in zip(t2, groups_plain)) / 2
    hm = global_cosine_hard_mining(t2, groups_hm, p=0.6)
    assert hm.item() == pytest.approx(plain.item(), abs=1e-7)           # value unchanged
    plain.backward()
    hm.backward()
    for a, g_plain, g_hm in zip(t2, groups_plain, groups_hm):
        dist = cosine_distance_map(a, s0).flatten()
        k = int(dist.numel() * (1 - 0.6))                                # 20 of 50 points are hard
        hard = torch.zeros(dist.numel(), dtype=torch.bool)
        hard[torch.topk(dist, k).indices] = True
        hard = hard.view(2, 1, 5, 5).expand_as(s0)
        assert int(hard[:, 0].sum()) == 20
        assert torch.equal(g_hm.grad[hard], g_plain.grad[hard])
        assert torch.allclose(g_hm.grad[~hard], 0.1 * g_plain.grad[~hard], rtol=1e-6, atol=0)
        assert not torch.allclose(g_hm.grad, g_plain.grad)


def test_hard_mining_p_zero_changes_nothing():
    torch.manual_seed(1)
    t = torch.randn(1, 4, 3, 3)
    a = torch.randn(1, 4, 3, 3, requires_grad=True)
    b = a.detach().clone().requires_grad_(True)
    global_cosine([t], [a]).backward()
    global_cosine_hard_mining([t], [b], p=0.0).backward()
    assert torch.equal(a.grad, b.grad)


def test_patch_cross_entropy_hand_computation():
    logits = torch.tensor([[[2.0, 0.0], [0.0, 1.0], [5.0, -5.0]]])
    labels = torch.tensor([[0, 1, -100]])
    expected = (math.log(1 + math.exp(-2.0)) + math.log(1 + math.exp(-1.0))) / 2
    assert patch_cross_entropy(logits, labels).item() == pytest.approx(expected)
    all_ignored = patch_cross_entropy(logits, torch.full((1, 3), -100))
    assert all_ignored.item() == 0.0


def test_class_balanced_patch_cross_entropy_weighs_both_classes_equally():
    import math

    logits = torch.tensor([[[2.0, 0.0], [1.0, 0.5], [0.0, 0.0], [0.3, 1.2]]])
    labels = torch.tensor([[0, 0, 0, 1]])   # one dent patch among four
    ce = [-torch.log_softmax(logits[0, i], -1)[labels[0, i]].item() for i in range(4)]
    # weights n / (k n_c): normal 4/6, dent 4/2; weighted mean = sum(w_i ce_i) / sum(w_i)
    w = [4 / 6, 4 / 6, 4 / 6, 2.0]
    expected = sum(a * b for a, b in zip(w, ce)) / sum(w)
    got = patch_cross_entropy(logits, labels, class_balanced=True).item()
    assert got == pytest.approx(expected, rel=1e-6)
    assert got == pytest.approx(0.5 * (sum(ce[:3]) / 3) + 0.5 * ce[3], rel=1e-6)  # classes count equally
    assert not math.isclose(got, patch_cross_entropy(logits, labels).item())
    only_normal = patch_cross_entropy(logits, torch.zeros(1, 4, dtype=torch.long), class_balanced=True)
    assert only_normal.item() == pytest.approx(
        patch_cross_entropy(logits, torch.zeros(1, 4, dtype=torch.long)).item(), rel=1e-6)

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from core.config import ConfigError
from core.models.dinomaly import Dinomaly, DinomalyConfig, LinearAttention, top_fraction_mean
from core.models.encoder import create_encoder, tokens_to_map
from core.models.vitad import ViTAD, ViTADConfig, pooled_max, vitad_image_size
from core.train.optim import StableAdamW


def _tiny_dinomaly(seed=0, **kw):
    torch.manual_seed(seed)
    return Dinomaly(create_encoder("tiny", "random"), DinomalyConfig(image_size=56, **kw))


def _tiny_vitad(seed=0):
    torch.manual_seed(seed)
    return ViTAD(create_encoder("tiny", "random"), ViTADConfig(image_size=56))


def test_trainable_parameter_counts_vit_small():
    # Dinomaly ViT-S: 8 x 1,774,464 (decoder blocks) + 1,181,568 (bottleneck) = 15,377,280.
    # ViTAD ViT-S/16 at 256 px: 9 x 1,774,464 + fusion 147,840 + pos-embed 256 x 384 = 16,216,320.
    enc14 = create_encoder("vit_small_patch14_reg4_dinov2.lvd142m", "random")
    d = Dinomaly(enc14)
    assert sum(p.numel() for p in d.trainable_parameters()) == 15_377_280
    enc16 = create_encoder("vit_small_patch16_224.dino", "random")
    v = ViTAD(enc16)
    assert sum(p.numel() for p in v.trainable_parameters()) == 16_216_320
    trainable = {id(p) for p in d.trainable_parameters()}
    assert all(p.requires_grad == (id(p) in trainable) for p in d.parameters())


def test_linear_attention_against_explicit_sums():
    torch.manual_seed(0)
    attn = LinearAttention(4, 2, eps=1e-6)
    x = torch.randn(1, 3, 4)
    out = attn(x)
    qkv = attn.qkv(x)[0].reshape(3, 3, 2, 2)               # (N, q/k/v, head, d)
    phi = lambda t: torch.where(t > 0, t + 1, torch.exp(t))  # elu + 1
    heads = []
    for h in range(2):
        q, k, v = phi(qkv[:, 0, h]), phi(qkv[:, 1, h]), qkv[:, 2, h]
        rows = []
        for s in range(3):
            num = sum((q[s] @ k[j]) * v[j] for j in range(3))
            den = sum(q[s] @ k[j] for j in range(3)) + 1e-6
            rows.append(num / den)
        heads.append(torch.stack(rows))
    expected = attn.proj(torch.cat(heads, dim=-1))[None]
    assert torch.allclose(out, expected, atol=1e-6)


def test_dinomaly_groups_and_reversed_decoder():
    m = _tiny_dinomaly().eval()
    x = torch.randn(2, 3, 56, 42)
    out = m(x)
    feats = m.encoder(x, list(range(2, 10)))
    grid = (4, 3)
    en0 = tokens_to_map(m.encoder.patch_tokens(torch.stack(feats[0:4]).mean(0)), grid)
    assert torch.allclose(out["encoder"][0], en0, atol=1e-6)
    h = m.bottleneck(torch.stack(feats).mean(0))
    dec = []
    for blk in m.decoder:
        h = blk(h)
        dec.append(h)
    de0 = tokens_to_map(m.encoder.patch_tokens(torch.stack(dec[4:8]).mean(0)), grid)   # last four
    de1 = tokens_to_map(m.encoder.patch_tokens(torch.stack(dec[0:4]).mean(0)), grid)
    assert torch.allclose(out["decoder"][0], de0, atol=1e-6)
    assert torch.allclose(out["decoder"][1], de1, atol=1e-6)


def test_noisy_bottleneck_drops_in_three_places():
    m = _tiny_dinomaly()
    calls = []
    m.bottleneck.drop.register_forward_hook(lambda *a: calls.append(1))
    m.train()
    m(torch.randn(1, 3, 28, 28))
    assert len(calls) == 3
    assert not m.encoder.training and m.bottleneck.training


def test_dinomaly_training_reduces_loss_and_never_touches_encoder():
    m = _tiny_dinomaly(bottleneck_dropout=0.0)
    before = {k: v.clone() for k, v in m.encoder.state_dict().items()}
    opt = StableAdamW(m.trainable_parameters(), lr=2e-3)
    x = torch.randn(4, 3, 28, 28)
    losses = []
    m.train()
    for it in range(15):
        out = m(x)
        loss, parts = m.loss(out, {"image": x}, it)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(parts["cosine"])
    assert losses[-1] < 0.7 * losses[0]
    assert all(p.grad is None for p in m.encoder.parameters())
    assert all(torch.equal(v, before[k]) for k, v in m.encoder.state_dict().items())


def test_dinomaly_map_and_score():
    m = _tiny_dinomaly()
    m.train()
    x = torch.randn(2, 3, 42, 70)
    maps, scores = m.anomaly_map(x)
    assert maps.shape == (2, 42, 70) and maps.dtype == torch.float32 and scores.shape == (2,)
    assert m.training                                  # mode restored
    maps2, _ = m.anomaly_map(x)
    assert torch.equal(maps, maps2)                    # dropout off while scoring
    assert torch.allclose(scores, top_fraction_mean(maps, 0.01))
    # Score helpers against hand computations.
    a = torch.arange(200, dtype=torch.float32).view(1, 10, 20)
    assert top_fraction_mean(a, 0.01).item() == pytest.approx((199 + 198) / 2)
    assert top_fraction_mean(a, 0.0).item() == 199
    b = torch.zeros(1, 20, 20)
    b[0, 0:2, 0:2] = 1.0
    assert pooled_max(b, 16).item() == pytest.approx(4 / 256)


def test_vitad_pairs_are_reversed_and_loss_is_summed():
    m = _tiny_vitad().eval()
    x = torch.randn(2, 3, 56, 56)
    out = m(x)
    feats = m.encoder(x, [2, 5, 8, 11])
    grid = (4, 4)
    assert torch.allclose(out["encoder"][1], tokens_to_map(m.encoder.patch_tokens(feats[1]), grid))
    h = m.fusion(m.encoder.patch_tokens(feats[3])) + m.pos_embed
    dec = []
    for blk in m.blocks:
        h = blk(h)
        dec.append(tokens_to_map(h, grid))
    assert torch.allclose(out["decoder"][0], dec[8], atol=1e-6)   # encoder block 3 <-> decoder 9
    assert torch.allclose(out["decoder"][2], dec[2], atol=1e-6)
    loss, _ = m.loss(out)
    manual = sum((1 - F.cosine_similarity(t.flatten(1), s.flatten(1))).mean()
                 for t, s in zip(out["encoder"], out["decoder"]))
    assert loss.item() == pytest.approx(manual.item(), rel=1e-6)


def test_vitad_other_input_size_and_rounding():
    m = _tiny_vitad()
    maps, scores = m.anomaly_map(torch.randn(1, 3, 70, 84))     # pos-embed resampled to 5 x 6
    assert maps.shape == (1, 70, 84) and torch.isfinite(scores).all()
    assert vitad_image_size(256, 14) == 252 and vitad_image_size(256, 16) == 256
    with pytest.raises(ConfigError, match="not a multiple"):
        ViTAD(create_encoder("tiny", "random"), ViTADConfig(image_size=256))


def test_bf16_autocast_forward_backward_cpu():
    for m in (_tiny_dinomaly(), _tiny_vitad()):
        x = torch.randn(2, 3, 28, 28)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = m(x)
            loss, _ = m.loss(out, {"image": x}, 10)
        loss.backward()
        assert torch.isfinite(loss)
        assert any(p.grad is not None for p in m.trainable_parameters())
        with torch.autocast("cpu", dtype=torch.bfloat16):
            maps, scores = m.anomaly_map(x)
        assert maps.dtype == torch.float32 and torch.isfinite(maps).all()


def _stripes(n, g, size=56):
    xx = torch.arange(size, dtype=torch.float32).view(1, 1, 1, size)
    phase = torch.rand(n, 1, 1, 1, generator=g) * 6.28
    img = 0.8 * torch.sin(0.5 * xx + phase).expand(n, 3, size, size)
    return img + 0.05 * torch.randn(n, 3, size, size, generator=g)


def _with_dents(n, g, size=56):
    x = _stripes(n, g, size)
    for i in range(n):
        cy, cx = torch.randint(8, size - 8, (2,), generator=g).tolist()
        x[i, :, cy - 4:cy + 4, cx - 4:cx + 4] = -1.5
    return x


@pytest.mark.parametrize("build", [_tiny_dinomaly, _tiny_vitad], ids=["dinomaly", "vitad"])
def test_short_training_separates_dents_from_normal(build):
    # Behaviour, not numbers: after 30 iterations on normal stripes only, images with a dark
    # 8 x 8 dent score higher than new normal images (pairwise AUROC well above chance).
    m = build(seed=0)
    g = torch.Generator().manual_seed(1)
    opt = StableAdamW(m.trainable_parameters())
    m.train()
    for it in range(30):
        for group in opt.param_groups:
            group["lr"] = 2e-3
        x = _stripes(8, g)
        loss, _ = m.loss(m(x), {"image": x}, it * 30)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.trainable_parameters(), 0.1)
        opt.step()
    _, normal = m.anomaly_map(_stripes(12, g))
    maps, dented = m.anomaly_map(_with_dents(12, g))
    auroc = (dented[:, None] > normal[None]).float().mean().item()
    assert auroc >= 0.9, auroc

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from core.models.encoder import create_encoder
from core.models.finetune import FineTuneConfig, FineTuneModel, task_for_epoch
from core.models.heads import ReconstructionHead
from core.models.losses import feature_ssim_loss
from core.models.patch_labels import patch_labels
from core.train.optim import StableAdamW


@pytest.fixture
def model():
    torch.manual_seed(0)
    return FineTuneModel(create_encoder("tiny", "random"), FineTuneConfig(image_size=56))


def test_schedule_reconstruction_then_alternating():
    tasks = [task_for_epoch(e) for e in range(40)]
    assert tasks[:20] == ["reconstruction"] * 20
    assert tasks[20:25] == ["patch"] * 5 and tasks[25:30] == ["reconstruction"] * 5
    assert tasks[30:35] == ["patch"] * 5
    cfg = FineTuneConfig(reconstruction_epochs=2, alternate_every=1)
    assert [task_for_epoch(e, cfg) for e in range(5)] == ["reconstruction", "reconstruction", "patch",
                                                          "reconstruction", "patch"]


def test_reconstruction_head_unpatchify_places_patches():
    head = ReconstructionHead(4, patch_size=2, out_chans=1)
    with torch.no_grad():
        head.norm.weight.fill_(1.0)
        head.norm.bias.zero_()
        head.proj.weight.zero_()
        head.proj.bias.copy_(torch.tensor([1.0, 2.0, 3.0, 4.0]))   # one 2x2 patch, row-major
    img = head(torch.randn(1, 6, 4), (2, 3))
    assert img.shape == (1, 1, 4, 6)
    assert img[0, 0, :2, :2].tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert img[0, 0, 2:, 4:].tolist() == [[1.0, 2.0], [3.0, 4.0]]


def test_reconstruction_loss_is_ssim_plus_mse(model):
    x = torch.randn(2, 3, 56, 56)
    with torch.no_grad():                     # make EN_pre_train differ from EN_pre
        model.encoder.vit.blocks[10].mlp.fc2.bias.add_(0.5)
    out = model(x, "reconstruction")
    loss, parts = model.loss(out, {"image": x})
    lp = feature_ssim_loss(out["target_maps"], out["maps"])
    mse = F.mse_loss(out["reconstruction"], x)
    assert parts["perceptual"] > 0.0
    assert loss.item() == pytest.approx(lp.item() + mse.item(), rel=1e-6)
    loss.backward()
    assert model.encoder.vit.blocks[0].attn.qkv.weight.grad is not None     # encoder trains
    assert all(p.grad is None for p in model.frozen.parameters())            # EN_pre frozen
    assert model.patch_head.fc.weight.grad is None


def test_patch_task_uses_mask_labels_and_trains(model):
    x = torch.randn(2, 3, 56, 56)
    mask = torch.zeros(2, 56, 56, dtype=torch.bool)
    mask[0, 14:28, 14:28] = True
    out = model(x, "patch")
    assert out["logits"].shape == (2, 16, 2)
    loss, parts = model.loss(out, {"mask": mask})
    labels = patch_labels(mask, 14)
    assert labels.sum().item() == 1
    expected = F.cross_entropy(out["logits"].reshape(-1, 2), labels.reshape(-1))
    assert parts["patch_ce"] == pytest.approx(expected.item(), rel=1e-6)
    opt = StableAdamW(model.trainable_parameters(), lr=1e-3)
    first = parts["patch_ce"]
    model.train()
    for _ in range(10):
        out = model(x, "patch")
        loss, parts = model.loss(out, {"mask": mask})
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert parts["patch_ce"] < 0.5 * first
    assert model.reconstruction_head.proj.weight.grad is None   # other head untouched
    assert not model.frozen.training


def test_set_epoch_selects_task(model):
    assert model.set_epoch(0) == "reconstruction"
    assert model.set_epoch(20) == "patch"
    assert model(torch.randn(1, 3, 28, 28))["task"] == "patch"

from __future__ import annotations

import pickle

import pytest
import torch
from safetensors.torch import save_file

from core.config import ConfigError
from core.errors import InputError, WeightsNotFoundError
from core.models.encoder import create_encoder, tokens_to_map


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return create_encoder("tiny", "random")


def test_raw_block_outputs_any_multiple_of_patch_size(tiny):
    x = torch.randn(2, 3, 56, 98)                     # 4 x 7 patches of 14 px, not square, not 224
    outs = tiny(x, [2, 11])
    assert [o.shape for o in outs] == [(2, 5 + 28, 96)] * 2
    assert tiny.is_random and tiny.num_prefix_tokens == 5
    # Raw output of the last block = timm's features before the final norm.
    h = tiny.vit.forward_features(x)                  # normed
    raw = tiny.vit.norm(outs[1])
    assert torch.allclose(raw, h, atol=1e-5)
    assert not torch.allclose(outs[1], h, atol=1e-3)  # and we do not apply that norm
    # Every patch is used (no crop): changing the last column of pixels changes the last column
    # of tokens.
    x2 = x.clone()
    x2[..., -1] += 5.0
    m1 = tokens_to_map(tiny.patch_tokens(tiny(x, [0])[0]), (4, 7))
    m2 = tokens_to_map(tiny.patch_tokens(tiny(x2, [0])[0]), (4, 7))
    assert not torch.allclose(m1[..., -1], m2[..., -1])


def test_size_not_multiple_of_patch_is_an_error(tiny):
    with pytest.raises(ConfigError, match="not a multiple of the encoder's patch size 14"):
        tiny(torch.randn(1, 3, 64, 56), [0])
    with pytest.raises(ConfigError, match="layer 12 does not exist"):
        tiny(torch.randn(1, 3, 56, 56), [12])


def test_weights_file_round_trip_safetensors_and_pth(tiny, tmp_path):
    sd = {k: v.contiguous() for k, v in tiny.vit.state_dict().items()}
    save_file(sd, str(tmp_path / "enc.safetensors"))
    torch.save(sd, tmp_path / "enc.pth")
    x = torch.randn(1, 3, 42, 42)
    ref = tiny(x, [5])[0]
    for name in ("enc.safetensors", "enc.pth"):
        enc = create_encoder("tiny", tmp_path / name)
        assert not enc.is_random and enc.weights_source.startswith("file:")
        assert torch.equal(enc(x, [5])[0], ref)


def test_strict_loading_reports_missing_and_unexpected_keys(tiny, tmp_path):
    sd = {k: v.contiguous() for k, v in tiny.vit.state_dict().items()}
    bad = dict(sd)
    del bad["blocks.3.attn.qkv.weight"]
    bad["blocks.3.extra"] = torch.zeros(2)
    save_file(bad, str(tmp_path / "bad.safetensors"))
    with pytest.raises(InputError) as err:
        create_encoder("tiny", tmp_path / "bad.safetensors")
    msg = str(err.value)
    assert "bad.safetensors" in msg and "missing keys: blocks.3.attn.qkv.weight" in msg
    assert "unexpected keys: blocks.3.extra" in msg
    # Weights of another architecture: shape mismatch, named.
    small = create_encoder("vit_small_patch16_224.dino", "random")
    torch.save(small.vit.state_dict(), tmp_path / "vits.pth")
    with pytest.raises(InputError, match="vits.pth: (weights do not match|cannot convert the checkpoint to) tiny"):
        create_encoder("tiny", tmp_path / "vits.pth")
    with pytest.raises(InputError, match="weights file not found"):
        create_encoder("tiny", tmp_path / "nope.safetensors")


class _Evil:
    def __reduce__(self):
        return (print, ("pwned",))


def test_pickle_with_code_is_refused(tmp_path, capsys):
    path = tmp_path / "evil.pth"
    with open(path, "wb") as f:
        pickle.dump({"blocks.0.x": _Evil()}, f, protocol=2)
    torch.save({"payload": _Evil()}, tmp_path / "evil2.pth")
    for p in (path, tmp_path / "evil2.pth"):
        with pytest.raises(InputError, match="refused to load"):
            create_encoder("tiny", p)
    assert "pwned" not in capsys.readouterr().out


def test_offline_missing_weights_names_the_file(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(WeightsNotFoundError) as err:
        create_encoder("vit_small_patch16_224.dino", "pretrained")
    msg = str(err.value)
    assert "https://huggingface.co/timm/vit_small_patch16_224.dino/resolve/main/model.safetensors" in msg
    assert "--weights" in msg and "models--timm--vit_small_patch16_224.dino" in msg
    with pytest.raises(ConfigError, match="no pre-trained weights"):
        create_encoder("tiny", "pretrained")
    with pytest.raises(ConfigError, match="not one of"):
        create_encoder("resnet50", "random")


def _fill_fake_hub_cache(root, backbone, state):
    snapshot = root / f"models--timm--{backbone}" / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    (root / f"models--timm--{backbone}" / "refs").mkdir()
    (root / f"models--timm--{backbone}" / "refs" / "main").write_text("0" * 40)
    save_file({k: v.contiguous() for k, v in state.items()}, str(snapshot / "model.safetensors"))


def test_pretrained_from_filled_offline_cache_is_strict(tmp_path, monkeypatch):
    from huggingface_hub import constants

    backbone = "vit_small_patch16_224.dino"
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    torch.manual_seed(3)
    src = create_encoder(backbone, "random")
    good, bad = tmp_path / "good", tmp_path / "bad"
    _fill_fake_hub_cache(good, backbone, src.vit.state_dict())
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(good))
    enc = create_encoder(backbone, "pretrained")
    assert enc.weights_source == f"pretrained:{backbone}" and not enc.is_random
    x = torch.randn(1, 3, 32, 48)
    assert torch.equal(enc(x, [3])[0], src(x, [3])[0])
    partial = {k: v for k, v in src.vit.state_dict().items() if not k.startswith("blocks.11.")}
    _fill_fake_hub_cache(bad, backbone, partial)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(bad))
    with pytest.raises(InputError, match="do not match"):
        create_encoder(backbone, "pretrained")

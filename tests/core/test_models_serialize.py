from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from core.errors import InputError
from core.models.dinomaly import Dinomaly, DinomalyConfig
from core.models.encoder import create_encoder
from core.models.finetune import FineTuneConfig, FineTuneModel
from core.models.serialize import load_model, model_paths, save_encoder, save_model
from core.models.vitad import ViTAD, ViTADConfig


def _perturb(model):
    # Non-default values everywhere, so a reload that fell back to fresh init would show.
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.01 * torch.randn_like(p))


@pytest.mark.parametrize("kind", ["dinomaly", "vitad"])
def test_detector_round_trip_bit_identical(kind, tmp_path):
    torch.manual_seed(0)
    enc = create_encoder("tiny", "random")
    model = (Dinomaly(enc, DinomalyConfig(image_size=42, top_fraction=0.05)) if kind == "dinomaly"
             else ViTAD(enc, ViTADConfig(image_size=42, pool_size=8)))
    _perturb(model)
    model.eval()
    path = save_model(model, tmp_path / "m")
    assert path == tmp_path / "m.safetensors" and (tmp_path / "m.json").is_file()
    meta = json.loads((tmp_path / "m.json").read_text())
    assert meta["kind"] == kind and meta["encoder"]["random"] is True
    loaded = load_model(tmp_path / "m.safetensors")
    assert type(loaded) is type(model) and loaded.config == model.config
    assert loaded.encoder.is_random and not loaded.training
    x = torch.randn(2, 3, 42, 56)
    m1, s1 = model.anomaly_map(x)
    m2, s2 = loaded.anomaly_map(x)
    assert torch.equal(m1, m2) and torch.equal(s1, s2)


def test_finetuned_encoder_round_trip_and_reuse_in_detectors(tmp_path):
    torch.manual_seed(1)
    ft = FineTuneModel(create_encoder("tiny", "random"), FineTuneConfig(image_size=28))
    _perturb(ft)
    save_model(ft, tmp_path / "ft")
    again = load_model(tmp_path / "ft")
    x = torch.randn(1, 3, 28, 28)
    a, b = ft.eval()(x), again(x)
    assert torch.equal(a["reconstruction"], b["reconstruction"])
    assert all(torch.equal(p, q) for p, q in zip(a["target_maps"], b["target_maps"]))

    save_encoder(ft.finetuned_encoder(), tmp_path / "encoder", stage="finetune")
    assert set(load_file(str(tmp_path / "encoder.safetensors"))) == set(ft.encoder.vit.state_dict())
    # The encoder file is plain weights for create_encoder (strict), and keeps the random flag.
    enc = create_encoder("tiny", tmp_path / "encoder.safetensors")
    assert enc.is_random and enc.weights_source.startswith("file:")
    ref = ft.encoder(x, [11])[0]
    assert torch.equal(enc(x, [11])[0], ref)
    assert torch.equal(load_model(tmp_path / "encoder")(x, [11])[0], ref)
    det = Dinomaly(enc, DinomalyConfig(image_size=28))
    assert det.anomaly_map(x)[0].shape == (1, 28, 28)
    with pytest.raises(InputError, match="is an encoder for tiny"):
        create_encoder("vit_small_patch16_224.dino", tmp_path / "encoder.safetensors")


def test_load_errors_name_the_file(tmp_path):
    torch.manual_seed(2)
    model = ViTAD(create_encoder("tiny", "random"), ViTADConfig(image_size=28))
    save_model(model, tmp_path / "v")
    st, js = model_paths(tmp_path / "v")
    tensors = load_file(str(st))
    del tensors["fusion.weight"]
    save_file(tensors, str(st))
    with pytest.raises(InputError, match=r"v\.safetensors: tensors do not match the vitad .*missing keys: fusion.weight"):
        load_model(st)
    js.unlink()
    with pytest.raises(InputError, match=r"v\.json: model description not found"):
        load_model(st)
    js.write_text('{"format": "bearing-inspector-model", "version": 1, "kind": "vitad", '
                  '"encoder": {"backbone": "tiny"}, "config": {"image_size": 28, "colour": 1}}')
    with pytest.raises(InputError, match="unknown setting"):
        load_model(st)

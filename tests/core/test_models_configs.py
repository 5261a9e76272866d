from __future__ import annotations

import dataclasses

import pytest

from core.config import ConfigError, field_info, from_dict, to_dict
from core.models import (DinomalyConfig, EncoderConfig, FineTuneConfig, PatchLabelConfig,
                         ViTADConfig)
from core.train.optim import OptimConfig

CONFIGS = [DinomalyConfig, EncoderConfig, FineTuneConfig, PatchLabelConfig, ViTADConfig, OptimConfig]


@pytest.mark.parametrize("cls", CONFIGS, ids=lambda c: c.__name__)
def test_every_parameter_is_documented_and_round_trips(cls):
    for f, md in field_info(cls):
        assert md["help"], f"{cls.__name__}.{f.name} has no help text"
    obj = cls()
    assert from_dict(cls, to_dict(obj)) == obj


def test_paper_defaults():
    d, v, o, ft = DinomalyConfig(), ViTADConfig(), OptimConfig(), FineTuneConfig()
    assert d.target_layers == tuple(range(2, 10)) and d.fuse_groups == ((0, 1, 2, 3), (4, 5, 6, 7))
    assert d.bottleneck_dropout == 0.2 and d.image_size == 448 and d.top_fraction == 0.01
    assert v.teacher_layers == (2, 5, 8) and v.neck_layers == (11,) and v.decoder_depth == 9
    assert v.image_size == 256 and v.pool_size == 16 and d.blur_sigma == v.blur_sigma == 4.0
    assert (o.lr, o.final_lr, o.beta1, o.beta2, o.weight_decay, o.eps) == (2e-3, 2e-4, 0.9, 0.999, 1e-4, 1e-10)
    assert (o.warmup_iters, o.total_iters) == (100, 1750)
    assert ft.ssim_layers == (10, 11) and (ft.reconstruction_epochs, ft.alternate_every) == (20, 5)
    with pytest.raises(ConfigError, match="bottleneck_dropout"):
        from_dict(DinomalyConfig, {"bottleneck_dropout": 1.5})
    assert dataclasses.is_dataclass(EncoderConfig())

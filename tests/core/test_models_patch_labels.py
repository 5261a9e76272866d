from __future__ import annotations

import pytest
import torch

from core.models.losses import IGNORE_INDEX
from core.models.patch_labels import PatchLabelConfig, patch_labels


def _mask():
    # 2 x 3 grid of 4-px patches (8 x 12 px). Patch (0,0): 8 of 16 defect pixels; patch (0,2):
    # 1 pixel; patch (1,1): full; others empty.
    m = torch.zeros(1, 8, 12, dtype=torch.bool)
    m[0, 0:2, 0:4] = True
    m[0, 3, 11] = True
    m[0, 4:8, 4:8] = True
    return m


def test_fraction_rule_default_threshold():
    labels = patch_labels(_mask(), 4)
    assert labels.dtype == torch.int64 and labels.shape == (1, 6)
    assert labels.tolist() == [[1, 0, 0, 0, 1, 0]]               # 1/16 < 0.1 stays normal
    assert patch_labels(_mask(), 4, PatchLabelConfig(threshold=0.6)).tolist() == [[0, 0, 0, 0, 1, 0]]


def test_any_centre_and_ignore_rules():
    assert patch_labels(_mask(), 4, PatchLabelConfig(rule="any")).tolist() == [[1, 0, 1, 0, 1, 0]]
    # Centre pixel of a 4-px patch is (2, 2): patch (0,0) rows 0-1 only -> normal.
    assert patch_labels(_mask(), 4, PatchLabelConfig(rule="centre")).tolist() == [[0, 0, 0, 0, 1, 0]]
    ign = patch_labels(_mask(), 4, PatchLabelConfig(ignore_partial=True))
    assert ign.tolist() == [[1, 0, IGNORE_INDEX, 0, 1, 0]]


def test_float_masks_and_size_check():
    m = _mask().float()
    assert patch_labels(m, 4).tolist() == patch_labels(_mask(), 4).tolist()
    with pytest.raises(ValueError, match="not a multiple of the patch size 14"):
        patch_labels(torch.zeros(1, 20, 28), 14)

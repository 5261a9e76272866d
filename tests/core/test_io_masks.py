from __future__ import annotations

import cv2
import numpy as np
import pytest

from core.errors import InputError
from core.io.dataset import Sample
from core.io.masks import mask_path_for, read_mask, write_mask


def test_mask_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    m = rng.random((31, 47)) > 0.7
    p = tmp_path / "gt" / "dent" / "a_mask.png"
    write_mask(p, m)
    raw = cv2.imdecode(np.fromfile(p, np.uint8), cv2.IMREAD_UNCHANGED)
    assert raw.dtype == np.uint8 and set(np.unique(raw)) == {0, 255}
    back = read_mask(p)
    assert back.dtype == bool
    np.testing.assert_array_equal(back, m)
    assert [x.name for x in p.parent.iterdir()] == ["a_mask.png"]


def test_any_non_zero_is_defect(tmp_path):
    labels = np.zeros((5, 6), np.uint8)
    labels[1, 1], labels[2, 3], labels[4, 5] = 1, 2, 255  # labelme-style class indices
    p = tmp_path / "l.png"
    cv2.imencode(".png", labels)[1].tofile(str(p))
    assert read_mask(p).sum() == 3
    colour = np.zeros((5, 6, 3), np.uint8)
    colour[0, 0] = (0, 0, 128)  # dark red
    cv2.imencode(".png", colour)[1].tofile(str(p))
    assert read_mask(p).sum() == 1 and read_mask(p)[0, 0]


def test_expected_shape_mismatch_names_file(tmp_path):
    p = tmp_path / "m.png"
    write_mask(p, np.ones((4, 4), bool))
    assert read_mask(p, expected_shape=(4, 4)).all()
    with pytest.raises(InputError) as info:
        read_mask(p, expected_shape=(4, 5))
    assert info.value.path == p and "4x4" in str(info.value) and "5x4" in str(info.value)


def test_mask_path_for():
    s = Sample("SC", "test", "dent", "0 07", (None, None, None), None)
    from pathlib import Path
    assert mask_path_for("/data", s) == Path("/data/SC/ground_truth/dent/0 07_mask.png")


def test_write_mask_rejects_non_2d(tmp_path):
    with pytest.raises(ValueError):
        write_mask(tmp_path / "x.png", np.zeros((2, 2, 3), bool))

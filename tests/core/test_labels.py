import json

import numpy as np
import pytest

from core.errors import InputError
from core.labels import (LabelStore, MaskEdit, fill_polygon, fill_rect, folder_label,
                         paint_stroke, save_mask)


def test_folder_label():
    assert folder_label("good") == "good"
    assert folder_label("dent") == "dent"


def test_paint_disc_and_erase():
    m = np.zeros((50, 60), bool)
    box = paint_stroke(m, [(20, 10)], radius=4)
    assert m[10, 20] and m[10, 24] and not m[10, 26] and not m[16, 20]
    assert box[0] <= 16 and box[2] >= 25 and box[1] <= 6 and box[3] >= 15
    # disc area close to pi r^2
    assert abs(m.sum() - np.pi * 16) < 20
    paint_stroke(m, [(20, 10)], radius=2, value=False)
    assert not m[10, 20] and m[10, 24]


def test_stroke_connects_points_and_clips_at_border():
    m = np.zeros((40, 40), bool)
    paint_stroke(m, [(2, 20), (37, 20)], radius=1)
    assert m[20, 2:38].all()
    m2 = np.zeros((40, 40), bool)
    box = paint_stroke(m2, [(-3, -3)], radius=5)
    assert m2[0, 0] and box[0] == 0 and box[1] == 0
    assert paint_stroke(m2, [(-100, -100)], radius=3) is None


def test_polygon_and_rect():
    m = np.zeros((30, 30), bool)
    fill_polygon(m, [(5, 5), (20, 5), (20, 20), (5, 20)])
    assert m[12, 12] and m[5, 5] and m[20, 20] and not m[21, 12]
    fill_rect(m, (10, 10), (8, 12), value=False)
    assert not m[10:13, 8:11].any() and m[13, 10]
    assert fill_polygon(m, [(1, 1), (2, 2)]) is None


def test_mask_edit_undo_redo_is_local():
    before = np.zeros((100, 100), bool)
    m = before.copy()
    box = paint_stroke(m, [(50, 50), (60, 55)], radius=3)
    edit = MaskEdit.between(before, m, box)
    assert edit.before.size < m.size / 10
    edit.revert(m)
    assert not m.any()
    edit.apply(m)
    assert m[50, 50] and m[55, 60]
    assert MaskEdit.between(m, m, box) is None


def test_label_store_overrides_roundtrip(tmp_path):
    s = LabelStore(tmp_path)
    assert s.label("LC/train/good/001", "good") == "good"
    s.set_label("LC/train/good/001", "good", "dent")
    s.set_label("LC/test/dent/002", "dent", "dent")  # same as folder: no override
    data = json.loads((tmp_path / "labels.json").read_text())
    assert data["labels"] == {"LC/train/good/001": "dent"}
    s2 = LabelStore(tmp_path)
    assert s2.label("LC/train/good/001", "good") == "dent"
    assert s2.is_relabelled("LC/train/good/001")
    s2.set_label("LC/train/good/001", "good", "good")
    assert LabelStore(tmp_path).overrides == {}
    with pytest.raises(ValueError):
        s2.set_label("x", "good", "scratch")


def test_label_store_bad_file_names_it(tmp_path):
    (tmp_path / "labels.json").write_text('{"format": "bearing-inspector-labels", '
                                          '"labels": {"a": "maybe"}}')
    with pytest.raises(InputError) as exc:
        LabelStore(tmp_path)
    assert "labels.json" in str(exc.value) and "maybe" in str(exc.value)
    (tmp_path / "labels.json").write_text("[")
    with pytest.raises(InputError, match="cannot read"):
        LabelStore(tmp_path)


def test_failed_label_save_leaves_store_unchanged(tmp_path, monkeypatch):
    import core.labels as mod

    s = LabelStore(tmp_path)

    def boom(*a, **k):
        raise OSError(13, "Permission denied")

    monkeypatch.setattr(mod, "atomic_write_json", boom)
    with pytest.raises(InputError, match="Permission denied"):
        s.set_label("k", "good", "dent")
    assert s.label("k", "good") == "good"


def test_save_mask_writes_0_255_png_and_removes(tmp_path):
    from core.io.masks import read_mask

    m = np.zeros((20, 30), bool)
    m[5:8, 10:15] = True
    p = tmp_path / "LC" / "ground_truth" / "dent" / "001_mask.png"
    save_mask(p, m)
    assert np.array_equal(read_mask(p, expected_shape=(20, 30)), m)
    save_mask(p, None)
    assert not p.exists()

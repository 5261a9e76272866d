from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from core.config import ConfigError
from core.errors import InputError
from core.io.dataset import (LayoutParams, Problem, fingerprint, load_levels, load_mask,
                             scan_dataset, scan_folder)
from core.io.images import write_png
from core.io.masks import write_mask

SHAPE = (12, 16)


def _img(path: Path, value: int = 100, shape=SHAPE) -> Path:
    write_png(path, np.full(shape, value, np.uint8))
    return path


def _sample(root: Path, cls, split, group, sid, levels=(0, 1, 2), ext=".png", shape=SHAPE):
    for lv in levels:
        _img(root / cls / split / group / f"{sid}_{lv}{ext}", 10 * lv + 5, shape)


def _mask(root: Path, cls, group, sid, shape=SHAPE) -> Path:
    m = np.zeros(shape, bool)
    m[2:5, 3:9] = True
    p = root / cls / "ground_truth" / group / f"{sid}_mask.png"
    write_mask(p, m)
    return p


@pytest.fixture
def clean(tmp_path) -> Path:
    root = tmp_path / "data"
    for cls in ("LC", "SC", "OD"):
        for sid in ("001", "002", "010"):
            _sample(root, cls, "train", "good", sid)
        _sample(root, cls, "test", "good", "003")
        _sample(root, cls, "test", "dent", "004")
        _mask(root, cls, "dent", "004")
    (root / "geometry.json").write_text("[]")  # demo truth file at the root: not a problem
    return root


def _problems_for(ds, path: Path) -> list[Problem]:
    return [p for p in ds.problems if p.path == path]


def test_clean_dataset_finds_every_sample(clean):
    ds = scan_dataset(clean)
    assert ds.problems == []
    assert len(ds.samples) == 15
    lc = ds.select(cls="LC")
    # natural order within a split, good before defect groups, train before test
    assert [s.key for s in lc] == ["LC/train/good/001", "LC/train/good/002", "LC/train/good/010",
                                   "LC/test/good/003", "LC/test/dent/004"]
    dent = ds.select(cls="OD", group="dent")[0]
    assert dent.is_anomalous and not lc[0].is_anomalous
    assert dent.mask_path == clean / "OD" / "ground_truth" / "dent" / "004_mask.png"
    assert lc[0].mask_path is None
    assert dent.level_paths == tuple(clean / "OD" / "test" / "dent" / f"004_{i}.png" for i in range(3))
    assert len(ds.select(split="train")) == 9 and len(ds.select(split="test", group="good")) == 3
    assert ds.classes() == ["LC", "SC", "OD"]


def test_classes_argument_limits_the_scan(clean):
    ds = scan_dataset(clean, classes=("SC",))
    assert {s.cls for s in ds.samples} == {"SC"} and ds.problems == []


def test_each_layout_problem_is_reported_with_its_path(clean):
    r = clean
    _sample(r, "LC", "train", "good", "020", levels=(0, 1))           # missing level 2
    _img(r / "LC" / "train" / "good" / "readme_notes.png")           # stray: no level
    (r / "LC" / "train" / "good" / "030_0.gif").write_bytes(b"GIF89a")  # unsupported extension
    _img(r / "LC" / "train" / "good" / "001_0.bmp")                  # duplicate of 001_0.png
    _img(r / "LC" / "train" / "good" / "040_7.png")                  # level not expected
    _sample(r, "LC", "test", "dent", "050")                          # defect without mask
    m_orphan = _mask(r, "LC", "dent", "999")                          # mask without sample
    m_good = _mask(r, "LC", "good", "003")                            # mask for a good sample
    (r / "LC" / "notes.txt").write_text("x")                          # file in class folder
    (r / "LC" / "val").mkdir()                                        # unexpected folder
    _img(r / "LC" / "test" / "loose_0.png")                           # file in split folder
    (r / "LC" / "test" / "good" / "deeper").mkdir()                   # sub-folder in group
    (r / "LC" / "train" / "good" / ".DS_Store").write_bytes(b"\0")    # OS litter: ignored
    ds = scan_dataset(r)

    good = r / "LC" / "train" / "good"
    s020 = next(s for s in ds.samples if s.key == "LC/train/good/020")
    assert s020.level_paths[2] is None and s020.level_paths[0] == good / "020_0.png"
    assert "no level 2" in _problems_for(ds, good / "020_0.png")[0].problem
    assert _problems_for(ds, good / "020_0.png")[0].sample_key == "LC/train/good/020"
    assert "does not say sample and level" in _problems_for(ds, good / "readme_notes.png")[0].problem
    assert "unsupported file type '.gif'" in _problems_for(ds, good / "030_0.gif")[0].problem
    dup = _problems_for(ds, good / "001_0.bmp")[0]
    assert "duplicate" in dup.problem and "using 001_0.png" in dup.problem
    s001 = next(s for s in ds.samples if s.key == "LC/train/good/001")
    assert s001.level_paths[0] == good / "001_0.png"
    assert "level 7" in _problems_for(ds, good / "040_7.png")[0].problem
    no_mask = _problems_for(ds, r / "LC" / "ground_truth" / "dent" / "050_mask.png")[0]
    assert no_mask.problem == "defect sample has no mask" and no_mask.sample_key == "LC/test/dent/050"
    assert "mask without a sample" in _problems_for(ds, m_orphan)[0].problem
    assert "good sample" in _problems_for(ds, m_good)[0].problem
    assert next(s for s in ds.samples if s.key == "LC/test/good/003").mask_path is None
    assert "class folder" in _problems_for(ds, r / "LC" / "notes.txt")[0].problem
    assert "unexpected folder" in _problems_for(ds, r / "LC" / "val")[0].problem
    assert "group folder" in _problems_for(ds, r / "LC" / "test" / "loose_0.png")[0].problem
    assert "sub-folder" in _problems_for(ds, r / "LC" / "test" / "good" / "deeper")[0].problem
    assert not [p for p in ds.problems if ".DS_Store" in str(p.path)]
    assert len(ds.problems) == 12, "\n".join(map(str, ds.problems))
    assert str(ds.problems[0]) == f"{ds.problems[0].path}: {ds.problems[0].problem}"
    # the usable samples are all still there
    assert len(ds.samples) == 15 + 2


def test_same_defect_id_in_train_and_test_makes_mask_ambiguous(clean):
    _sample(clean, "SC", "train", "dent", "004")
    ds = scan_dataset(clean)
    both = [s for s in ds.samples if s.cls == "SC" and s.sample_id == "004"]
    assert len(both) == 2 and all(s.mask_path is None for s in both)
    msgs = [p.problem for p in ds.problems if p.sample_key in {s.key for s in both}]
    assert len(msgs) == 2 and all("ambiguous" in m for m in msgs)


def test_missing_class_folder_is_a_problem(clean):
    import shutil
    shutil.rmtree(clean / "SC")
    ds = scan_dataset(clean)
    assert [(p.path, p.problem) for p in ds.problems] == [(clean / "SC", "class folder SC not found")]


def test_root_errors(tmp_path):
    with pytest.raises(InputError) as info:
        scan_dataset(tmp_path / "missing")
    assert str(tmp_path / "missing") in str(info.value) and "not found" in str(info.value)
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "lc").mkdir()
    with pytest.raises(InputError) as info:
        scan_dataset(tmp_path / "photos")
    msg = str(info.value)
    assert "none of the class folders LC, SC, OD" in msg and "found folders: lc" in msg
    assert "ROOT/<CLASS>/{train,test}/<group>/<sample>_<level>" in msg  # says what is expected


def test_odd_names(tmp_path):
    root = tmp_path / "dátá set"
    names = ["sample one", "prüfling_ä", "it's \"quoted\"", "ring#7;a,b", "測試"]
    for sid in names:
        _sample(root, "OD", "test", "big dent", sid)
        _mask(root, "OD", "big dent", sid)
    _sample(root, "OD", "train", "good", "x_y_z")  # sample id with underscores
    ds = scan_dataset(root, classes=("OD",))
    assert ds.problems == []
    assert {s.sample_id for s in ds.samples} == set(names) | {"x_y_z"}
    s = next(s for s in ds.samples if s.sample_id == "it's \"quoted\"")
    assert s.key == "OD/test/big dent/it's \"quoted\""
    levels = load_levels(s)
    assert [int(a[0, 0]) for a in levels] == [5, 15, 25]
    assert load_mask(s, levels[0].shape).sum() == 18


def test_custom_pattern(tmp_path):
    root = tmp_path / "d"
    for lv in ("0", "1", "2"):
        _img(root / "LC" / "train" / "good" / f"L{lv}-part9.png")
    layout = LayoutParams(pattern=r"^L(?P<level>\d)-(?P<sample>.+)$")
    ds = scan_dataset(root, layout=layout, classes=("LC",))
    assert ds.problems == [] and [s.sample_id for s in ds.samples] == ["part9"]
    with pytest.raises(ConfigError):
        scan_dataset(root, layout=LayoutParams(pattern=r"^(?P<sample>.+)$"))


def test_scan_folder_any_depth_and_class_from_path(tmp_path):
    f = tmp_path / "incoming"
    for lv in range(3):
        _img(f / "lot 1" / "LC" / f"a_{lv}.png")
        _img(f / "lot 1" / "LC" / "deep" / "er" / f"b_{lv}.png")
        _img(f / "OD" / f"c_{lv}.png")
        _img(f / "unknown" / f"d_{lv}.png")
    _mask(f, "OD", "x", "c")  # incoming/OD/ground_truth/x/c_mask.png
    ds = scan_folder(f)
    assert {(s.cls, s.key) for s in ds.samples} == {
        ("LC", "lot 1/LC/a"), ("LC", "lot 1/LC/deep/er/b"), ("OD", "OD/c")}
    assert all(s.split == "" and s.group == "" and not s.is_anomalous for s in ds.samples)
    unknown = [p for p in ds.problems if p.sample_key == "unknown/d"]
    assert len(unknown) == 1 and "cannot tell the class" in unknown[0].problem
    assert any("ground_truth folder skipped" in p.problem for p in ds.problems)
    assert len(ds.problems) == 2
    forced = scan_folder(f, cls="SC")
    assert {s.cls for s in forced.samples} == {"SC"} and len(forced.samples) == 4
    assert load_mask(forced.samples[0], SHAPE).shape == SHAPE  # no mask: all False
    # class from the folder itself
    assert {s.cls for s in scan_folder(f / "OD").samples} == {"OD"}
    with pytest.raises(InputError):
        scan_folder(f, cls="XX")
    with pytest.raises(InputError):
        scan_folder(tmp_path / "nope")


def test_load_levels_errors_name_the_file(clean):
    lc = scan_dataset(clean).select(cls="LC", split="train")[0]
    _img(lc.level_paths[1], shape=(SHAPE[0] + 1, SHAPE[1]))
    with pytest.raises(InputError) as info:
        load_levels(lc)
    assert info.value.path == lc.level_paths[1] and "level 1 is 16x13" in str(info.value)
    lc.level_paths[2].write_bytes(b"")
    _img(lc.level_paths[1])
    with pytest.raises(InputError) as info:
        load_levels(lc)
    assert info.value.path == lc.level_paths[2] and "empty" in str(info.value)
    os.remove(lc.level_paths[0])
    ds = scan_dataset(clean)
    s = next(s for s in ds.samples if s.key == lc.key)
    with pytest.raises(InputError) as info:
        load_levels(s)
    assert "no level 0" in str(info.value)


def test_load_mask_rules(clean):
    ds = scan_dataset(clean)
    good = ds.select(cls="LC", group="good")[0]
    assert not load_mask(good, SHAPE).any() and load_mask(good, SHAPE).dtype == bool
    dent = ds.select(cls="LC", group="dent")[0]
    m = load_mask(dent, SHAPE)
    assert m.dtype == bool and m.sum() == 18 and m[2:5, 3:9].all()
    with pytest.raises(InputError) as info:
        load_mask(dent, (SHAPE[0], SHAPE[1] + 2))
    assert info.value.path == dent.mask_path and "mask is 16x12 pixels but its image is 18x12" in str(info.value)
    dent.mask_path.write_text("not a png")
    with pytest.raises(InputError) as info:
        load_mask(dent, SHAPE)
    assert info.value.path == dent.mask_path
    os.remove(dent.mask_path)
    nomask = next(s for s in scan_dataset(clean).samples if s.key == dent.key)
    with pytest.raises(InputError) as info:
        load_mask(nomask, SHAPE)
    assert info.value.path == clean / "LC" / "ground_truth" / "dent" / "004_mask.png"


def test_fingerprint_tracks_files(clean):
    a = fingerprint(scan_dataset(clean))
    assert a == fingerprint(scan_dataset(clean))
    p = clean / "SC" / "train" / "good" / "001_0.png"
    st = p.stat()
    _img(p, value=7)
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    b = fingerprint(scan_dataset(clean))
    assert b != a
    _sample(clean, "SC", "train", "good", "077")
    assert fingerprint(scan_dataset(clean)) not in (a, b)


def test_relabels_from_labels_json_override_the_folder(clean):
    from core.labels import LabelStore

    ds0 = scan_dataset(clean)
    good = next(s for s in ds0.samples if s.group == "good")
    dent = next(s for s in ds0.samples if s.group != "good" and s.mask_path is not None)
    store = LabelStore(clean)
    store.set_label(good.key, good.group, "dent")
    store.set_label(dent.key, dent.group, "good")
    painted = _mask(clean, good.cls, good.group, good.sample_id)  # the app paints the relabelled dent
    ds = scan_dataset(clean)
    by_key = {s.key: s for s in ds.samples}
    g, d = by_key[good.key], by_key[dent.key]
    assert g.is_anomalous and g.label == "dent" and g.mask_path == painted
    assert not d.is_anomalous and d.mask_path is None
    assert not any("mask for a good sample" in p.problem for p in ds.problems if p.path == painted)
    assert load_mask(d, SHAPE).sum() == 0 and load_mask(g, SHAPE).any()


def test_unreadable_labels_file_is_a_problem_not_a_crash(clean):
    (clean / "labels.json").write_text("{broken")
    ds = scan_dataset(clean)
    assert any(p.path.name == "labels.json" and "folder labels used" in p.problem for p in ds.problems)
    assert all(s.label is None for s in ds.samples)


def test_file_names_that_are_not_utf8_are_reported_and_left_out(clean):
    import os

    folder = clean / "LC" / "train" / "good"
    bad = os.fsencode(folder) + b"/caf\xe9_0.png"  # Latin-1 bytes, as an old camera PC might write
    with open(bad, "wb") as f:
        f.write((folder / "001_0.png").read_bytes())
    ds = scan_dataset(clean)
    hits = [p for p in ds.problems if "not valid UTF-8" in p.problem]
    assert len(hits) == 1 and "caf\\xe9_0.png" in str(hits[0].path)
    assert all(s.sample_id != "caf\udce9" for s in ds.samples)
    fingerprint(ds)  # used to raise UnicodeEncodeError
    ds2 = scan_folder(clean / "LC")
    assert any("not valid UTF-8" in p.problem for p in ds2.problems)

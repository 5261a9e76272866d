from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from core.errors import BearingError
from core.io.cache import (CacheError, CacheParams, CacheRecord, CacheWriter, open_cache,
                           resize_record, write_cache)

S = 32


def _record(i: int, cls="LC", split="train", group="good", h=S, w=S) -> CacheRecord:
    rng = np.random.default_rng(i)
    mask = np.zeros((h, w), bool)
    if group != "good":
        mask[h // 3: h // 2, w // 4: w // 2] = True
    roi = np.zeros((h, w), bool)
    roi[2:-2, 2:-2] = True
    return CacheRecord(cls, split, group, f"{i:03d}", f"{cls}/{split}/{group}/{i:03d}",
                       int(group != "good"), rng.integers(0, 256, (h, w, 3), dtype=np.uint8),
                       mask, roi, (i, 2 * i, i + w, 2 * i + h),
                       {"kind": "circle", "cx": 1.5 + i, "cy": 2.0, "r": 10.0, "r_inner": 4.0,
                        "crop": [i, 2 * i, i + w, 2 * i + h]})


def _records():
    return ([_record(i) for i in range(3)] + [_record(3, group="dent", split="test")]
            + [_record(10 + i, cls="OD", split="test", group="big dent") for i in range(2)])


CONFIG = {"LC": {"cgcm": {"r_mean": 40.5}}, "note": "ümlaut"}


def test_round_trip(tmp_path):
    recs = _records()
    p = tmp_path / "c.h5"
    seen = []
    n = write_cache(p, recs, CONFIG, progress=lambda d, t, m="": seen.append((d, t, m)),
                    params=CacheParams(size=S), fingerprint="abc123")
    assert n == 6 and seen[-1] == (6, 6, "OD/test/big dent/011")
    assert [x.name for x in tmp_path.iterdir()] == ["c.h5"]  # no temp file left
    with open_cache(p) as c:
        assert c.classes() == ["LC", "OD"] and len(c) == 6 and c.size == S
        assert c.config == CONFIG and c.fingerprint == "abc123"
        assert c.keys("LC") == [r.key for r in recs[:4]]
        assert c.splits("LC") == ["train", "train", "train", "test"]
        assert c.groups("OD") == ["big dent", "big dent"]
        assert c.sample_ids("OD") == ["010", "011"]
        inputs = c.inputs("LC")
        assert inputs.dtype == np.uint8 and inputs.shape == (4, S, S, 3)
        for i, r in enumerate(recs[:4]):
            np.testing.assert_array_equal(inputs[i], r.composed)
        m = c.masks("LC")
        assert m.dtype == bool and m.shape == (4, S, S)
        np.testing.assert_array_equal(m[3], recs[3].mask)
        np.testing.assert_array_equal(c.roi_masks("OD")[1], recs[5].roi_mask)
        assert c.labels("LC").tolist() == [0, 0, 0, 1] and c.labels("OD").tolist() == [1, 1]
        assert c.crops("LC")[1].tolist() == [1, 2, 1 + S, 2 + S]
        assert c.crop_shapes("LC")[0].tolist() == [S, S]
        assert c.geometry("OD")[0] == recs[4].geometry
        assert c.select("LC", split="train", group="good").tolist() == [0, 1, 2]
        assert c.select("LC", split="test").tolist() == [3]
        np.testing.assert_array_equal(c.inputs("LC", [3, 0, 3]),
                                      np.stack([recs[3].composed, recs[0].composed, recs[3].composed]))
        with pytest.raises(KeyError):
            c.inputs("SC")


def test_resize_rules():
    big = _record(0, h=200, w=120, group="dent")
    big.mask[:] = False
    big.mask[100, 60] = True                       # a one-pixel defect must survive shrinking
    r = resize_record(big, S)
    assert r.composed.shape == (S, S, 3) and r.mask.shape == (S, S) and r.crop_shape == (200, 120)
    assert r.mask.sum() >= 1
    assert r.mask[100 * S // 200, 60 * S // 120]
    big.roi_mask[:] = False
    big.roi_mask[:, :60] = True                    # left half
    r = resize_record(big, S)
    assert r.roi_mask[:, : S // 2].all() and not r.roi_mask[:, S // 2:].any()
    small = _record(1, h=8, w=8)                   # enlarging
    r = resize_record(small, S)
    assert r.composed.shape == (S, S, 3) and r.crop_shape == (8, 8)
    assert resize_record(r, S) is r
    with pytest.raises(ValueError):
        bad = _record(2)
        bad.mask = np.zeros((5, 5), bool)
        resize_record(bad, S)


def test_records_of_any_size_are_stored_at_cache_size(tmp_path):
    p = tmp_path / "c.h5"
    write_cache(p, iter([_record(0, h=70, w=50), _record(1, h=20, w=90)]), {},
                params=CacheParams(size=S))
    with open_cache(p) as c:
        assert c.inputs("LC").shape == (2, S, S, 3)
        assert c.crop_shapes("LC").tolist() == [[70, 50], [20, 90]]


def _write(tmp_path, size=S):
    p = tmp_path / "c.h5"
    write_cache(p, _records(), CONFIG, params=CacheParams(size=size), fingerprint="f")
    return p


def _assert_cache_error(p, *words):
    with pytest.raises(CacheError) as info:
        open_cache(p)
    assert isinstance(info.value, BearingError)
    msg = str(info.value)
    assert str(p) in msg and ("rebuild" in msg.lower() or "preprocess" in msg), msg
    for w in words:
        assert w in msg, msg
    return msg


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9, 0.999])
def test_truncated_cache_is_detected(tmp_path, keep):
    p = _write(tmp_path)
    data = p.read_bytes()
    p.write_bytes(data[: int(len(data) * keep)])
    _assert_cache_error(p)


def test_corrupted_input_bytes_are_detected(tmp_path):
    p = _write(tmp_path)
    with h5py.File(p, "r") as f:
        offset = f["LC/labels"].id.get_chunk_info(0).byte_offset  # uncompressed: flip one label
    data = bytearray(p.read_bytes())
    data[offset + 1] ^= 0x01
    p.write_bytes(bytes(data))
    _assert_cache_error(p, "LC/labels does not match its checksum")


def test_corrupted_chunk_anywhere_is_detected(tmp_path):
    p = _write(tmp_path, size=64)
    clean = p.read_bytes()
    with h5py.File(p, "r") as f:
        info = f["OD/inputs"].id.get_chunk_info(1)  # the second OD input, lzf-compressed
    for delta in (0, info.size // 2, info.size - 1):
        data = bytearray(clean)
        data[info.byte_offset + delta] ^= 0xFF
        p.write_bytes(bytes(data))
        _assert_cache_error(p, "corrupt")


def test_half_written_cache_is_refused(tmp_path):
    p = tmp_path / "c.h5"
    # what a crash between data and marker would leave if the file were written in place
    with CacheWriter(p, CacheParams(size=S)) as w:
        w.add(_record(0))
        w.finish({}, "")
    with h5py.File(p, "r+") as f:
        f.attrs["complete"] = 0
    _assert_cache_error(p, "not completely written")


def test_failed_write_leaves_old_cache(tmp_path):
    p = _write(tmp_path)
    before = p.read_bytes()

    def exploding():
        yield _record(0)
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_cache(p, exploding(), {}, params=CacheParams(size=S))
    assert p.read_bytes() == before and [x.name for x in tmp_path.iterdir()] == ["c.h5"]
    with pytest.raises(RuntimeError, match="without finish"):
        with CacheWriter(tmp_path / "d.h5", CacheParams(size=S)) as w:
            w.add(_record(0))
    assert not (tmp_path / "d.h5").exists()


def test_not_a_cache(tmp_path):
    _assert_cache_error(tmp_path / "missing.h5", "not found")
    txt = tmp_path / "x.h5"
    txt.write_text("hello")
    _assert_cache_error(txt, "not a readable cache")
    other = tmp_path / "o.h5"
    with h5py.File(other, "w") as f:
        f["x"] = 1
    _assert_cache_error(other, "not a Bearing Inspector cache")


def test_empty_cache_round_trip(tmp_path):
    p = tmp_path / "e.h5"
    assert write_cache(p, [], {"a": 1}) == 0
    with open_cache(p) as c:
        assert c.classes() == [] and len(c) == 0 and c.config == {"a": 1}
        assert json.loads(json.dumps(c.config)) == {"a": 1}

"""``bearing-inspect preprocess`` end to end on a tiny rendered demo data set."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.cli import main
from core.io.cache import open_cache
from core.io.images import read_grey

synth = pytest.importorskip("core.synth.dataset")

SIZE = (384, 384)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("demo") / "demo data"  # a space in the path on purpose
    synth.render_demo(root, seed=5, size=SIZE, counts=0.05)
    return root


def _samples(root: Path) -> list[tuple[str, str, str, str]]:
    return sorted({(p.parts[-4], p.parts[-3], p.parts[-2], p.stem.rsplit("_", 1)[0])
                   for p in root.glob("*/*/*/*_0.png") if p.parts[-3] in ("train", "test")})


def test_preprocess_writes_cache_geometry_and_overlays(demo, tmp_path, capsys):
    root = tmp_path / "data"
    shutil.copytree(demo, root)
    samples = _samples(root)
    n = len(samples)
    assert n >= 20
    broken = root / "SC" / "test" / "good"
    victim = sorted(broken.glob("*_1.png"))[0]
    victim.write_bytes(b"")                                   # unreadable level -> skipped
    (root / "LC" / "train" / "good" / "notes.txt").write_text("stray")  # layout problem
    out = tmp_path / "cache.h5"
    rc = main(["preprocess", str(root), "--out", str(out), "--overlays", str(tmp_path / "ov"),
               "--geometry-json", str(tmp_path / "geo.json"), "--save-config",
               str(tmp_path / "fitted.json"), "--size", "64", "--quiet"])
    text = capsys.readouterr().out
    assert rc == 0, text
    assert f"found {n} samples" in text
    assert f"preprocessed {n - 1} of {n} samples" in text and "skipped 1" in text
    assert f"{victim}: file is empty (0 bytes)" in text
    assert "notes.txt: unsupported file type '.txt'" in text
    assert "fitted statistics of LC, SC, OD" in text

    geo = json.loads((tmp_path / "geo.json").read_text())
    assert len(geo) == n - 1
    truth = {(g["class"], g["split"], g["group"], g["sample"]): g
             for g in json.loads((root / "geometry.json").read_text())}
    for g in geo:
        assert {"class", "split", "group", "sample", "kind", "cx", "cy", "crop"} <= set(g)
        t = truth[(g["class"], g["split"], g["group"], g["sample"])]
        scale = t["r"] if t["kind"] == "circle" else t["a"]
        assert math.hypot(g["cx"] - t["cx"], g["cy"] - t["cy"]) < 0.05 * scale, g

    with open_cache(out) as cache:
        assert cache.classes() == ["LC", "SC", "OD"]
        assert sum(len(cache.keys(c)) for c in cache.classes()) == n - 1
        assert cache.inputs("OD").shape[1:] == (64, 64, 3)
        for cls in cache.classes():
            labels = cache.labels(cls)
            masks = cache.masks(cls)
            assert labels.any() and (~labels.astype(bool)).any()
            assert not masks[labels == 0].any()
            assert all(m.any() for m in masks[labels == 1])  # no dent lost when shrinking
        assert cache.config["LC"]["cgcm"]["r_mean"] is not None
        assert cache.config["OD"]["eggcc"]["global_centre"] is not None
        assert len(cache.fingerprint) == 64

    overlays = sorted((tmp_path / "ov").rglob("*.png"))
    assert len(overlays) == n - 1
    first = samples[0]
    ov = tmp_path / "ov" / first[0] / first[1] / first[2] / f"{first[3]}.png"
    assert ov in overlays
    assert read_grey(ov).shape == (SIZE[1], SIZE[0])

    fitted = json.loads((tmp_path / "fitted.json").read_text())
    assert fitted["SC"]["cgcm"]["r_mean"] == cache.config["SC"]["cgcm"]["r_mean"]


def test_fitted_config_is_reused_and_classes_limit(demo, tmp_path, capsys):
    cfg = tmp_path / "fitted.json"
    assert main(["preprocess", str(demo), "--out", str(tmp_path / "a.h5"), "--classes", "OD",
                 "--save-config", str(cfg), "--size", "32", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["preprocess", str(demo), "--out", str(tmp_path / "b.h5"), "--classes", "od",
                 "--config", str(cfg), "--size", "32", "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "fitted statistics" not in text  # taken from the config file
    with open_cache(tmp_path / "a.h5") as a, open_cache(tmp_path / "b.h5") as b:
        assert a.classes() == b.classes() == ["OD"]
        np.testing.assert_array_equal(a.inputs("OD"), b.inputs("OD"))
        assert a.config == b.config


def test_nothing_processed_exits_non_zero_and_writes_nothing(tmp_path, capsys):
    root = tmp_path / "bad"
    for i in range(3):
        p = root / "LC" / "train" / "good" / f"001_{i}.png"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("not an image")
    out = tmp_path / "cache.h5"
    rc = main(["preprocess", str(root), "--out", str(out), "--quiet"])
    captured = capsys.readouterr()
    assert rc == 1
    assert "no sample could be preprocessed" in captured.err
    assert f"{root / 'LC' / 'train' / 'good' / '001_0.png'}: not an image" in captured.out
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["bad"]


def test_user_errors_are_one_line_messages(tmp_path, capsys):
    assert main(["preprocess", str(tmp_path / "nope"), "--out", str(tmp_path / "c.h5")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "nope: data set folder not found" in err
    bad_cfg = tmp_path / "cfg.json"
    bad_cfg.write_text(json.dumps({"LC": {"cgmp": {"no_such": 1}}}))
    (tmp_path / "d" / "LC").mkdir(parents=True)
    assert main(["preprocess", str(tmp_path / "d"), "--out", str(tmp_path / "c.h5"),
                 "--config", str(bad_cfg)]) == 1
    err = capsys.readouterr().err
    assert str(bad_cfg) in err and "no_such" in err
    with pytest.raises(SystemExit) as info:
        main(["preprocess", str(tmp_path), "--out", "c.h5", "--classes", "LC,XX"])
    assert info.value.code == 2
    assert "subset of LC,SC,OD" in capsys.readouterr().err


def test_console_entry_point_help():
    out = subprocess.run([sys.executable, "-m", "core.cli", "preprocess", "--help"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0
    assert "--geometry-json" in out.stdout and "bearing-inspect preprocess demo_data" in out.stdout

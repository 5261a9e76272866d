from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from core.config import ConfigError, from_dict, load_json, param, save_json, to_dict


@dataclass
class Inner:
    size: int = param(5, "kernel size", unit="px", min=1, max=99)
    mode: str = param("a", "mode", choices=("a", "b"))


@dataclass
class Outer:
    inner: Inner = param(default_factory=Inner)
    margins: tuple[int, int] = param((1, 2), "margins", unit="px", min=0)
    centre: tuple[float, float] | None = param(None, "fitted centre", fitted=True)


def test_round_trip_through_json(tmp_path):
    cfg = Outer(inner=Inner(size=7, mode="b"), margins=(3, 4), centre=(10.5, 20.25))
    p = tmp_path / "c.json"
    save_json(cfg, p)
    assert json.loads(p.read_text())["inner"]["size"] == 7
    assert load_json(Outer, p) == cfg


def test_unknown_key_is_named():
    with pytest.raises(ConfigError, match="inner: unknown setting.*sise"):
        from_dict(Outer, {"inner": {"sise": 3}})


def test_out_of_range_and_bad_choice_are_named():
    with pytest.raises(ConfigError, match="inner.size: 0 is below the minimum 1"):
        from_dict(Outer, {"inner": {"size": 0}})
    with pytest.raises(ConfigError, match="inner.mode: 'c' is not one of"):
        from_dict(Outer, {"inner": {"mode": "c"}})
    with pytest.raises(ConfigError, match=r"margins\[1\]: expected a whole number"):
        from_dict(Outer, {"margins": [1, "x"]})


def test_defaults_fill_missing_keys():
    assert from_dict(Outer, {}) == Outer()
    assert to_dict(Outer())["margins"] == [1, 2]


def test_bad_json_names_the_file(tmp_path):
    p = tmp_path / "broken.json"
    p.write_text("{not json")
    with pytest.raises(ConfigError, match="broken.json: not valid JSON"):
        load_json(Outer, p)

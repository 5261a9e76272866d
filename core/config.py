"""Typed parameter objects and their (de)serialisation: one source of truth for every parameter.

Every tunable parameter lives in a ``@dataclass`` whose fields carry their documentation in
``field(metadata=...)``, so the CLI, the GUI forms, the saved project file and the report all read
the same description::

    clip_limit: float = param(2.0, "CLAHE contrast limit", unit="", min=0.1, max=40.0, step=0.1)

Metadata keys: ``help`` (one sentence), ``unit`` (``"px"``, ``"deg"``, ``""`` ...), ``min``/``max``
(inclusive bounds for GUI widgets and validation), ``step`` (GUI increment), ``choices`` (allowed
values of a string field), ``group`` (GUI group title), ``fitted`` (True when the value is computed
from data by a fit step rather than chosen by a person), ``advanced`` (hidden by default in the GUI).

``to_dict`` / ``from_dict`` turn any such dataclass tree into plain JSON-able dicts and back, with
unknown keys and out-of-range values reported as :class:`ConfigError` naming the field.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

from core.errors import BearingError

T = TypeVar("T")


class ConfigError(BearingError):
    """A configuration file or value is invalid; the message names the field."""


def param(default: Any = dataclasses.MISSING, help: str = "", *, unit: str = "",
          min: float | None = None, max: float | None = None, step: float | None = None,
          choices: tuple | None = None, group: str | None = None, fitted: bool = False,
          advanced: bool = False, default_factory: Any = dataclasses.MISSING) -> Any:
    """A dataclass field with its documentation attached (see the module docstring)."""
    md = {"help": help, "unit": unit, "min": min, "max": max, "step": step, "choices": choices,
          "group": group, "fitted": fitted, "advanced": advanced}
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=md)
    return dataclasses.field(default=default, metadata=md)


def field_info(obj_or_cls: Any) -> list[tuple[dataclasses.Field, dict]]:
    """The fields of a parameter dataclass with their metadata (as a plain dict)."""
    return [(f, dict(f.metadata)) for f in dataclasses.fields(obj_or_cls)]


def to_dict(obj: Any) -> Any:
    """A dataclass tree as plain JSON-able data (tuples become lists, Paths strings)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): to_dict(v) for k, v in obj.items()}
    if isinstance(obj, Path):
        return str(obj)
    return obj


def _is_optional(tp: Any) -> tuple[bool, Any]:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) < len(typing.get_args(tp)):
            return True, (args[0] if len(args) == 1 else typing.Union[tuple(args)])
    return False, tp


def _convert(value: Any, tp: Any, where: str) -> Any:
    optional, inner = _is_optional(tp)
    if value is None:
        if optional or tp is Any:
            return None
        raise ConfigError(f"{where}: must not be empty (null)")
    tp = inner
    if tp is Any:
        return value
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a table/object, got {type(value).__name__}")
        return from_dict(tp, value, where)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                raise ConfigError(f"{where}: expected {len(args)} values, got {len(value)}")
            return tuple(_convert(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
        elem = args[0] if args else Any
        seq = [_convert(v, elem, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(seq) if origin is tuple else seq
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a table/object, got {value!r}")
        vt = args[1] if len(args) == 2 else Any
        return {k: _convert(v, vt, f"{where}.{k}") for k, v in value.items()}
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{where}: {value!r} is not one of {', '.join(map(repr, args))}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
            raise ConfigError(f"{where}: expected a whole number, got {value!r}")
        return int(value)
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected text, got {value!r}")
        return value
    if tp is Path:
        return Path(value)
    return value


def validate(obj: Any, where: str = "") -> None:
    """Check every field against its ``min``/``max``/``choices`` metadata (recursively)."""
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        name = f"{where}.{f.name}" if where else f.name
        if dataclasses.is_dataclass(v):
            validate(v, name)
            continue
        md = f.metadata
        if v is None:
            continue
        if md.get("choices") and v not in md["choices"]:
            raise ConfigError(f"{name}: {v!r} is not one of {', '.join(map(repr, md['choices']))}")
        nums = v if isinstance(v, (list, tuple)) else [v]
        for x in nums:
            if isinstance(x, (int, float)) and not isinstance(x, bool):
                if md.get("min") is not None and x < md["min"]:
                    raise ConfigError(f"{name}: {x} is below the minimum {md['min']}")
                if md.get("max") is not None and x > md["max"]:
                    raise ConfigError(f"{name}: {x} is above the maximum {md['max']}")


def from_dict(cls: type[T], data: dict, where: str = "") -> T:
    """Build dataclass ``cls`` from plain data; missing keys take defaults, unknown keys are errors."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where or cls.__name__}: expected a table/object")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"{where or cls.__name__}: unknown setting(s) {', '.join(unknown)}; "
                          f"known: {', '.join(sorted(names))}")
    kwargs = {k: _convert(v, hints[k], f"{where}.{k}" if where else k) for k, v in data.items()}
    obj = cls(**kwargs)
    validate(obj, where)
    return obj


def replace(obj: T, **changes: Any) -> T:
    """``dataclasses.replace`` plus validation."""
    new = dataclasses.replace(obj, **changes)
    validate(new)
    return new


def save_json(obj: Any, path: str | Path) -> None:
    """Save a parameter dataclass (or plain data) as readable JSON, atomically."""
    from core.io.atomic import atomic_write_json

    atomic_write_json(path, to_dict(obj))


def load_json(cls: type[T], path: str | Path) -> T:
    """Load ``cls`` from a JSON file; errors name the file and the field."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc})") from None
    try:
        return from_dict(cls, data)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None

"""Hostile files: pickles that run code, unsafe loads in the source, script in names, escaping paths.

The malicious model file is a real pickle whose ``__reduce__`` creates a marker file when it is
unpickled; a control run with ``weights_only=False`` (in a subprocess) proves the payload works,
so "no marker" after our loaders means they really did not unpickle it.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
import torch

from core.errors import InputError

ROOT = Path(__file__).resolve().parents[2]


class _Payload:
    """Unpickling this calls ``open(marker, "w")``: any file system effect proves code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _malicious(path: Path, marker: Path, zip_format: bool = True) -> Path:
    # shaped like a real checkpoint, so a loader that unwraps {"state_dict": ...} reaches it
    obj = {"state_dict": {"blocks.0.attn.qkv.weight": torch.zeros(2), "evil": _Payload(marker)}}
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(obj, path, _use_new_zipfile_serialization=zip_format)
    return path


@pytest.fixture
def marker(tmp_path) -> Path:
    return tmp_path / "PWNED"


def test_the_payload_really_runs_code_when_unpickled(tmp_path):
    # the control, in a throw-away process: without weights_only both file formats run the code
    markers = [tmp_path / "PWNED-zip", tmp_path / "PWNED-legacy"]
    files = [_malicious(tmp_path / f"evil{i}.pth", m, zip_format=(i == 0))
             for i, m in enumerate(markers)]
    code = "import sys, torch\nfor f in sys.argv[1:]: torch.load(f, weights_only=False)"
    subprocess.run([sys.executable, "-c", code, *map(str, files)], check=False,
                   capture_output=True, timeout=120)
    assert all(m.exists() for m in markers)


@pytest.mark.parametrize("suffix", [".pth", ".pt", ".bin"])
@pytest.mark.parametrize("zip_format", [True, False], ids=["zip", "legacy"])
def test_encoder_weights_loader_refuses_a_malicious_pickle(tmp_path, marker, suffix, zip_format):
    from core.models.encoder import create_encoder

    bad = _malicious(tmp_path / f"weights{suffix}", marker, zip_format)
    with pytest.raises(InputError) as info:
        create_encoder("tiny", weights=bad)
    assert not marker.exists()
    assert info.value.path == bad and "refused to load" in str(info.value)


def test_pickle_renamed_to_safetensors_is_refused_by_every_loader(tmp_path, marker):
    from core.models.encoder import create_encoder
    from core.models.serialize import load_model, save_encoder
    from core.train.checkpoint import CheckpointError, load_checkpoint

    bad = _malicious(tmp_path / "enc.safetensors", marker)
    with pytest.raises(InputError, match="not a readable safetensors file"):
        create_encoder("tiny", weights=bad)

    # a saved model whose tensors were swapped for a pickle (its JSON twin left as it was)
    model = tmp_path / "model" / "enc"
    save_encoder(create_encoder("tiny", "random"), model)
    _malicious(model.with_suffix(".safetensors"), marker)
    with pytest.raises(InputError, match="not a readable safetensors file"):
        load_model(model)

    run = tmp_path / "run"
    _malicious(run / "last.safetensors", marker)
    net = torch.nn.Linear(2, 2)
    with pytest.raises(CheckpointError, match="damaged"):
        load_checkpoint(run, net, torch.optim.SGD(net.parameters(), lr=0.1))
    assert not marker.exists()


# --- source scan ----------------------------------------------------------------------------------

SCANNED = ("core", "bearing_gui", "scripts")
_UNSAFE_MODULE_LOADS = {("pickle", "load"), ("pickle", "loads"), ("pickle", "Unpickler"),
                        ("cPickle", "load"), ("dill", "load"), ("dill", "loads"),
                        ("joblib", "load"), ("marshal", "load"), ("marshal", "loads"),
                        ("shelve", "open"), ("torch.jit", "load"), ("jit", "load")}


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _kw_is_true(call: ast.Call, name: str) -> bool:
    return any(k.arg == name and isinstance(k.value, ast.Constant) and k.value.value is True
               for k in call.keywords)


_PICKLING_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "joblib", "shelve",
                     "marshal"}


def unsafe_calls(source: str, filename: str = "<src>") -> list[str]:
    """Every call in ``source`` that can run code from file content, as ``"file:line: what"``.

    Imports of pickling modules count too, and ``from torch import load`` (which would hide a
    ``load(...)`` call from the checks below).
    """
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] in _PICKLING_MODULES:
                    found.append(f"{filename}:{node.lineno}: import {a.name}")
        elif isinstance(node, ast.ImportFrom) and node.module:
            top = node.module.split(".")[0]
            names = {a.name for a in node.names}
            if top in _PICKLING_MODULES or (node.module in ("torch", "torch.serialization")
                                            and "load" in names):
                found.append(f"{filename}:{node.lineno}: from {node.module} import "
                             f"{', '.join(sorted(names))}")
        if not isinstance(node, ast.Call):
            continue
        name = _dotted(node.func)
        head, _, last = name.rpartition(".")
        what = None
        if last == "load" and head == "torch" and not _kw_is_true(node, "weights_only"):
            what = "torch.load without weights_only=True"
        elif (head, last) in _UNSAFE_MODULE_LOADS or (head.endswith(".jit") and last == "load"):
            what = f"{name} (unpickles / runs code)"
        elif last == "load" and head in ("np", "numpy") and _kw_is_true(node, "allow_pickle"):
            what = "np.load(..., allow_pickle=True)"
        elif name in ("eval", "exec", "builtins.eval", "builtins.exec"):
            what = f"{name}() of a string"
        elif last == "load" and head == "yaml" and not any(k.arg == "Loader" for k in node.keywords):
            what = "yaml.load without an explicit safe Loader"
        if what:
            found.append(f"{filename}:{node.lineno}: {what}")
    return found


def test_the_scanner_finds_each_unsafe_pattern():
    src = "\n".join([
        "import torch, pickle, numpy as np",
        "torch.load(p)",
        "torch.load(p, weights_only=False)",
        "pickle.load(f)",
        "np.load(p, allow_pickle=True)",
        "eval(text)",
        "exec(open(p).read())",
        "torch.jit.load(p)",
        "torch.load(p, map_location='cpu', weights_only=True)",   # fine
        "np.load(p)",                                              # fine
        "dialog.exec()",                                           # fine: Qt's exec, not builtins
        "from torch import load",
        "import dill",
        "from pickle import loads",
    ])
    lines = [int(s.split(": ", 1)[0].rsplit(":", 1)[1]) for s in unsafe_calls(src)]
    assert sorted(lines) == [1, *range(2, 9), 12, 13, 14]  # line 1 imports pickle


def test_no_unsafe_deserialisation_or_eval_in_the_source_tree():
    files = [p for d in SCANNED if (ROOT / d).is_dir() for p in sorted((ROOT / d).rglob("*.py"))]
    assert any(p.name == "encoder.py" for p in files)  # the scan really covers core/
    found = []
    for p in files:
        found += unsafe_calls(p.read_text(encoding="utf-8"), str(p.relative_to(ROOT)))
    assert not found, "unsafe loads:\n" + "\n".join(found)


# --- reports: every string escaped (extends tests/core/test_report.py: all fields, parsed) -------

class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(attrs)

    def handle_data(self, data):
        self.text.append(data)


def test_html_report_escapes_every_string_field():
    import cv2
    import numpy as np

    from core.report import Report, ReportSample
    from core.report.content import Curve
    from core.report.html import render_html

    def evil(field: str) -> str:
        return f'"><script>alert("{field}")</script><img src=x onerror="{field}">\'<!--'

    ok, png = cv2.imencode(".png", np.zeros((8, 8), np.uint8))
    fields = ["title", "summary-key", "summary-value", "warning", "metrics-row", "metric-value",
              "curve-label", "sample-key", "sample-cls", "sample-decision", "sample-reason",
              "skipped-path", "skipped-reason", "config-key", "config-value"]
    report = Report(
        title=evil("title"), kind="inspection",
        summary={evil("summary-key"): evil("summary-value")},
        warnings=[evil("warning")],
        metrics={evil("metrics-row"): {"I-AUROC": evil("metric-value")}},
        curves={"ROC": [Curve([0, 1], [0, 1], evil("curve-label"))]},
        histogram={"good": [0.1], "defect": [0.9], "threshold": 0.5, "band": None},
        samples=[ReportSample(evil("sample-key"), evil("sample-cls"), 0.9, evil("sample-decision"),
                              evil("sample-reason"), image_png=png.tobytes())],
        skipped=[(evil("skipped-path"), evil("skipped-reason"))],
        config={evil("config-key"): evil("config-value")},
    )
    html = render_html(report)
    parsed = _Elements()
    parsed.feed(html)
    assert "script" not in parsed.tags
    assert not [a for a in parsed.attrs if a[0].startswith("on")]
    imgs = [v for k, v in parsed.attrs if k == "src"]
    assert imgs and all(v.startswith("data:image/png;base64,") for v in imgs)
    text = "".join(parsed.text)
    for field in fields:  # each string is still shown, as text (the config as JSON text)
        shown = json.dumps(evil(field))[1:-1] if field.startswith("config") else evil(field)
        assert shown in text, field


# --- project files cannot point writes outside their folder ---------------------------------------

def _project_file(folder: Path, runs: list) -> Path:
    f = folder / "x.bearing.json"
    f.write_text(json.dumps({"format": "bearing-inspector-project", "version": 1,
                             "dataset_root": "data", "preprocess": {}, "runs": runs}))
    return f


@pytest.mark.parametrize("entry", [
    "runs/../../outside",          # climbs out after a harmless start
    "runs/./../..//outside",
    "link/run1",                   # a symlink inside the folder that points outside
    "runs/a\x00b",                 # a NUL byte: no file system accepts it
    "",
    "{proj}/link/run2",            # absolute, inside by name, outside through the symlink
])
def test_project_run_paths_cannot_leave_the_project_folder(tmp_path, entry):
    from core.project import load_project

    proj, outside = tmp_path / "proj", tmp_path / "outside"
    proj.mkdir()
    outside.mkdir()
    (proj / "link").symlink_to(outside, target_is_directory=True)
    f = _project_file(proj, [{"name": "r", "path": entry.format(proj=proj)}])
    with pytest.raises(InputError) as info:
        load_project(f)
    assert info.value.path == f and "runs[0].path" in str(info.value)


def test_project_run_inside_through_an_inner_symlink_is_fine(tmp_path):
    from core.project import load_project

    proj = tmp_path / "proj"
    (proj / "runs" / "real").mkdir(parents=True)
    (proj / "alias").symlink_to(proj / "runs", target_is_directory=True)
    f = _project_file(proj, [{"name": "r", "path": "alias/real"}])
    assert load_project(f).runs[0].path == proj / "alias" / "real"
    assert os.path.realpath(load_project(f).runs[0].path) == str(proj / "runs" / "real")


def test_project_dataset_root_with_a_nul_byte_is_an_error_naming_the_file(tmp_path):
    from core.project import load_project

    f = tmp_path / "x.bearing.json"
    f.write_text(json.dumps({"format": "bearing-inspector-project", "version": 1,
                             "dataset_root": "data\x00/../../etc"}))
    with pytest.raises(InputError) as info:
        load_project(f)
    assert info.value.path == f and "dataset_root" in str(info.value)

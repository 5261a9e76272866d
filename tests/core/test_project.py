import json

import pytest

from core.errors import InputError
from core.project import load_project, new_project


def test_save_load_roundtrip_with_relative_paths(tmp_path):
    data = tmp_path / "proj" / "data"
    data.mkdir(parents=True)
    proj = new_project(data)
    proj.preprocess = {"LC": {"some": 1}}
    saved = proj.save(tmp_path / "proj" / "demo")
    assert saved.name == "demo.bearing.json"
    proj.add_run("runs/r1", cls="LC")
    proj.save()
    raw = json.loads(saved.read_text())
    assert raw["dataset_root"] == "data"
    assert raw["runs"][0]["path"] == "runs/r1"
    back = load_project(saved)
    assert back.dataset_root == data
    assert back.preprocess == {"LC": {"some": 1}}
    assert back.runs[0].path == tmp_path / "proj" / "runs" / "r1"
    assert back.runs[0].cls == "LC"
    assert back.name == "demo"


def test_moved_project_folder_still_finds_its_data(tmp_path):
    (tmp_path / "a" / "data").mkdir(parents=True)
    p = new_project(tmp_path / "a" / "data")
    p.save(tmp_path / "a" / "x.bearing.json")
    (tmp_path / "a").rename(tmp_path / "b")
    back = load_project(tmp_path / "b" / "x.bearing.json")
    assert back.dataset_root == tmp_path / "b" / "data"


def test_dataset_root_outside_is_kept_absolute(tmp_path):
    data = tmp_path / "elsewhere"
    data.mkdir()
    p = new_project(data)
    saved = p.save(tmp_path / "proj" / "x.bearing.json")
    assert json.loads(saved.read_text())["dataset_root"] == str(data)
    assert load_project(saved).dataset_root == data


def test_run_outside_project_needs_external(tmp_path):
    p = new_project(tmp_path)
    p.save(tmp_path / "proj" / "x.bearing.json")
    with pytest.raises(InputError, match="outside the project folder"):
        p.add_run(tmp_path / "other_run")
    run = p.add_run(tmp_path / "other_run", external=True)
    assert run.external
    p.save()
    assert load_project(p.path).runs[0].path == tmp_path / "other_run"


@pytest.mark.parametrize("entry", [{"path": "../../etc"}, {"path": "/tmp/zzz"}])
def test_escaping_run_path_in_file_is_rejected(tmp_path, entry):
    f = tmp_path / "x.bearing.json"
    f.write_text(json.dumps({"format": "bearing-inspector-project", "version": 1,
                             "dataset_root": "data", "preprocess": {}, "runs": [entry]}))
    with pytest.raises(InputError) as exc:
        load_project(f)
    assert str(f) in str(exc.value) and "runs[0].path" in str(exc.value)


def test_bad_files_name_file_and_problem(tmp_path):
    f = tmp_path / "x.bearing.json"
    f.write_text("{not json")
    with pytest.raises(InputError, match="not a readable project file"):
        load_project(f)
    f.write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(InputError, match="not a Bearing Inspector project"):
        load_project(f)
    f.write_text(json.dumps({"format": "bearing-inspector-project", "version": 1,
                             "dataset_root": "d", "colour": 3}))
    with pytest.raises(InputError, match="unknown entries colour"):
        load_project(f)
    with pytest.raises(InputError, match="not found"):
        load_project(tmp_path / "missing.bearing.json")


def test_failed_save_keeps_old_file(tmp_path, monkeypatch):
    p = new_project(tmp_path)
    saved = p.save(tmp_path / "x.bearing.json")
    before = saved.read_text()
    import core.project as mod

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(mod, "atomic_write_json", boom)
    p.preprocess = {"LC": {}}
    with pytest.raises(InputError, match="No space left"):
        p.save()
    assert saved.read_text() == before

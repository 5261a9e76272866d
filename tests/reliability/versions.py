"""Two complete versions (0 and 1) of each kind of saved file, a saver and a reader for each.

The saver (run in the killed subprocess) writes version ``v`` with the project's own save
function; the reader (run in the test) loads the file with the project's own load function and
returns which version it is, or raises if the file is neither (broken, mixed or unreadable).
Version 1 is always larger than version 0, so a file cut short or padded cannot pass as either.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np


# --- masks ----------------------------------------------------------------------------------------

def _masks() -> list[np.ndarray]:
    yy, xx = np.mgrid[:768, :768]
    circle = (xx - 300) ** 2 + (yy - 400) ** 2 < 150 ** 2
    noise = np.random.default_rng(1).random((768, 768)) < 0.3  # poorly compressible: a slower save
    return [circle, circle ^ noise]


def mask_saver() -> Callable[[Path, int], None]:
    from core.io.masks import write_mask

    masks = _masks()
    return lambda path, v: write_mask(path, masks[v])


def mask_version(path: Path) -> int:
    from core.io.masks import read_mask

    got = read_mask(path)
    return next(v for v, m in enumerate(_masks()) if np.array_equal(got, m))


# --- project file ---------------------------------------------------------------------------------

def _project_data(v: int) -> dict:
    # plain data is enough: the project stores the preprocessing config as given
    return {"LC": {"note": f"version {v}", "values": list(range(2000 * (v + 1)))}}


def project_saver() -> Callable[[Path, int], None]:
    from core.project import new_project

    def save(path: Path, v: int) -> None:
        p = new_project(path.parent / "data")
        p.preprocess = _project_data(v)
        p.save(path)
    return save


def project_version(path: Path) -> int:
    from core.project import load_project

    got = load_project(path).preprocess
    return next(v for v in (0, 1) if got == _project_data(v))


# --- training checkpoint --------------------------------------------------------------------------

def _net():
    import torch

    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(96, 96), torch.nn.Linear(96, 128))


def checkpoint_saver() -> Callable[[Path, int], None]:
    import torch

    from core.train.checkpoint import save_checkpoint

    nets, opts = [], []
    for v in (0, 1):
        net = _net()
        with torch.no_grad():
            for p in net.parameters():
                p.fill_(v + 1.0)
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        net(torch.ones(2, 96)).sum().backward()
        opt.step()  # gives the optimizer tensor state (exp_avg, exp_avg_sq) to save
        nets.append(net)
        opts.append(opt)
    return lambda path, v: save_checkpoint(path.parent, nets[v], opts[v], iteration=v + 1,
                                           extra={"version": v})


def checkpoint_version(path: Path) -> int:
    import torch

    from core.train.checkpoint import load_checkpoint

    net = _net()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    iteration, extra = load_checkpoint(path.parent, net, opt)
    v = extra["version"]
    assert iteration == v + 1
    # after one Adam step from fill(v + 1) every weight moved by lr at most
    for p in net.parameters():
        assert torch.allclose(p, torch.full_like(p, v + 1.0), atol=2e-3), "weights of another version"
    assert len(opt.state_dict()["state"]) == 4
    return v


# --- h5 cache -------------------------------------------------------------------------------------

def _records(v: int):
    from core.io.cache import CacheRecord

    out = []
    for i in range(3 + 3 * v):
        img = np.full((64, 64, 3), 10 * v + i, np.uint8)
        m = np.zeros((64, 64), bool)
        m[i:i + 8, i:i + 8] = True
        out.append(CacheRecord("LC", "train", "good", f"{v}-{i}", f"LC/train/good/{v}-{i}", 0, img, m,
                               np.ones((64, 64), bool), (0, 0, 64, 64), {"kind": "circle", "v": v}))
    return out


def cache_saver() -> Callable[[Path, int], None]:
    from core.io.cache import CacheParams, write_cache

    records = [_records(0), _records(1)]
    return lambda path, v: write_cache(path, records[v], {"version": v}, params=CacheParams(size=64),
                                       fingerprint=f"fp{v}")


def cache_version(path: Path) -> int:
    from core.io.cache import open_cache

    with open_cache(path, verify=True) as c:
        v = c.config["version"]
        want = _records(v)
        assert c.fingerprint == f"fp{v}" and c.keys("LC") == [r.key for r in want]
        assert np.array_equal(c.inputs("LC"), np.stack([r.composed for r in want]))
    return v


# --- reports --------------------------------------------------------------------------------------

def _report(v: int):
    from core.report import Report, ReportSample

    samples = [ReportSample(f"LC/test/good/{i:04d}", "LC", 0.01 * i, "OK") for i in range(20 + 20 * v)]
    # a large inline heat-map makes writing, not rendering, most of the save: kills land inside it
    noise = np.random.default_rng(v).integers(0, 256, (512, 512 + 64 * v), dtype=np.uint8)
    samples.append(ReportSample("LC/test/dent/0001", "LC", 0.9, "NG", image_png=_png(noise)))
    return Report(title=f"Report version {v}", kind="inspection", summary={"version": v},
                  samples=samples, histogram={"good": [s.score for s in samples], "defect": [],
                                              "threshold": 0.5, "band": None})


def _png(img: np.ndarray) -> bytes:
    import cv2

    return cv2.imencode(".png", img)[1].tobytes()


def report_saver() -> Callable[[Path, int], None]:
    from core.report import write_report

    reports = [_report(0), _report(1)]
    return lambda path, v: write_report(reports[v], path)


def report_version(path: Path) -> int:
    from core.report.html import render_html

    renders = [render_html(_report(v)).encode("utf-8") for v in (0, 1)]
    return renders.index(path.read_bytes())


# --- saved models (NAME.safetensors + NAME.json) ---------------------------------------------------
# The two files are replaced one after the other; the description inside the safetensors header is
# what load_model and read_meta trust, so a kill between the renames still loads one whole version.

def model_saver() -> Callable[[Path, int], None]:
    import torch

    from core.models.encoder import create_encoder
    from core.models.serialize import save_encoder

    encoders = []
    for v in (0, 1):
        enc = create_encoder("tiny", "random")
        with torch.no_grad():
            for p in enc.vit.parameters():
                p.fill_(float(v))
        encoders.append(enc)
    return lambda path, v: save_encoder(encoders[v], path.with_suffix(""), note=f"v{v}")


def model_version(path: Path) -> int:
    from core.models.serialize import load_model, read_meta

    v = int(next(load_model(path).vit.parameters()).flatten()[0].item())
    note = read_meta(path)["encoder"]["note"]
    assert note == f"v{v}", f"tensors of version {v} with the description of {note}"
    return v


SAVERS = {"mask": mask_saver, "project": project_saver, "checkpoint": checkpoint_saver,
          "cache": cache_saver, "report": report_saver, "model": model_saver}
READERS = {"mask": mask_version, "project": project_version, "checkpoint": checkpoint_version,
           "cache": cache_version, "report": report_version, "model": model_version}
FILE_NAMES = {"mask": "001_mask.png", "project": "line 3.bearing.json",
              "checkpoint": "last.safetensors", "cache": "cache.h5", "report": "report.html",
              "model": "encoder.safetensors"}

"""The bad-input corpus: a small data set in the standard layout, full of broken and awkward files.

Generated into a temporary folder by the tests, never shipped. :func:`build_corpus` writes it and
returns what every loader must make of it: the samples that must come through, and for each bad
one the file its error must name and a piece of the problem text. Good samples are rendered by
:mod:`core.synth` at 256 x 256 so preprocessing really finds their ROI.

Bomb headers are crafted byte by byte (a 20,000 x 20,000 image that is a few hundred bytes long);
the pixels are never allocated.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

SIZE = (256, 256)
BOMB_SIDE = 20_000


@dataclass(frozen=True)
class Case:
    """One bad sample (or file) and what its error must say."""

    key: str            # sample key, e.g. "LC/train/good/zero byte"
    path: Path          # the file the message must name
    problem: str        # a piece of the problem text (case-insensitive)
    stage: str = "load"  # where it fails: "load" (level images), "mask", or "roi" (preprocessing)


@dataclass
class Corpus:
    root: Path
    good: list[str] = field(default_factory=list)        # sample keys that must be processed
    bad: list[Case] = field(default_factory=list)        # samples that must be skipped, and why
    layout: list[Case] = field(default_factory=list)     # scan problems (key may be "")
    same_as: dict[str, str] = field(default_factory=dict)  # key -> key whose pixels it must equal


# --- encoders -----------------------------------------------------------------------------------

def encode(img: np.ndarray, ext: str) -> bytes:
    ok, buf = cv2.imencode(ext, img)
    assert ok, ext
    return buf.tobytes()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(w: int = BOMB_SIDE, h: int = BOMB_SIDE) -> bytes:
    """A valid-looking 8-bit grey PNG header of w x h with one tiny compressed row: ~60 bytes."""
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr)
            + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + _png_chunk(b"IEND", b""))


def bomb_bmp(w: int = BOMB_SIDE, h: int = BOMB_SIDE) -> bytes:
    """A BITMAPINFOHEADER for w x h, 8 bits per pixel, with no pixel data behind it."""
    dib = struct.pack("<IiiHHIIiiII", 40, w, h, 1, 8, 0, 0, 2835, 2835, 0, 0)
    file_header = b"BM" + struct.pack("<IHHI", 14 + len(dib), 0, 0, 14 + len(dib))
    return file_header + dib


def bomb_jpeg(w: int = BOMB_SIDE, h: int = BOMB_SIDE) -> bytes:
    """SOI, a baseline SOF0 frame header of w x h (1 component), EOI."""
    sof = struct.pack(">BHHB", 8, h, w, 1) + bytes([1, 0x11, 0])
    return b"\xff\xd8" + b"\xff\xc0" + struct.pack(">H", len(sof) + 2) + sof + b"\xff\xd9"


def bomb_tiff(w: int = BOMB_SIDE, h: int = BOMB_SIDE) -> bytes:
    """A little-endian TIFF whose first directory says w x h (LONG), 8-bit grey."""
    entries = [(256, 4, 1, w), (257, 4, 1, h), (258, 3, 1, 8), (262, 3, 1, 1)]
    ifd = struct.pack("<H", len(entries))
    for tag, typ, count, value in entries:
        ifd += struct.pack("<HHII", tag, typ, count, value)
    ifd += struct.pack("<I", 0)
    return b"II*\x00" + struct.pack("<I", 8) + ifd


BOMBS = {".png": bomb_png, ".bmp": bomb_bmp, ".jpg": bomb_jpeg, ".tif": bomb_tiff}


def truncate(data: bytes, keep: float = 0.5) -> bytes:
    return data[: max(32, int(len(data) * keep))]


def flip_bytes(data: bytes, at: float = 0.5, n: int = 16) -> bytes:
    """``data`` with ``n`` bytes inverted in the middle: same length, corrupt content."""
    out = bytearray(data)
    i = int(len(out) * at)
    out[i:i + n] = bytes(b ^ 0xFF for b in out[i:i + n])
    return bytes(out)


# --- layout -------------------------------------------------------------------------------------

def _render(cls: str, seed: int, defective: bool = False):
    from core.synth import render_sample

    return render_sample(cls, seed, size=SIZE, defective=defective)


def _write(folder: Path, sid: str, levels, ext: str = ".png", level_bytes=None) -> list[Path]:
    """Write a sample's three levels; ``level_bytes`` {level: bytes} overrides single files."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, img in enumerate(levels):
        p = folder / f"{sid}_{i}{ext}"
        data = (level_bytes or {}).get(i)
        p.write_bytes(data if data is not None else encode(img, ext))
        paths.append(p)
    return paths


def build_corpus(root: Path) -> Corpus:
    """Write the corpus under ``root`` (LC and OD classes) and return what must come of it."""
    root = Path(root)
    c = Corpus(root)
    lc_train = root / "LC" / "train" / "good"
    lc_test = root / "LC" / "test" / "good"
    lc_dent = root / "LC" / "test" / "dent"
    lc_gt = root / "LC" / "ground_truth" / "dent"
    od_train = root / "OD" / "train" / "good"

    def key(folder: Path, sid: str) -> str:
        return "/".join(folder.relative_to(root).parts + (sid,))

    def good(folder: Path, sid: str, levels, ext: str = ".png") -> list[Path]:
        paths = _write(folder, sid, levels, ext)
        c.good.append(key(folder, sid))
        return paths

    def bad(folder: Path, sid: str, levels, which: Path | int, problem: str, ext: str = ".png",
            level_bytes=None, stage: str = "load") -> None:
        paths = _write(folder, sid, levels, ext, level_bytes)
        path = paths[which] if isinstance(which, int) else which
        c.bad.append(Case(key(folder, sid), path, problem, stage))

    # Ordinary samples the statistics are fitted on (and that must survive their neighbours).
    lc = [_render("LC", s).levels for s in (11, 12, 13)]
    for i, lv in enumerate(lc):
        good(lc_train, f"{i + 1:03d}", lv)
    for i, s in enumerate((21, 22)):
        good(od_train, f"{i + 1:03d}", _render("OD", s).levels)

    base = lc[0]
    # Awkward but valid: must load with the same pixels as the plain 8-bit PNG sample 001.
    good(lc_train, "png16", [lv.astype(np.uint16) * 257 for lv in base])
    good(lc_train, "tiff16", [lv.astype(np.uint16) * 257 for lv in base], ".tif")
    good(lc_train, "bmp colour", [cv2.cvtColor(lv, cv2.COLOR_GRAY2BGR) for lv in base], ".bmp")
    for sid in ("png16", "tiff16", "bmp colour"):
        c.same_as[key(lc_train, sid)] = key(lc_train, "001")
    for sid in ("with space 04", "ünïcødé 漢字 05", "quote's \"q\" 06"):
        good(lc_test, sid, lc[1])

    # Unreadable files.
    bad(lc_train, "zero byte", base, 1, "file is empty (0 bytes)", level_bytes={1: b""})
    bad(lc_train, "trunc png", base, 0, "truncated",
        level_bytes={0: truncate(encode(base[0], ".png"))})
    bad(lc_train, "trunc jpeg", base, 0, "truncated", ".jpg",
        level_bytes={0: truncate(encode(base[0], ".jpg"))})
    bad(lc_train, "trunc tiff", base, 0, "truncated", ".tif",
        level_bytes={0: truncate(encode(base[0], ".tif"))})
    bad(lc_train, "trunc bmp", base, 0, "truncated", ".bmp",
        level_bytes={0: truncate(encode(base[0], ".bmp"))})
    bad(lc_test, "bit flips", base, 1, "truncated or corrupt",
        level_bytes={1: flip_bytes(encode(base[1], ".png"))})
    bad(lc_test, "text", base, 2, "not an image (unrecognised file header)",
        level_bytes={2: b"this is a text file, not a picture\n"})
    for ext, make in BOMBS.items():
        bad(lc_test, f"bomb {ext[1:]}", base, 0, "above the limit of", ext,
            level_bytes={0: make()})

    # Readable but unusable.
    tiny = [np.full((1, 1), 128, np.uint8)] * 3
    bad(lc_train, "one pixel", tiny, 0, "ROI not found", stage="roi")
    bad(lc_train, "all white", [np.full(SIZE, 255, np.uint8)] * 3, 0, "blank", stage="roi")
    bad(lc_train, "all black", [np.zeros(SIZE, np.uint8)] * 3, 0, "blank", stage="roi")
    narrow = [base[0], base[1][:, :200], base[2]]
    bad(lc_test, "sizes differ", narrow, 1, "level 1 is 200x256 pixels but level 0 is 256x256")
    paths = _write(lc_test, "missing level", base[:2])
    c.bad.append(Case(key(lc_test, "missing level"), paths[0], "has no level 2 image"))
    c.layout.append(Case(key(lc_test, "missing level"), paths[0], "has no level 2 image"))

    # Duplicates: one sample and level under two extensions (the PNG wins, the BMP is reported).
    good(lc_test, "dup", base)
    (lc_test / "dup_0.bmp").write_bytes(encode(base[0], ".bmp"))
    c.layout.append(Case(key(lc_test, "dup"), lc_test / "dup_0.bmp", "duplicate of dup_0.png"))

    # Defect samples and their masks.
    dent = _render("LC", 31, defective=True)
    good(lc_dent, "dent ok", dent.levels)
    lc_gt.mkdir(parents=True, exist_ok=True)
    (lc_gt / "dent ok_mask.png").write_bytes(encode(dent.mask.astype(np.uint8) * 255, ".png"))
    bad(lc_dent, "dent small mask", dent.levels, lc_gt / "dent small mask_mask.png",
        "mask is 128x128 pixels but its image is 256x256", stage="mask")
    (lc_gt / "dent small mask_mask.png").write_bytes(encode(np.zeros((128, 128), np.uint8), ".png"))
    bad(lc_dent, "dent bomb mask", dent.levels, lc_gt / "dent bomb mask_mask.png", "above the limit of",
        stage="mask")
    (lc_gt / "dent bomb mask_mask.png").write_bytes(bomb_png())
    bad(lc_dent, "dent no mask", dent.levels, lc_gt / "dent no mask_mask.png", "has no mask",
        stage="mask")
    c.layout.append(Case(key(lc_dent, "dent no mask"), lc_gt / "dent no mask_mask.png",
                         "defect sample has no mask"))
    # The same defect id in train and test: its mask is ambiguous and not used.
    lc_train_dent = root / "LC" / "train" / "dent"
    _write(lc_train_dent, "twin", dent.levels)
    bad(lc_dent, "twin", dent.levels, lc_gt / "twin_mask.png", "mask is ambiguous", stage="mask")
    c.bad.append(Case(key(lc_train_dent, "twin"), lc_gt / "twin_mask.png", "mask is ambiguous",
                      "mask"))
    (lc_gt / "twin_mask.png").write_bytes(encode(dent.mask.astype(np.uint8) * 255, ".png"))
    c.layout.append(Case(key(lc_train_dent, "twin"), lc_train_dent / "twin_0.png", "mask is ambiguous"))
    c.layout.append(Case(key(lc_dent, "twin"), lc_dent / "twin_0.png", "mask is ambiguous"))

    # Stray files, and a folder named like an image.
    (lc_train / "notes.txt").write_text("not an image")
    c.layout.append(Case("", lc_train / "notes.txt", "unsupported file type '.txt'"))
    (lc_train / "folder_0.png").mkdir()
    c.layout.append(Case("", lc_train / "folder_0.png", "unexpected sub-folder"))
    return c

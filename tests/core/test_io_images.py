from __future__ import annotations

import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from core.errors import InputError
from core.io import images
from core.io.images import image_size, read_grey, write_png

H, W = 48, 64


def _gradient_grey(dtype=np.uint8) -> np.ndarray:
    top = np.iinfo(dtype).max
    yy, xx = np.mgrid[0:H, 0:W]
    return ((xx + yy) / (W + H - 2) * top).round().astype(dtype)


def _colour(dtype=np.uint8) -> np.ndarray:
    """BGR image with distinct smooth channels."""
    top = np.iinfo(dtype).max
    yy, xx = np.mgrid[0:H, 0:W]
    b = xx / (W - 1)
    g = yy / (H - 1)
    r = 1.0 - (xx + yy) / (W + H - 2)
    return (np.stack([b, g, r], axis=2) * top).round().astype(dtype)


def _save(path: Path, arr: np.ndarray, ext: str | None = None) -> Path:
    ok, buf = cv2.imencode(ext or path.suffix, arr)
    assert ok
    buf.tofile(str(path))  # tofile: works with any path characters
    return path


def _luma(bgr: np.ndarray) -> np.ndarray:
    b, g, r = (bgr[..., i].astype(np.float64) for i in range(3))
    return 0.299 * r + 0.587 * g + 0.114 * b


@pytest.mark.parametrize("ext", [".png", ".bmp", ".tif", ".tiff"])
def test_lossless_8bit_grey_reads_exactly(tmp_path, ext):
    g = _gradient_grey()
    out = read_grey(_save(tmp_path / f"a{ext}", g))
    assert out.dtype == np.uint8 and out.shape == (H, W)
    np.testing.assert_array_equal(out, g)


@pytest.mark.parametrize("ext", [".png", ".bmp", ".tif"])
def test_8bit_colour_becomes_bt601_luma(tmp_path, ext):
    c = _colour()
    out = read_grey(_save(tmp_path / f"c{ext}", c))
    assert out.shape == (H, W) and out.dtype == np.uint8
    assert np.abs(out.astype(float) - _luma(c)).max() <= 1.0


def test_alpha_is_dropped(tmp_path):
    c = _colour()
    alpha = np.zeros((H, W, 1), np.uint8)  # fully transparent: must not change the grey values
    out = read_grey(_save(tmp_path / "rgba.png", np.concatenate([c, alpha], axis=2)))
    assert np.abs(out.astype(float) - _luma(c)).max() <= 1.0


@pytest.mark.parametrize("ext", [".png", ".tif"])
def test_16bit_grey_scales_full_range_rounded(tmp_path, ext):
    g16 = np.array([[0, 128, 129, 257, 385, 386, 65535, 65534, 32767, 32896]], np.uint16)
    out = read_grey(_save(tmp_path / f"g16{ext}", g16))
    expected = np.floor(g16.astype(np.float64) * 255 / 65535 + 0.5)
    np.testing.assert_array_equal(out, expected.astype(np.uint8))
    assert out.tolist() == [[0, 0, 1, 1, 1, 2, 255, 255, 127, 128]]


@pytest.mark.parametrize("ext", [".png", ".tif"])
def test_16bit_colour_is_luma_then_scaled(tmp_path, ext):
    c16 = _colour(np.uint16)
    out = read_grey(_save(tmp_path / f"c16{ext}", c16))
    expected = _luma(c16) * 255 / 65535
    assert out.dtype == np.uint8
    assert np.abs(out - expected).max() <= 1.0


@pytest.mark.parametrize("ext", [".jpg", ".jpeg"])
def test_jpeg_grey_and_colour_close_to_source(tmp_path, ext):
    g = _gradient_grey()
    out = read_grey(_save(tmp_path / f"g{ext}", g))
    assert out.shape == (H, W) and np.abs(out.astype(int) - g).mean() < 2.0
    c = _colour()
    out = read_grey(_save(tmp_path / f"c{ext}", c))
    assert out.shape == (H, W) and np.abs(out - _luma(c)).mean() < 3.0


@pytest.mark.parametrize("ext", [".png", ".bmp", ".tif", ".jpg"])
def test_image_size_from_header(tmp_path, ext):
    p = _save(tmp_path / f"s{ext}", np.zeros((37, 91), np.uint8))
    assert image_size(p) == (91, 37)


def _tiff_header_only(order: str, big: bool, w: int, h: int) -> bytes:
    e = "<" if order == "II" else ">"
    if big:
        head = order.encode() + struct.pack(e + "HHHQ", 43, 8, 0, 16)
        ifd = struct.pack(e + "Q", 2)
        ifd += struct.pack(e + "HHQ", 256, 3, 1) + struct.pack(e + "H", w) + b"\0" * 6
        ifd += struct.pack(e + "HHQ", 257, 4, 1) + struct.pack(e + "I", h) + b"\0" * 4
        return head + ifd
    head = order.encode() + struct.pack(e + "HI", 42, 8)
    ifd = struct.pack(e + "H", 2)
    ifd += struct.pack(e + "HHI", 256, 3, 1) + struct.pack(e + "H", w) + b"\0" * 2
    ifd += struct.pack(e + "HHI", 257, 4, 1) + struct.pack(e + "I", h)
    return head + ifd


@pytest.mark.parametrize("order,big", [("II", False), ("MM", False), ("II", True), ("MM", True)])
def test_image_size_tiff_byte_orders_and_bigtiff(tmp_path, order, big):
    p = tmp_path / "h.tif"
    p.write_bytes(_tiff_header_only(order, big, 640, 70000))
    assert image_size(p) == (640, 70000)


def test_odd_file_names_read_and_write(tmp_path):
    g = _gradient_grey()
    for name in ["with space.png", "größe_測試.png", "quote's \"q\".png", "semi;colon,comma.bmp"]:
        p = tmp_path / "dír ü" / name
        if p.suffix == ".png":
            write_png(p, g)  # creates the folder
        else:
            _save(p, g)
        np.testing.assert_array_equal(read_grey(p), g)
        assert image_size(p) == (W, H)


def test_write_png_rgb_order_and_16bit(tmp_path):
    rgb = np.zeros((4, 5, 3), np.uint8)
    rgb[..., 0] = 200  # red
    write_png(tmp_path / "rgb.png", rgb)
    bgr = cv2.imdecode(np.fromfile(tmp_path / "rgb.png", np.uint8), cv2.IMREAD_UNCHANGED)
    assert bgr[0, 0].tolist() == [0, 0, 200]
    g16 = np.arange(20, dtype=np.uint16).reshape(4, 5) * 3000
    write_png(tmp_path / "g16.png", g16)
    back = cv2.imdecode(np.fromfile(tmp_path / "g16.png", np.uint8), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(back, g16)
    with pytest.raises(ValueError):
        write_png(tmp_path / "b.png", np.zeros((3, 3), bool))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g16.png", "rgb.png"]  # no temp files left


# --- bad inputs: InputError naming the file -----------------------------------------------------

def _assert_input_error(path: Path, *words: str, fn=read_grey) -> InputError:
    with pytest.raises(InputError) as info:
        fn(path)
    err = info.value
    assert err.path == path
    assert str(path) in str(err)
    for w in words:
        assert w in str(err).lower(), str(err)
    return err


def test_missing_file(tmp_path):
    _assert_input_error(tmp_path / "nope.png", "not found")
    _assert_input_error(tmp_path / "nope.png", "not found", fn=image_size)


def test_folder_instead_of_file(tmp_path):
    d = tmp_path / "x.png"
    d.mkdir()
    _assert_input_error(d, "folder")


def test_zero_byte_file(tmp_path):
    p = tmp_path / "empty.png"
    p.write_bytes(b"")
    _assert_input_error(p, "empty")


def test_text_named_png(tmp_path):
    p = tmp_path / "notes.png"
    p.write_text("this is not an image\n" * 10)
    _assert_input_error(p, "not an image")


@pytest.mark.parametrize("head,name", [(b"GIF89a\x01\x00\x01\x00", "GIF"),
                                       (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "WebP")])
def test_other_image_formats_named(tmp_path, head, name):
    p = tmp_path / "x.png"
    p.write_bytes(head + bytes(32))
    _assert_input_error(p, f"{name.lower()} images are not supported")


@pytest.mark.parametrize("ext", [".png", ".jpg", ".bmp", ".tif"])
@pytest.mark.parametrize("keep", [0.5, 0.97])
def test_truncated_files(tmp_path, ext, keep):
    rng = np.random.default_rng(1)
    good = _save(tmp_path / f"good{ext}", rng.integers(0, 256, (H, W, 3), dtype=np.uint8))
    data = good.read_bytes()
    p = tmp_path / f"cut{ext}"
    p.write_bytes(data[: int(len(data) * keep)])
    _assert_input_error(p, "truncated")


def test_truncated_header(tmp_path):
    p = tmp_path / "cut.png"
    p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    _assert_input_error(p, "header")
    _assert_input_error(p, "header", fn=image_size)


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(
        ">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)


def test_huge_header_refused_before_decoding(tmp_path, monkeypatch):
    ihdr = struct.pack(">IIBBBBB", 50_000, 40_000, 8, 0, 0, 0, 0)  # 2 gigapixels, 8-bit grey
    p = tmp_path / "bomb.png"
    p.write_bytes(b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr)
                  + _png_chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + _png_chunk(b"IEND", b""))

    def no_decode(*a, **k):
        raise AssertionError("decoded a file that the header check should have refused")

    monkeypatch.setattr(images.cv2, "imdecode", no_decode)
    _assert_input_error(p, "megapixels", "50000x40000")
    _assert_input_error(p, "megapixels", fn=image_size)


def test_max_pixels_is_the_limit(tmp_path, monkeypatch):
    p = _save(tmp_path / "a.png", np.zeros((10, 10), np.uint8))
    monkeypatch.setattr(images, "MAX_PIXELS", 100)
    assert read_grey(p).shape == (10, 10)
    monkeypatch.setattr(images, "MAX_PIXELS", 99)
    _assert_input_error(p, "megapixels")


def test_float_tiff_is_unsupported_depth(tmp_path):
    p = _save(tmp_path / "f.tif", np.random.default_rng(0).random((8, 8), dtype=np.float32))
    _assert_input_error(p, "unsupported", "32-bit floating-point")


def test_corrupt_png_data(tmp_path):
    good = _save(tmp_path / "g.png", np.random.default_rng(2).integers(0, 256, (H, W), np.uint8))
    data = bytearray(good.read_bytes())
    mid = len(data) // 2
    data[mid: mid + 64] = bytes(64)
    p = tmp_path / "bad.png"
    p.write_bytes(bytes(data))
    _assert_input_error(p, "corrupt")


def test_corrupt_png_is_caught_before_libpng_prints_to_stderr(tmp_path, capfd):
    good = _save(tmp_path / "g.png", np.random.default_rng(3).integers(0, 256, (H, W), np.uint8))
    data = bytearray(good.read_bytes())
    data[60] ^= 0xFF                                  # one flipped bit pattern inside IDAT
    p = tmp_path / "flipped.png"
    p.write_bytes(bytes(data))
    capfd.readouterr()
    _assert_input_error(p, "idat", "checksum", "corrupt")
    assert "libpng" not in capfd.readouterr().err     # our message only, no C library chatter


def test_png_with_a_bad_ancillary_crc_still_reads(tmp_path):
    img = np.random.default_rng(4).integers(0, 256, (H, W), np.uint8)
    data = _save(tmp_path / "g.png", img).read_bytes()
    text = _png_chunk(b"tEXt", b"Comment\x00hello")
    text = text[:-4] + bytes(4)                       # wrong CRC on an ancillary chunk: libpng warns only
    ihdr_end = 8 + 8 + 13 + 4
    p = tmp_path / "text.png"
    p.write_bytes(data[:ihdr_end] + text + data[ihdr_end:])
    assert np.array_equal(read_grey(p), img)

"""Reading inspection images as 8-bit grey arrays, and writing lossless PNGs.

Every level image becomes a ``uint8`` (H, W) array, whatever the file holds. The conversion rule:

- 8-bit grey: as is.
- Colour (BGR or BGRA): luma with OpenCV's BT.601 weights, ``cv2.COLOR_BGR2GRAY``
  (``0.299 R + 0.587 G + 0.114 B``, rounded); the alpha channel is dropped. Grey + alpha: the grey.
- 16-bit (grey or colour): colour to luma first, at 16 bits, then to 8 bits by ``v * 255 / 65535``
  rounded to the nearest integer (full-range linear; no windowing, no auto-contrast).
- Anything else (32-bit integer or floating-point samples) is refused with an :class:`InputError`.

Pixels are taken as stored: EXIF orientation tags are not applied, so masks drawn in pixel
coordinates stay aligned with the image.

Files are read with ``cv2.imdecode(np.fromfile(path))`` so that non-ASCII paths work on every OS.
Before decoding, the header is parsed here (PNG, BMP, JPEG, TIFF/BigTIFF) to refuse images above
:data:`MAX_PIXELS` (a decompression-bomb guard) and to give :func:`image_size` without decoding;
a PNG's chunk checksums and a JPEG's end marker are checked too, so a damaged file gets our message
naming it rather than the decoder's own line on stderr.
"""

from __future__ import annotations

import contextlib
import io
import os
import struct
import zlib
from pathlib import Path
from typing import BinaryIO

import cv2
import numpy as np

from core.errors import InputError
from core.io.atomic import atomic_write_bytes

SUPPORTED_EXTENSIONS: tuple[str, ...] = (".png", ".bmp", ".tif", ".tiff", ".jpg", ".jpeg")

# Decompression-bomb guard: a 100-megapixel 8-bit grey image is 100 MB decoded, 16-bit colour 600 MB.
MAX_PIXELS: int = 100_000_000

_HINT_FORMATS = "Supported formats: PNG, BMP, TIFF, JPEG (8- or 16-bit, grey or colour)"


class _HeaderError(Exception):
    """The file header is not one of the formats we read (internal)."""


def _read_exact(f: BinaryIO, n: int) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise _HeaderError("file ends inside the header (truncated)")
    return data


def _png_size(f: BinaryIO) -> tuple[int, int]:
    f.seek(8)
    length, kind = struct.unpack(">I4s", _read_exact(f, 8))
    if kind != b"IHDR" or length != 13:
        raise _HeaderError("PNG without a valid IHDR header chunk")
    w, h = struct.unpack(">II", _read_exact(f, 8))
    return w, h


def _bmp_size(f: BinaryIO) -> tuple[int, int]:
    f.seek(14)
    (dib_size,) = struct.unpack("<I", _read_exact(f, 4))
    if dib_size == 12:  # BITMAPCOREHEADER: 16-bit unsigned sizes
        w, h = struct.unpack("<HH", _read_exact(f, 4))
    elif dib_size >= 40:
        w, h = struct.unpack("<ii", _read_exact(f, 8))
    else:
        raise _HeaderError(f"BMP with an unknown header size ({dib_size} bytes)")
    return abs(w), abs(h)  # a negative height means rows stored top-down


# JPEG start-of-frame markers (C0-CF) except DHT (C4), JPG (C8) and DAC (CC).
_JPEG_SOF = set(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg_size(f: BinaryIO) -> tuple[int, int]:
    f.seek(2)
    while True:
        byte = _read_exact(f, 1)
        if byte != b"\xff":
            raise _HeaderError("JPEG with a corrupt marker sequence")
        marker = _read_exact(f, 1)[0]
        while marker == 0xFF:  # fill bytes
            marker = _read_exact(f, 1)[0]
        if marker in (0x01, *range(0xD0, 0xD8)):  # standalone markers carry no length
            continue
        if marker in (0xD9, 0xDA):
            raise _HeaderError("JPEG without a frame header before the image data")
        (length,) = struct.unpack(">H", _read_exact(f, 2))
        if length < 2:
            raise _HeaderError("JPEG with a corrupt segment length")
        if marker in _JPEG_SOF:
            _precision, h, w = struct.unpack(">BHH", _read_exact(f, 5))
            return w, h
        f.seek(length - 2, io.SEEK_CUR)


def _tiff_size(f: BinaryIO) -> tuple[int, int]:
    f.seek(0)
    head = _read_exact(f, 4)
    end = "<" if head[:2] == b"II" else ">"
    (version,) = struct.unpack(end + "H", head[2:])
    if version == 42:
        (ifd,) = struct.unpack(end + "I", _read_exact(f, 4))
        count_fmt, entry_fmt, entry_size = "H", "HHI4s", 12
    elif version == 43:  # BigTIFF
        _bytesize, _zero, ifd = struct.unpack(end + "HHQ", _read_exact(f, 12))
        count_fmt, entry_fmt, entry_size = "Q", "HHQ8s", 20
    else:
        raise _HeaderError("TIFF with an unknown version number")
    f.seek(ifd)
    (n,) = struct.unpack(end + count_fmt, _read_exact(f, struct.calcsize(count_fmt)))
    if n > 4096:
        raise _HeaderError("TIFF with a corrupt directory")
    found: dict[int, int] = {}
    for _ in range(n):
        tag, typ, _count, value = struct.unpack(end + entry_fmt, _read_exact(f, entry_size))
        if tag in (256, 257):  # ImageWidth, ImageLength: SHORT or LONG, stored inline
            fmt = {3: "H", 4: "I", 16: "Q"}.get(typ)
            if fmt is None:
                raise _HeaderError("TIFF with an invalid image size field")
            found[tag] = struct.unpack(end + fmt, value[: struct.calcsize(fmt)])[0]
    if 256 not in found or 257 not in found:
        raise _HeaderError("TIFF without image width/height")
    return found[256], found[257]


def _sniff(head: bytes) -> str | None:
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith(b"BM"):
        return "BMP"
    if head.startswith(b"\xff\xd8"):
        return "JPEG"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF"
    return None


def _sniff_unsupported(head: bytes) -> str | None:
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    if head.startswith(b"\x00\x00\x00\x0cjP  ") or head.startswith(b"\xff\x4f\xff\x51"):
        return "JPEG 2000"
    return None


_SIZE_READERS = {"PNG": _png_size, "BMP": _bmp_size, "JPEG": _jpeg_size, "TIFF": _tiff_size}


def _header(f: BinaryIO, path: Path) -> tuple[str, int, int]:
    """(format, W, H) from the header; InputError for anything we cannot read."""
    head = f.read(16)
    if not head:
        raise InputError(path, "file is empty (0 bytes)")
    fmt = _sniff(head)
    if fmt is None:
        other = _sniff_unsupported(head)
        if other:
            raise InputError(path, f"{other} images are not supported", _HINT_FORMATS)
        raise InputError(path, "not an image (unrecognised file header)", _HINT_FORMATS)
    try:
        w, h = _SIZE_READERS[fmt](f)
    except (_HeaderError, struct.error) as exc:
        raise InputError(path, f"corrupt {fmt} header ({exc})", "Re-export the image") from None
    if w <= 0 or h <= 0:
        raise InputError(path, f"corrupt {fmt} header (image size {w}x{h})", "Re-export the image")
    if w * h > MAX_PIXELS:
        raise InputError(
            path, f"image is {w}x{h} pixels ({w * h / 1e6:.0f} megapixels), above the limit of "
            f"{MAX_PIXELS / 1e6:.0f} megapixels", "Check the file; inspection images are far smaller")
    return fmt, w, h


def _open_checked(path: Path) -> BinaryIO:
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    except IsADirectoryError:
        raise InputError(path, "is a folder, not an image file") from None
    except PermissionError:
        raise InputError(path, "cannot read the file (permission denied)") from None
    except OSError as exc:
        raise InputError(path, f"cannot read the file ({exc.strerror or exc})") from None


def image_size(path: str | Path) -> tuple[int, int]:
    """(W, H) of an image file, from its header, without decoding the pixels.

    Raises :class:`InputError` for a missing, empty, unrecognised or oversized file.
    """
    path = Path(path)
    with _open_checked(path) as f:
        _fmt, w, h = _header(f, path)
    return w, h


def _jpeg_is_complete(data: bytes) -> bool:
    # The last end-of-image marker must follow the last start-of-scan: a file cut inside the
    # entropy-coded data has neither after it (0xFF bytes there are stuffed as FF 00).
    return data.rfind(b"\xff\xd9") > data.rfind(b"\xff\xda") >= 0


def _png_problem(data: np.ndarray) -> str | None:
    """What is wrong with a PNG's chunk structure, or None.

    Checked here, before libpng sees the bytes, because libpng prints its own complaint to the
    process's stderr (``libpng error: IDAT: incorrect data check``) on top of our message. Critical
    chunks (upper-case first letter) must pass their CRC; ancillary ones may fail it, as libpng
    only warns about those.
    """
    buf = memoryview(data)
    pos, n = 8, len(buf)
    while pos + 8 <= n:
        length, kind = struct.unpack_from(">I4s", buf, pos)
        end = pos + 8 + length + 4
        if end > n:
            return f"it ends inside its {kind.decode('latin-1')} chunk at byte {pos}"
        (crc,) = struct.unpack_from(">I", buf, end - 4)
        if kind[:1].isupper() and zlib.crc32(buf[pos + 4:end - 4]) != crc:
            return f"its {kind.decode('latin-1')} chunk at byte {pos} fails its checksum"
        if kind == b"IEND":
            return None
        pos = end
    return "it ends before its IEND chunk"


def _to_grey8(img: np.ndarray, path: Path) -> np.ndarray:
    if img.dtype not in (np.uint8, np.uint16):
        bits = img.dtype.itemsize * 8
        kind = "floating-point" if img.dtype.kind == "f" else "integer"
        raise InputError(path, f"unsupported pixel format ({bits}-bit {kind} samples)",
                         "Use 8- or 16-bit integer grey or colour images")
    if img.ndim == 3:
        channels = img.shape[2]
        if channels == 1:
            img = img[:, :, 0]
        elif channels == 2:  # grey + alpha
            img = img[:, :, 0]
        elif channels == 3:
            img = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
        elif channels == 4:
            img = cv2.cvtColor(img, cv2.COLOR_BGRA2GRAY)
        else:
            raise InputError(path, f"unsupported pixel format ({channels} channels)",
                             "Use grey, RGB or RGBA images")
    elif img.ndim != 2:
        raise InputError(path, f"unsupported image layout (shape {img.shape})")
    if img.dtype == np.uint16:
        # v * 255 / 65535 rounded; never a tie, since v * 510 is even and 65535 is odd.
        img = ((img.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    return np.ascontiguousarray(img)


def read_grey(path: str | Path) -> np.ndarray:
    """Read an image file as ``uint8`` (H, W) grey, by the rule in the module docstring.

    Raises :class:`InputError` naming the file when it is missing, empty, not an image, corrupt or
    truncated, larger than :data:`MAX_PIXELS`, or of an unsupported bit depth.
    """
    path = Path(path)
    with _open_checked(path) as f:
        fmt, w, h = _header(f, path)
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise InputError(path, f"cannot read the file ({exc})") from None
    if fmt == "JPEG" and not _jpeg_is_complete(data.tobytes()):
        raise InputError(path, "JPEG file is truncated (no end-of-image marker after the data)",
                         "Copy the file again from its source")
    if fmt == "PNG" and (problem := _png_problem(data)):
        raise InputError(path, f"cannot decode the PNG image: the file is truncated or corrupt ({problem})",
                         "Copy the file again from its source, or re-export it")
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if img is None:
        raise InputError(path, f"cannot decode the {fmt} image: the file is truncated or corrupt",
                         "Copy the file again from its source, or re-export it")
    if img.shape[:2] != (h, w):
        raise InputError(path, f"decoded size {img.shape[1]}x{img.shape[0]} differs from the "
                         f"{fmt} header's {w}x{h}: the file is corrupt")
    return _to_grey8(img, path)


def write_png(path: str | Path, array: np.ndarray) -> None:
    """Save ``array`` as a lossless PNG, atomically.

    ``uint8`` or ``uint16``; (H, W) grey, (H, W, 3) RGB or (H, W, 4) RGBA (channel order as in the
    rest of this project: RGB, converted to OpenCV's BGR here). ``bool`` arrays are refused: masks
    go through :func:`core.io.masks.write_mask`.
    """
    arr = np.asarray(array)
    if arr.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"write_png: expected uint8 or uint16 pixels, got {arr.dtype}")
    if arr.ndim == 3 and arr.shape[2] == 3:
        arr = cv2.cvtColor(arr, cv2.COLOR_RGB2BGR)
    elif arr.ndim == 3 and arr.shape[2] == 4:
        arr = cv2.cvtColor(arr, cv2.COLOR_RGBA2BGRA)
    elif arr.ndim != 2:
        raise ValueError(f"write_png: expected (H, W), (H, W, 3) or (H, W, 4), got {arr.shape}")
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(arr))
    if not ok:  # pragma: no cover - OpenCV refuses only shapes/dtypes checked above
        raise ValueError(f"write_png: OpenCV could not encode an array of shape {arr.shape}")
    atomic_write_bytes(path, buf.tobytes())


def is_supported(path: str | Path) -> bool:
    """True when the file name has one of :data:`SUPPORTED_EXTENSIONS` (any letter case)."""
    return os.path.splitext(str(path))[1].lower() in SUPPORTED_EXTENSIONS


@contextlib.contextmanager
def quiet_opencv():
    """Silence OpenCV's own log while decoding a batch.

    Unreadable files are reported by us, with their paths; OpenCV's log lines would repeat them
    without the path.
    """
    import cv2

    logging = getattr(getattr(cv2, "utils", None), "logging", None)
    if logging is None:  # pragma: no cover - very old OpenCV
        yield
        return
    old = logging.getLogLevel()
    logging.setLogLevel(logging.LOG_LEVEL_SILENT)
    try:
        yield
    finally:
        logging.setLogLevel(old)

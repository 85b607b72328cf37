"""Folders of real photographs made by a test: crops of scikit-learn's two bundled photos
(a temple in China, a flower), saved as JPEG, PNG and WebP at mixed sizes; and tiny
files that no job can use as images (`bad_images`, `truncated_jpeg`)."""

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.datasets import load_sample_images

FORMATS = ("jpg", "png", "webp")


def photo_folder(
    root: Path, per_class: int = 10, flat: bool = False, sizes=((96, 80), (120, 90))
) -> Path:
    """`root/<china|flower>/NNN.<ext>` (or all in `root` when `flat`): crops at shifting
    places of each photo, of the given sizes, in every format."""
    rng = np.random.default_rng(0)
    for name, image in zip(("china", "flower"), load_sample_images().images, strict=True):
        folder = root if flat else root / name
        folder.mkdir(parents=True, exist_ok=True)
        height, width, _ = image.shape
        for k in range(per_class):
            w, h = sizes[k % len(sizes)]
            top, left = rng.integers(0, height - h), rng.integers(0, width - w)
            crop = Image.fromarray(image[top : top + h, left : left + w])
            crop.save(folder / f"{name}-{k:03d}.{FORMATS[k % len(FORMATS)]}")
    return root


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def huge_png(width: int = 20000, height: int = 20000) -> bytes:
    """A PNG whose header declares `width` x `height` pixels (its pixels cut short)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grey
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IEND", b"")


def huge_jpeg(side: int = 65000) -> bytes:
    """A real JPEG whose frame header (SOF0) is made to declare `side` x `side` pixels."""
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(out, "JPEG")
    data = bytearray(out.getvalue())
    at = data.index(b"\xff\xc0") + 5  # marker, length (2), precision (1): then height, width
    data[at : at + 4] = struct.pack(">HH", side, side)
    return bytes(data)


def bad_images(folder: Path) -> list[str]:
    """Files named as images that no job can use, written into `folder`: a PNG declaring
    20000 x 20000 pixels, a JPEG declaring 65000 x 65000, a text file named `.png`.
    Their names."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {"huge.png": huge_png(), "bomb.jpg": huge_jpeg(), "notes.png": b"not a picture\n"}
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return sorted(files)


def truncated_jpeg(path: Path) -> Path:
    """A photo cut off half-way: its header reads, its pixels do not decode."""
    out = io.BytesIO()
    Image.fromarray(load_sample_images().images[0][:256, :256]).save(out, "JPEG")
    path.write_bytes(out.getvalue()[: len(out.getvalue()) // 2])
    return path

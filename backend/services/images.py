"""Server-side thumbnails: a dataset's photo with a neuron's activation map laid on the
region the model saw.

Each photo is read from the dataset once and kept in the run folder
(`thumbnails/<split>/<index>.png`, at most `PHOTO_SIDE` px a side, with the seen region
in the PNG's text), so that a restarted server, or the next neuron that likes the same
image, never opens the dataset again.
"""

import functools
import io
import json
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, PngImagePlugin

from backend.runs.store import Run
from backend.training.config import DataConfig

THUMBNAILS = "thumbnails"
PHOTO_SIDE = 512
_BOX_KEY = "semvec-view-box"
Box = tuple[float, float, float, float]

HEATMAP_LEGEND = (
    "bright: where the neuron fires (relative to its peak in this image); dimmed: where it "
    "does not; orange line: half its peak; grey: outside the region the model saw"
)


@functools.lru_cache(maxsize=4)
def _split(dataset_json: str, split: str):
    from backend.data import load_split

    return load_split(DataConfig.model_validate(json.loads(dataset_json)).spec(), split)


def _from_dataset(dataset: dict, split: str, index: int) -> tuple[np.ndarray, Box]:
    source = _split(json.dumps(dataset, sort_keys=True), split)
    raw = source.raw_image(index)
    return raw, source.view_box(*raw.shape[:2])


def photo(run: Run, split: str, index: int) -> tuple[np.ndarray, Box]:
    """The photo at `index` of the run's `split` (uint8 (H, W) or (H, W, 3), at most
    PHOTO_SIDE a side) and the region of it the model saw (fractions left, top, right,
    bottom), from the run's cache when it is there."""
    path = run.folder / THUMBNAILS / split / f"{int(index)}.png"
    try:
        with Image.open(path) as cached:
            box = tuple(float(v) for v in cached.text[_BOX_KEY].split(","))
            return np.asarray(cached), box
    except (OSError, KeyError, ValueError):
        pass  # not cached yet (or a half-written file): read it from the dataset
    raw, box = _from_dataset(run.meta.dataset, split, index)
    image = Image.fromarray(raw)
    image.thumbnail((PHOTO_SIDE, PHOTO_SIDE))
    _write(path, image, box)
    return np.asarray(image), box


def _write(path: Path, image: Image.Image, box: Box) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text(_BOX_KEY, ",".join(f"{v:.6f}" for v in box))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        image.save(tmp, format="PNG", pnginfo=info)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only run folder still serves images, uncached


def _fit(rgb: np.ndarray, size: int) -> Image.Image:
    """`rgb` scaled so that its longer side is `size`; tiny images (digits, CIFAR) stay
    blocky (their pixels are what the model saw), photos are resampled smoothly."""
    height, width = rgb.shape[:2]
    scale = size / max(height, width)
    shape = (max(1, round(width * scale)), max(1, round(height * scale)))
    resample = Image.NEAREST if max(height, width) <= 64 else Image.LANCZOS
    return Image.fromarray(rgb).resize(shape, resample)


def _heat(heat: torch.Tensor, height: int, width: int) -> np.ndarray:
    """`heat` (h, w) as (height, width) in [0, 1], relative to its own peak."""
    h = heat.float().clamp(min=0)
    peak = float(h.max())
    h = h / peak if peak > 0 else h
    h = F.interpolate(h[None, None], size=(height, width), mode="bilinear", align_corners=False)
    return h[0, 0].clamp(0, 1).numpy()


def _contour(mask: np.ndarray) -> np.ndarray:
    """Pixels of `mask` that touch a pixel outside it (a 1-px outline)."""
    edge = np.zeros_like(mask)
    edge[1:, :] |= mask[1:, :] != mask[:-1, :]
    edge[:, 1:] |= mask[:, 1:] != mask[:, :-1]
    return edge & mask


def overlay_png(
    raw: np.ndarray, heat: torch.Tensor | None, size: int = 128, box: Box = (0, 0, 1, 1)
) -> bytes:
    """PNG of the photo `raw` (uint8 HxW or HxWx3), its longer side `size`, with `heat`
    (h, w) over the region `box` the model saw.

    The map is shown as light, not paint: the photo keeps its colours where the neuron
    fires and dims where it does not, with an outline at half the peak. A translucent
    colour layer (the old overlay) covered early layers' busy maps almost everywhere and
    washed their images out. Outside `box` (what the centre crop cut off) is grey.
    """
    rgb = np.repeat(raw[..., None], 3, axis=2) if raw.ndim == 2 else raw[..., :3]
    base = np.asarray(_fit(rgb.astype(np.uint8), size), dtype=np.float32) / 255
    height, width = base.shape[:2]
    left, top = round(box[0] * width), round(box[1] * height)
    right, bottom = max(left + 1, round(box[2] * width)), max(top + 1, round(box[3] * height))
    out = base.copy()
    seen = np.zeros((height, width), dtype=bool)
    seen[top:bottom, left:right] = True
    if not seen.all():
        grey = base.mean(axis=2, keepdims=True)
        out = np.where(seen[..., None], out, 0.35 + 0.3 * grey)
    if heat is not None:
        h = _heat(heat, bottom - top, right - left)
        region = out[top:bottom, left:right]
        region *= (0.25 + 0.75 * h)[..., None]
        region[_contour(h >= 0.5)] = (1.0, 0.55, 0.0)
    return _png(out)


def _png(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray((rgb.clip(0, 1) * 255).round().astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()

"""Server-side thumbnails: a dataset image with a neuron's activation map laid over it."""

import functools
import io
import json

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from backend.training.config import DataConfig


@functools.lru_cache(maxsize=4)
def _split(dataset_json: str, split: str):
    from backend.data import load_split

    return load_split(DataConfig.model_validate(json.loads(dataset_json)).spec(), split)


def raw_image(dataset: dict, split: str, index: int) -> np.ndarray:
    return _split(json.dumps(dataset, sort_keys=True), split).raw_image(index)


def overlay_png(raw: np.ndarray, heat: torch.Tensor | None, size: int = 128) -> bytes:
    """PNG of `raw` (uint8 HxW or HxWx3) scaled to `size`, with `heat` (h, w) as a warm
    overlay whose opacity follows the activation (relative to its maximum)."""
    rgb = np.repeat(raw[..., None], 3, axis=2) if raw.ndim == 2 else raw[..., :3]
    small = max(rgb.shape[:2]) < size
    base = Image.fromarray(rgb.astype(np.uint8)).resize(
        (size, size), Image.NEAREST if small else Image.BILINEAR
    )
    if heat is not None:
        h = heat.float().clamp(min=0)
        h = h / h.max() if float(h.max()) > 0 else h
        h = F.interpolate(h[None, None], size=(size, size), mode="bilinear", align_corners=False)
        h = h[0, 0].clamp(0, 1).numpy()
        colour = np.stack([np.ones_like(h), 0.25 + 0.75 * h, 0.1 * np.ones_like(h)], axis=2)
        alpha = 0.6 * h[..., None]
        mixed = np.asarray(base, dtype=np.float32) / 255 * (1 - alpha) + colour * alpha
        base = Image.fromarray((mixed * 255).round().astype(np.uint8))
    out = io.BytesIO()
    base.save(out, format="PNG")
    return out.getvalue()

"""Thumbnails: the original photo, the map on the region the model saw, legible."""

import io

import numpy as np
import torch
from PIL import Image
from sklearn.datasets import load_sample_images

from backend.data import DataSpec, load_split
from backend.services.images import overlay_png


def _decode(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.float64) / 255


def _photo() -> np.ndarray:
    return load_sample_images().images[0][100:300, 150:350]  # 200 x 200 of a real photo


def _luma(rgb: np.ndarray) -> np.ndarray:
    return rgb @ np.array([0.299, 0.587, 0.114])


def test_a_busy_early_layer_map_does_not_wash_the_photo_out():
    """An early layer fires almost everywhere; the old colour layer then covered the whole
    photo (its contrast fell to 40 %). Where the map is hot the photo must stay itself,
    and where it is cold it must be clearly darker."""
    photo = _photo()
    rng = np.random.default_rng(0)
    heat = torch.tensor(rng.uniform(0.8, 1.0, (16, 16)), dtype=torch.float32)
    heat[:, :4] = 0.0  # the left quarter is cold
    out = _decode(overlay_png(photo, heat, size=200))
    original = np.asarray(photo, dtype=np.float64) / 255
    hot, cold = (slice(None), slice(70, None)), (slice(None), slice(0, 40))
    kept = _luma(out[hot]).std() / _luma(original[hot]).std()
    assert kept > 0.8, f"the hot region kept only {kept:.0%} of its contrast"
    assert np.abs(out[hot] - original[hot]).mean() < 0.12  # colours stay the photo's
    assert _luma(out[cold]).mean() < 0.5 * _luma(original[cold]).mean()


def test_the_map_covers_the_centre_crop_of_a_wide_photo(tmp_path):
    """A 300 x 150 photo is resized, then centre-cropped to a square: the model saw its
    middle 150 x 150, so the map's right edge lands at x = 225, and the cut-off sides
    are grey."""
    (tmp_path / "wide").mkdir()
    wide = load_sample_images().images[1][100:250, 100:400]
    Image.fromarray(wide).save(tmp_path / "wide" / "a.webp", lossless=True)
    split = load_split(DataSpec("imagefolder", root=str(tmp_path), image_size=32), "all")
    raw = split.raw_image(0)
    box = split.view_box(*raw.shape[:2])
    assert box == (0.25, 0.0, 0.75, 1.0)
    heat = torch.zeros(8, 8)
    heat[:, -1] = 1.0  # only the crop's rightmost column fires
    out = _luma(_decode(overlay_png(raw, heat, size=300, box=box)))
    assert out.shape == (150, 300)  # the whole photo, at its own aspect ratio
    brightest = int(out[:, 150:260].mean(axis=0).argmax()) + 150
    assert 205 <= brightest <= 225
    outside = np.concatenate([out[:, :70], out[:, 230:]], axis=1)
    rgb = _decode(overlay_png(raw, None, size=300, box=box))
    assert np.allclose(rgb[:, :70, 0], rgb[:, :70, 1], atol=0.02)  # grey outside the crop
    assert outside.std() < _luma(np.asarray(wide, dtype=np.float64) / 255).std()


def test_small_images_are_enlarged_sharply():
    digit = (np.arange(64, dtype=np.uint8).reshape(8, 8) * 4).astype(np.uint8)
    out = _decode(overlay_png(digit, None, size=64))
    assert out.shape == (64, 64, 3)
    assert len(np.unique(out[..., 0])) == len(np.unique(digit))  # blocks, not a blur

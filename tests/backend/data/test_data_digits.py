import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from backend.data import SPLITS, DataSpec, load_split


def image_keys(split) -> list[bytes]:
    """Digits has no duplicate images, so an image's bytes identify it."""
    return [split.raw_image(i).tobytes() for i in range(len(split))]


@pytest.fixture(scope="module")
def digits():
    return {name: load_split(DataSpec("digits", seed=0), name) for name in SPLITS}


def test_split_sizes_partition_the_1797_images(digits):
    sizes = {name: len(digits[name]) for name in SPLITS}
    assert sizes["train"] + sizes["val"] + sizes["test"] == sizes["all"] == 1797
    assert sizes["val"] == sizes["test"] == 359
    keys = {name: set(image_keys(digits[name])) for name in ("train", "val", "test")}
    assert not keys["train"] & keys["val"]
    assert not keys["train"] & keys["test"]
    assert not keys["val"] & keys["test"]
    assert keys["train"] | keys["val"] | keys["test"] == set(image_keys(digits["all"]))


def test_split_is_stratified(digits):
    counts = torch.bincount(digits["test"].labels(), minlength=10)
    assert counts.min() >= 34 and counts.max() <= 38


def test_same_seed_same_split_other_seed_other_split(digits):
    again = load_split(DataSpec("digits", seed=0), "val")
    other = load_split(DataSpec("digits", seed=1), "val")
    assert image_keys(again) == image_keys(digits["val"])
    assert set(image_keys(other)) != set(image_keys(digits["val"]))


def test_all_keeps_sklearn_order_and_labels(digits):
    bunch = load_digits()
    split = digits["all"]
    assert torch.equal(split.labels(), torch.from_numpy(bunch.target).long())
    raw = split.raw_image(5)
    assert raw.dtype == np.uint8 and raw.shape == (8, 8)
    np.testing.assert_array_equal(raw, np.round(bunch.images[5] * 255 / 16).astype(np.uint8))
    assert split.classes == [str(k) for k in range(10)]
    assert split.in_channels == 1 and split.image_size == 8


def test_batches_cover_the_split_once(digits):
    split = digits["train"]
    seen, labels = [], []
    for x, y, idx in split.batches(128):
        assert x.dtype == torch.float32 and x.shape[1:] == (1, 8, 8)
        assert y.dtype == torch.int64 and idx.dtype == torch.int64
        assert x.shape[0] == y.shape[0] == idx.shape[0] <= 128
        seen.append(idx)
        labels.append(y)
    seen = torch.cat(seen)
    assert torch.equal(seen, torch.arange(len(split)))
    assert torch.equal(torch.cat(labels), split.labels())


def test_batches_are_normalised_pixels(digits):
    split = digits["all"]
    x, _, idx = next(split.batches(len(split)))
    assert abs(x.mean()) < 0.01 and abs(x.std() - 1) < 0.01
    # Undo the normalisation: the pixels are the raw image over 255.
    pixels = x[3, 0] * split.std[0] + split.mean[0]
    expected = torch.from_numpy(split.raw_image(int(idx[3]))).float() / 255
    assert torch.allclose(pixels, expected, atol=0.01)


def test_shuffle_changes_order_reproducibly(digits):
    split = digits["train"]
    plain = torch.cat([idx for _, _, idx in split.batches(100)])
    shuffled = torch.cat([idx for _, _, idx in split.batches(100, shuffle=True, seed=3)])
    again = torch.cat([idx for _, _, idx in split.batches(100, shuffle=True, seed=3)])
    assert not torch.equal(plain, shuffled)
    assert torch.equal(shuffled.sort().values, plain)
    assert torch.equal(shuffled, again)


def test_drop_last_drops_the_short_batch(digits):
    split = digits["train"]  # 1079 images
    sizes = [len(y) for _, y, _ in split.batches(100, drop_last=True)]
    assert sizes == [100] * 10


def test_resize_to_32(digits):
    split = load_split(DataSpec("digits", image_size=32), "test")
    x, y, _ = next(split.batches(16))
    assert x.shape == (16, 1, 32, 32) and split.image_size == 32
    assert torch.equal(y, split.labels()[:16])
    assert split.raw_image(0).shape == (8, 8)
    assert torch.equal(split.labels(), digits["test"].labels())


def test_augment_shifts_by_at_most_one_native_pixel(digits):
    split = digits["val"]
    plain, _, _ = next(split.batches(64))
    moved, _, _ = next(split.batches(64, augment=True, seed=1))
    assert moved.shape == plain.shape and not torch.equal(moved, plain)
    background = (0 - split.mean[0]) / split.std[0]
    padded = torch.nn.functional.pad(plain, (1, 1, 1, 1), value=background)
    for i in range(8):
        shifts = [
            torch.allclose(moved[i, 0], padded[i, 0, dy : dy + 8, dx : dx + 8])
            for dy in range(3)
            for dx in range(3)
        ]
        assert any(shifts)

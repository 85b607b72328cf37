from pathlib import Path

import numpy as np
import pytest
import torch

from backend.core.errors import DatasetMissingError
from backend.data import SPLITS, DataSpec, load_split


def test_plain_folder_is_split_80_10_10(tmp_path, make_image_folder):
    make_image_folder(tmp_path)  # 3 classes x 10 images
    spec = DataSpec("imagefolder", root=str(tmp_path), seed=0)
    splits = {name: load_split(spec, name) for name in SPLITS}
    assert {k: len(v) for k, v in splits.items()} == {"train": 24, "val": 3, "test": 3, "all": 30}
    assert torch.bincount(splits["val"].labels(), minlength=3).tolist() == [1, 1, 1]
    train = splits["train"]
    assert train.classes == ["cat", "dog", "fox"]
    assert train.in_channels == 3 and train.image_size == 224  # resize 256, crop 224
    x, y, idx = next(train.batches(10, augment=True))
    assert x.shape == (10, 3, 224, 224) and x.dtype == torch.float32
    assert torch.equal(idx, torch.arange(10)) and torch.equal(y, train.labels()[:10])
    image = splits["all"].raw_image(1)  # cat/1.png: 45 x 30 RGB
    assert image.dtype == np.uint8 and image.shape == (45, 30, 3)
    grey = splits["all"].raw_image(0)  # cat/0.png is greyscale, returned as RGB
    assert grey.shape == (40, 30, 3)


def test_batches_cover_split_and_resize(tmp_path, make_image_folder):
    make_image_folder(tmp_path, per_class=4)
    split = load_split(DataSpec("imagefolder", root=str(tmp_path), image_size=16), "all")
    seen = torch.cat([idx for x, _, idx in split.batches(5, shuffle=True) if x.shape[-1] == 16])
    assert sorted(seen.tolist()) == list(range(12))


def test_large_images_get_thumbnails(tmp_path):
    from PIL import Image

    (tmp_path / "a").mkdir()
    Image.new("RGB", (1200, 600), (10, 20, 30)).save(tmp_path / "a" / "big.png")
    split = load_split(DataSpec("imagefolder", root=str(tmp_path)), "all")
    assert split.raw_image(0).shape == (256, 512, 3)


def test_given_train_and_val_folders_are_used(tmp_path, make_image_folder):
    make_image_folder(tmp_path / "train", per_class=6)
    make_image_folder(tmp_path / "val", per_class=2)
    spec = DataSpec("imagefolder", root=str(tmp_path))
    sizes = {name: len(load_split(spec, name)) for name in SPLITS}
    assert sizes == {"train": 18, "val": 6, "test": 6, "all": 24}
    assert load_split(spec, "val").classes == ["cat", "dog", "fox"]


@pytest.mark.parametrize("make", ["nothing", "empty classes", "no folder"])
def test_missing_images(tmp_path, make):
    root = tmp_path / "images"
    if make != "no folder":
        root.mkdir()
    if make == "empty classes":
        (root / "cat").mkdir()
    with pytest.raises(DatasetMissingError, match="class subfolders"):
        load_split(DataSpec("imagefolder", root=str(root)), "train")


def test_worker_processes_give_the_same_batches(tmp_path, make_image_folder):
    make_image_folder(tmp_path, per_class=3)
    split = load_split(DataSpec("imagefolder", root=str(tmp_path), image_size=16), "all")
    inline = list(split.batches(4, shuffle=True, seed=1))
    split.num_workers = 2
    workers = list(split.batches(4, shuffle=True, seed=1))
    assert len(inline) == len(workers) == 3
    for (x1, y1, i1), (x2, y2, i2) in zip(inline, workers, strict=True):
        assert torch.equal(x1, x2) and torch.equal(y1, y2) and torch.equal(i1, i2)


def test_links_to_files_outside_the_folder_are_skipped(tmp_path, make_image_folder):
    root, elsewhere = tmp_path / "images", tmp_path / "elsewhere"
    make_image_folder(root, per_class=4)
    make_image_folder(elsewhere, per_class=2)
    (root / "cat" / "stolen.png").symlink_to(elsewhere / "cat" / "0.png")
    (root / "owl").symlink_to(elsewhere / "dog", target_is_directory=True)
    (root / "dog" / "again.png").symlink_to(root / "dog" / "0.png")  # inside: kept
    split = load_split(DataSpec("imagefolder", root=str(root)), "all")
    files = [Path(path).relative_to(root).as_posix() for path, _ in split.samples]
    assert "cat/stolen.png" not in files and not any(f.startswith("owl/") for f in files)
    assert "dog/again.png" in files and len(files) == 3 * 4 + 1


def test_a_folder_of_only_outside_links_says_so(tmp_path, make_image_folder):
    root, elsewhere = tmp_path / "images", tmp_path / "elsewhere"
    make_image_folder(elsewhere, per_class=2)
    (root / "cat").mkdir(parents=True)
    (root / "cat" / "a.png").symlink_to(elsewhere / "cat" / "0.png")
    with pytest.raises(DatasetMissingError, match="links to files outside"):
        load_split(DataSpec("imagefolder", root=str(root)), "all")


@pytest.mark.parametrize("lone", ["test", "val", "train"])
def test_a_lone_split_folder_is_the_data(tmp_path, make_image_folder, lone):
    """root/test/<class>/... alone is a folder of class folders, split as one would be,
    not one class named `test`; the split says how it was read."""
    make_image_folder(tmp_path / lone)  # 3 classes x 10 images
    spec = DataSpec("imagefolder", root=str(tmp_path), seed=0)
    splits = {name: load_split(spec, name) for name in SPLITS}
    assert {k: len(v) for k, v in splits.items()} == {"train": 24, "val": 3, "test": 3, "all": 30}
    assert splits["train"].classes == ["cat", "dog", "fox"]
    assert f"only {lone}/" in splits["train"].note and "80/10/10" in splits["train"].note


def test_val_and_test_without_train_say_what_is_missing(tmp_path, make_image_folder):
    make_image_folder(tmp_path / "val", per_class=2)
    make_image_folder(tmp_path / "test", per_class=2)
    with pytest.raises(DatasetMissingError, match=r"val/ and test/ but no train/"):
        load_split(DataSpec("imagefolder", root=str(tmp_path)), "train")

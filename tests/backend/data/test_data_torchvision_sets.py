import numpy as np
import pytest
import torch
import torchvision

from backend.core.errors import DatasetMissingError
from backend.data import DataSpec, load_split


def test_mnist_from_local_files(tmp_path, make_mnist):
    train_images, test_images = make_mnist(tmp_path)
    spec = DataSpec("mnist", root=str(tmp_path), seed=0)
    splits = {name: load_split(spec, name) for name in ("train", "val", "test", "all")}
    assert {k: len(v) for k, v in splits.items()} == {
        "train": 90,
        "val": 10,
        "test": 20,
        "all": 120,
    }
    test = splits["test"]
    assert test.classes == [str(k) for k in range(10)]
    assert test.in_channels == 1 and test.image_size == 28
    np.testing.assert_array_equal(test.raw_image(3), test_images[3])
    np.testing.assert_array_equal(splits["all"].raw_image(0), train_images[0])
    assert torch.equal(test.labels(), torch.arange(20) % 10)
    x, y, idx = next(splits["train"].batches(32, shuffle=True, augment=True))
    assert x.shape == (32, 1, 28, 28) and x.dtype == torch.float32
    assert y.dtype == idx.dtype == torch.int64
    # train and val are disjoint and together make up the official training set
    keys = {
        name: {splits[name].raw_image(i).tobytes() for i in range(len(splits[name]))}
        for name in ("train", "val")
    }
    assert not keys["train"] & keys["val"]
    assert keys["train"] | keys["val"] == {im.tobytes() for im in train_images}


def test_mnist_resized_for_cifar_nets(mnist_root):
    split = load_split(DataSpec("mnist", root=str(mnist_root), image_size=32), "val")
    batches = list(split.batches(4))
    assert [x.shape for x, _, _ in batches] == [(4, 1, 32, 32)] * 2 + [(2, 1, 32, 32)]
    assert torch.equal(torch.cat([idx for _, _, idx in batches]), torch.arange(10))
    assert split.raw_image(0).shape == (28, 28)


def test_mnist_missing_names_the_file(tmp_path):
    with pytest.raises(DatasetMissingError) as err:
        load_split(DataSpec("mnist", root=str(tmp_path)), "train")
    message = str(err.value)
    assert str(tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte") in message
    assert "download=True" in message and "--download" in message


def test_fashion_mnist_uses_its_own_folder(tmp_path, make_mnist):
    make_mnist(tmp_path, folder="FashionMNIST")
    split = load_split(DataSpec("fashion_mnist", root=str(tmp_path)), "test")
    assert len(split) == 20 and split.classes[0] == "T-shirt/top"


def test_torchvision_set_without_root():
    with pytest.raises(DatasetMissingError, match="root"):
        load_split(DataSpec("mnist"), "train")


def test_cifar10_missing_names_data_batch_1(tmp_path):
    with pytest.raises(DatasetMissingError) as err:
        load_split(DataSpec("cifar10", root=str(tmp_path)), "test")
    assert str(tmp_path / "cifar-10-batches-py" / "data_batch_1") in str(err.value)


def test_cifar10_corrupt_files_are_reported_not_leaked(tmp_path, make_cifar10):
    make_cifar10(tmp_path)  # checksums do not match the official files
    with pytest.raises(DatasetMissingError, match="could not be read"):
        load_split(DataSpec("cifar10", root=str(tmp_path)), "train")


def test_cifar10_from_local_files(tmp_path, monkeypatch, make_cifar10):
    make_cifar10(tmp_path, per_batch=10)
    # The fake files cannot match torchvision's checksums; everything else is real.
    monkeypatch.setattr(torchvision.datasets.cifar, "check_integrity", lambda p, md5=None: True)
    spec = DataSpec("cifar10", root=str(tmp_path))
    train, val, test = (load_split(spec, name) for name in ("train", "val", "test"))
    assert (len(train), len(val), len(test)) == (45, 5, 10)
    assert test.classes[:2] == ["class0", "class1"] and test.in_channels == 3
    image = train.raw_image(0)
    assert image.dtype == np.uint8 and image.shape == (32, 32, 3)
    x, _, _ = next(train.batches(8, augment=True))
    assert x.shape == (8, 3, 32, 32)

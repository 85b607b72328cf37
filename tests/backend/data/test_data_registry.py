import pytest

from backend.core.errors import UnknownNameError
from backend.data import SPLITS, DataSpec, list_datasets, load_split


def test_known_datasets():
    names = ["digits", "mnist", "fashion_mnist", "cifar10", "cifar100", "imagefolder"]
    assert list_datasets() == names


def test_unknown_dataset_lists_choices():
    with pytest.raises(UnknownNameError) as err:
        load_split(DataSpec("svhn"), "train")
    assert err.value.choices == list_datasets()
    assert "svhn" in str(err.value) and "cifar100" in str(err.value)


def test_unknown_split_lists_choices():
    with pytest.raises(UnknownNameError, match="train, val, test, all") as err:
        load_split(DataSpec(), "validation")
    assert err.value.choices == list(SPLITS)


def test_spec_round_trips_through_a_dict(tmp_path):
    spec = DataSpec("mnist", root=tmp_path, seed=3, image_size=32, download=True)
    assert spec.root == str(tmp_path)
    assert DataSpec.from_dict(spec.to_dict()) == spec
    assert DataSpec.from_dict({}) == DataSpec()
    with pytest.raises(UnknownNameError, match="sed"):
        DataSpec.from_dict({"sed": 1})

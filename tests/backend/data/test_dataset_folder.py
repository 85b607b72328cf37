"""A torch Dataset written as an image folder: its labels keep their numbers (an image
folder numbers classes by sorted folder name), the same content is written once, and
images it cannot write faithfully are refused in words, leaving nothing behind."""

import numpy as np
import pytest
import torch
from torch.utils.data import Dataset

from backend.core.errors import SemvecError
from backend.data import load_split
from backend.data.dataset_folder import write_image_folder
from backend.data.spec import DataSpec


class Items(Dataset):
    def __init__(self, items, classes=None):
        self.items = items
        if classes is not None:
            self.classes = classes

    def __len__(self):
        return len(self.items)

    def __getitem__(self, index):
        return self.items[index]


def _colour(value: int) -> np.ndarray:
    return np.full((6, 6, 3), value, dtype=np.uint8)


def test_labels_keep_their_numbers_when_the_class_names_do_not_sort(tmp_path):
    # zebra is class 0 and apple class 1, but "apple" sorts first; "kiwi" has no image.
    items = [(_colour(10), 0), (_colour(200), 1), (_colour(12), torch.tensor(0))]
    written = write_image_folder(Items(items, ["zebra", "apple", "kiwi"]), tmp_path / "datasets")
    assert sorted(p.name for p in written.path.iterdir()) == ["0 zebra", "1 apple", "2 kiwi"]
    assert written.images == 3 and written.channels == 3
    split = load_split(DataSpec(name="imagefolder", root=str(written.path)), "all")
    assert split.classes == ["0 zebra", "1 apple", "2 kiwi"]
    by_label: dict[int, set] = {}
    for i, label in enumerate(split.labels().tolist()):
        by_label.setdefault(label, set()).add(int(split.raw_image(i)[0, 0, 0]))
    assert by_label == {0: {10, 12}, 1: {200}}


def test_the_same_images_are_written_once(tmp_path):
    grey = [torch.full((1, 5, 5), v / 10) for v in range(4)]
    first = write_image_folder(Items(grey), tmp_path / "datasets")
    again = write_image_folder(Items(list(grey)), tmp_path / "datasets")
    assert first.path == again.path and first.channels == 1
    assert len(list(first.path.glob("*.png"))) == 4  # flat: no labels
    assert sorted(p.name for p in tmp_path.iterdir()) == ["datasets"]  # no leftover
    other = write_image_folder(Items(grey[:3]), tmp_path / "datasets")
    assert other.path != first.path


@pytest.mark.parametrize(
    ("items", "words"),
    [
        ([torch.randn(3, 4, 4) * 2], "without its Normalize transform"),
        ([("not an image", 1)], "give images as PIL images, tensors or arrays"),
        ([(_colour(1), "cat")], "labels must be class numbers"),
        ([(_colour(1), 0), _colour(2)], "some items have labels"),
        ([torch.rand(5, 4, 4)], "1 or 3 channels"),
    ],
)
def test_what_cannot_be_written_is_refused_and_leaves_nothing(tmp_path, items, words):
    with pytest.raises(SemvecError, match=words):
        write_image_folder(Items(items), tmp_path / "datasets")
    assert not list((tmp_path / "datasets").iterdir())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["datasets"]

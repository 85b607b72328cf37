"""Any folder of class subfolders of images (torchvision's ImageFolder layout).

Two layouts are understood:
  root/<class>/<image>                      split 80 / 10 / 10 by the spec's seed;
  root/train/<class>/..., root/val/... and/or root/test/...   used as given. When only
  one of val/ and test/ exists, it serves as both.
Images are read from disk per batch (resized, then centre-cropped to a square). Symbolic
links that lead outside the root are skipped (a link to the root itself may be given).
"""

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms
from torchvision.datasets.folder import IMG_EXTENSIONS, default_loader, find_classes, make_dataset

from backend.core.errors import DatasetMissingError, SemvecError
from backend.core.paths import is_inside
from backend.data.augment import ShiftFlip
from backend.data.partition import three_way
from backend.data.registry import register_dataset
from backend.data.spec import DataSpec
from backend.data.split import DataSplit

PHOTO_RESIZE, PHOTO_CROP = 256, 224
"""Without a size from the user or the weights, photos of mixed sizes are resized to 256
and centre-cropped to 224 (the usual ImageNet evaluation); a folder whose images share
one square size keeps it."""
THUMBNAIL = 256
# ImageNet statistics: user photos are closer to ImageNet than to any small set.
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
LAYOUT = (
    "class subfolders of images (root/<class>/<image>.png), or train/ and val/ or test/ of those"
)

Sample = tuple[str, int]


def _load_image(path: str) -> Image.Image:
    try:
        return default_loader(path)
    except OSError as err:
        raise SemvecError(f"cannot read image {path}: {err}") from err


class _Images(Dataset):
    """Images at split indices, as float32 (3, S, S) in [0, 1]."""

    def __init__(self, samples: list[Sample], size: int):
        self.samples = samples
        self.transform = transforms.Compose(
            [transforms.Resize(size), transforms.CenterCrop(size), transforms.ToTensor()]
        )

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.transform(_load_image(self.samples[index][0]))


class FolderSplit(DataSplit):
    """A split of an image folder; `num_workers` > 0 decodes images in worker processes."""

    def __init__(self, *, samples: list[Sample], image_size: int, num_workers: int = 0, **kwargs):
        labels = torch.tensor([label for _, label in samples], dtype=torch.int64)
        super().__init__(labels=labels, image_size=image_size, **kwargs)
        self.samples = samples
        self.num_workers = num_workers
        self._images = _Images(samples, image_size)

    def _read(self, idx: torch.Tensor) -> torch.Tensor:
        return torch.stack([self._images[int(i)] for i in idx])

    def _read_batches(self, chunks: list[torch.Tensor]) -> Iterator[torch.Tensor]:
        if self.num_workers == 0:
            yield from super()._read_batches(chunks)
            return
        loader = DataLoader(
            self._images, batch_sampler=[c.tolist() for c in chunks], num_workers=self.num_workers
        )
        yield from loader

    def raw_image(self, index: int) -> np.ndarray:
        image = _load_image(self.samples[self._check_index(index)][0])
        image.thumbnail((THUMBNAIL, THUMBNAIL))  # keeps the aspect ratio; never enlarges
        return np.asarray(image, dtype=np.uint8).copy()


def _scan(folder: Path, class_to_idx: dict[str, int], root: Path) -> list[Sample]:
    """The images of `folder`'s class subfolders, but none that a symbolic link leads to
    outside `root`: the folder is what the user named, and only it is read."""
    found = make_dataset(str(folder), class_to_idx, extensions=IMG_EXTENSIONS, allow_empty=True)
    return [sample for sample in found if is_inside(Path(sample[0]), root)]


def _split_samples(root: Path, seed: int) -> tuple[list[str], dict[str, list[Sample]]]:
    """Class names and the samples of each of the four splits."""
    given = [name for name in ("val", "test") if (root / name).is_dir()]
    top = root / "train" if (root / "train").is_dir() and given else root
    try:
        classes, class_to_idx = find_classes(str(top))
    except FileNotFoundError as err:
        raise DatasetMissingError(f"no class folders in {top}; expected {LAYOUT}") from err
    train = _scan(top, class_to_idx, root)
    if not train:
        exts = ", ".join(IMG_EXTENSIONS)
        raise DatasetMissingError(
            f"no images in the class folders of {top} ({exts}; links to files outside "
            f"{root} are skipped); expected {LAYOUT}"
        )
    if top == root:
        parts = three_way([label for _, label in train], seed, val_frac=0.1, test_frac=0.1)
        splits = {name: [train[i] for i in parts[name]] for name in ("train", "val", "test")}
        return classes, {**splits, "all": train}
    held_out = {name: _scan(root / name, class_to_idx, root) for name in given}
    val = held_out.get("val", held_out.get("test"))
    test = held_out.get("test", val)
    everything = train + [s for name in given for s in held_out[name]]
    return classes, {"train": train, "val": val, "test": test, "all": everything}


def native_size(samples: list[Sample], probe: int = 32) -> int:
    """The side shared by the first `probe` images when they are all one square size (read
    from their headers), else PHOTO_RESIZE."""
    sizes = set()
    for path, _ in samples[:probe]:
        try:
            with Image.open(path) as image:
                sizes.add(image.size)
        except OSError:
            continue
    if len(sizes) == 1:
        width, height = sizes.pop()
        if width == height:
            return width
    return PHOTO_RESIZE


@register_dataset("imagefolder")
def load_folder_split(spec: DataSpec, split: str) -> FolderSplit:
    if spec.root is None:
        raise DatasetMissingError(
            f"dataset 'imagefolder' needs root=<folder> (CLI --root) with {LAYOUT}"
        )
    root = Path(spec.root).expanduser().resolve()
    if not root.is_dir():
        raise DatasetMissingError(f"image folder {root} does not exist; expected {LAYOUT}")
    classes, splits = _split_samples(root, spec.seed)
    size = spec.image_size or native_size(splits["all"])
    split_data = FolderSplit(
        name="imagefolder",
        split=split,
        classes=classes,
        in_channels=3,
        image_size=size,
        samples=splits[split],
        mean=MEAN,
        std=STD,
        augment=ShiftFlip(max(1, size // 8), flip=True),
    )
    if spec.image_size is None and spec.crop is None and size == PHOTO_RESIZE:
        split_data.adapt(crop=PHOTO_CROP)
    return split_data

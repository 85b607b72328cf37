"""A folder of photos: class subfolders (torchvision's ImageFolder layout), or flat.

Layouts understood:
  root/<class>/<image>                      split 80 / 10 / 10 by the spec's seed;
  root/<image>                              the same, unlabelled (no classes, labels -1);
  root/train/<class>/..., root/val/... and/or root/test/...   used as given. When only
  one of val/ and test/ exists, it serves as both;
  root/test/<class>/... alone (or val/ or train/ alone)   that folder is the data, split
  80 / 10 / 10 as root/<class>/ would be (not one class named `test`).
Photos of any size and format PIL reads (JPEG, PNG, WebP, ...) are resized (shorter side)
then centre-cropped to a square per batch. Symbolic links that lead outside the root are
skipped (a link to the root itself may be given). Files that are not usable images are
left out, named in the split's note, and recorded (`DataSpec.skip`) by a run, which
reads its folder the same way again (backend.data.image_screen).

Opening a folder imports neither torchvision nor scikit-learn and resolves only the
symbolic links it meets: the server opens a folder to serve a top image, and importing
those packages and resolving every path of a 60,000-image folder made that first image
cost many seconds.
"""

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from backend.core.errors import DatasetMissingError, SemvecError
from backend.core.paths import is_inside
from backend.data.augment import ShiftFlip
from backend.data.image_screen import in_words, leave_out, screen
from backend.data.registry import register_dataset
from backend.data.spec import DataSpec
from backend.data.split import UNLABELLED, DataSplit

PHOTO_RESIZE, PHOTO_CROP = 256, 224
"""Without a size from the user or the weights, photos of mixed sizes are resized to 256
and centre-cropped to 224 (the usual ImageNet evaluation); a folder whose images share
one square size keeps it."""
THUMBNAIL = 512
"""Longest side of `raw_image` (a photo is shown, not fed to the model, at this size)."""
# ImageNet statistics: user photos are closer to ImageNet than to any small set.
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")
LAYOUT = (
    "class subfolders of images (root/<class>/<image>.jpg), images directly in root "
    "(unlabelled), train/ and val/ or test/ of those, or one of train/, val/, test/ alone"
)
SPLIT_FOLDERS = ("train", "val", "test")

Sample = tuple[str, int]


def _load_image(path: str) -> Image.Image:
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError) as err:
        raise SemvecError(f"cannot read image {path}: {err}") from err


_UNDECODABLE: set[str] = set()
"""Files whose header was fine but whose pixels did not decode, in this process."""


def _stand_in(path: str, err: SemvecError, size: int) -> torch.Tensor:
    """A blank image for a file that fails to decode in the middle of a pass (a truncated
    photo): one bad file must not end a job. Said once per file, in the job's log."""
    if path not in _UNDECODABLE:
        _UNDECODABLE.add(path)
        count = len(_UNDECODABLE)
        print(
            f"semvec: {err}; a blank image stands in for it "
            f"({count} such {'file' if count == 1 else 'files'} so far)",
            file=sys.stderr,
            flush=True,
        )
    return torch.zeros(3, size, size)


class _Images(Dataset):
    """Images at split indices, as float32 (3, crop, crop) in [0, 1]: the shorter side
    resized to `resize`, then the centre `crop` x `crop` square."""

    def __init__(self, samples: list[Sample], resize: int, crop: int):
        self.samples, self.resize, self.crop = samples, resize, crop
        self._transform = None

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> torch.Tensor:
        if self._transform is None:
            from torchvision import transforms  # only when pixels are wanted (see the top)

            self._transform = transforms.Compose(
                [
                    transforms.Resize(self.resize),
                    transforms.CenterCrop(self.crop),
                    transforms.ToTensor(),
                ]
            )
        path = self.samples[index][0]
        try:
            return self._transform(_load_image(path))
        except SemvecError as err:
            if isinstance(err.__cause__, FileNotFoundError):
                raise  # the folder changed under the job: not a bad photo
            return _stand_in(path, err, self.crop)


class FolderSplit(DataSplit):
    """A split of an image folder; `num_workers` > 0 decodes images in worker processes."""

    def __init__(
        self,
        *,
        samples: list[Sample],
        image_size: int,
        resize: int | None = None,
        num_workers: int = 0,
        **kwargs,
    ):
        labels = torch.tensor([label for _, label in samples], dtype=torch.int64)
        super().__init__(labels=labels, image_size=image_size, **kwargs)
        self.samples = samples
        self.num_workers = num_workers
        self.resize, self._read_size = resize or image_size, image_size
        self._images = _Images(samples, self.resize, image_size)

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

    def _read_box(self, height: int, width: int) -> tuple[float, float, float, float]:
        """The centred square read after resizing the shorter side to `resize` and
        cropping to the size read, as fractions of the photo."""
        scale = self.resize / min(height, width)
        fx = min(1.0, self._read_size / (width * scale))
        fy = min(1.0, self._read_size / (height * scale))
        return ((1 - fx) / 2, (1 - fy) / 2, (1 + fx) / 2, (1 + fy) / 2)


def _is_image(name: str) -> bool:
    return name.lower().endswith(EXTENSIONS)


def _entries(folder: Path, root: Path) -> list[os.DirEntry]:
    """`folder`'s entries by name, less symbolic links that lead outside `root`."""
    try:
        with os.scandir(folder) as it:
            found = sorted(it, key=lambda e: e.name)
    except OSError:
        return []
    return [e for e in found if not e.is_symlink() or is_inside(Path(e.path), root)]


def _images_below(folder: Path, root: Path) -> list[str]:
    """Every image under `folder`, in torchvision's ImageFolder order (folders by path,
    files by name). Only links are resolved: a plain entry below `root` is inside it."""
    found: list[tuple[str, list[str]]] = []
    seen: set[tuple[int, int]] = set()  # folders already walked: a link loop ends here
    todo = [folder]
    while todo:
        current = todo.pop()
        stat = current.stat()
        if (stat.st_dev, stat.st_ino) in seen:
            continue
        seen.add((stat.st_dev, stat.st_ino))
        files = []
        for entry in _entries(current, root):
            if entry.is_dir():
                todo.append(Path(entry.path))
            elif _is_image(entry.name) and entry.is_file():
                files.append(entry.path)
        found.append((str(current), files))
    return [path for _, files in sorted(found) for path in files]


def _read_folder(folder: Path, root: Path, classes: list[str] | None = None):
    """(classes, samples) of one folder: its class subfolders, or, when they hold no
    images, the images directly in it (unlabelled: classes [] and labels -1). `classes`
    fixes the class list (a held-out folder uses the training folder's)."""
    subfolders = [e.name for e in _entries(folder, root) if e.is_dir()]
    per_class = {name: _images_below(folder / name, root) for name in subfolders}
    if classes is None:
        # Every subfolder is a class (as in torchvision), once any of them holds images.
        classes = subfolders if any(per_class.values()) else []
    if classes:
        samples = [
            (path, label) for label, name in enumerate(classes) for path in per_class.get(name, [])
        ]
        return classes, samples
    flat = [e.path for e in _entries(folder, root) if _is_image(e.name) and e.is_file()]
    return [], [(path, UNLABELLED) for path in flat]


def split_folders(root: Path) -> list[str]:
    """The split folders (train/, val/, test/) of `root` when they are its only
    subfolders, else [] (a class may be named `test` among others)."""
    names = [e.name for e in _entries(root, root) if e.is_dir()]
    return names if names and set(names) <= set(SPLIT_FOLDERS) else []


def lone_split(root: Path) -> str | None:
    """The one split folder that `root` holds and nothing else (root/test/<class>/...)."""
    found = split_folders(root)
    return found[0] if len(found) == 1 else None


def _top(root: Path) -> tuple[Path, str | None]:
    """The folder whose class subfolders are the training images, and a note for a person
    when that is not `root` itself in an obvious way (a lone split folder)."""
    given = [name for name in ("val", "test") if (root / name).is_dir()]
    if (root / "train").is_dir() and given:
        return root / "train", None
    found = split_folders(root)
    if len(found) == 1:
        note = (
            f"{root} holds only {found[0]}/: its images are the data, split 80/10/10 "
            "(train, val, test) as a folder of class folders would be"
        )
        return root / found[0], note
    if found:  # val/ and test/, no train/
        raise DatasetMissingError(
            f"{root} holds val/ and test/ but no train/: rename the one to learn from to "
            "train/ (the other is then held out), or give one of them as the folder"
        )
    return root, None


def _usable(samples: list[Sample], root: Path, skip, skipped: list) -> list[Sample]:
    """`samples` less the files that cannot be used: those a run recorded (`skip`), else
    those whose header says so (added to `skipped`)."""
    if skip is not None:
        return leave_out(samples, str(root), skip)
    kept, found = screen(samples, str(root))
    skipped.extend(found)
    return kept


def _split_samples(
    root: Path, seed: int, split: str, skip: tuple[str, ...] | None = None
) -> tuple[list[str], dict[str, list], str | None, list]:
    """Class names, the samples of the splits (only "all" unless another is asked: the
    partition needs scikit-learn, which the server need not import for a photo), the
    note on how the folder was read (see `_top`) and the files left out as unusable
    ((name, reason); none looked at when `skip` names them, as a run records)."""
    top, note = _top(root)
    classes, listed = _read_folder(top, root)
    skipped: list = []
    train = _usable(listed, root, skip, skipped)
    if not train:
        unusable = f" ({in_words(skipped, len(listed))})" if skipped else ""
        raise DatasetMissingError(
            f"no usable images in {top} or its subfolders{unusable} ({', '.join(EXTENSIONS)}; "
            f"links to files outside {root} are skipped); expected {LAYOUT}"
        )
    if top == root or note is not None:
        if split == "all":
            return classes, {"all": train}, note, skipped
        from backend.data.partition import three_way

        parts = three_way([label for _, label in train], seed, val_frac=0.1, test_frac=0.1)
        splits = {name: [train[i] for i in parts[name]] for name in ("train", "val", "test")}
        return classes, {**splits, "all": train}, note, skipped
    given = [name for name in ("val", "test") if (root / name).is_dir()]
    held_out = {
        name: _usable(_read_folder(root / name, root, classes)[1], root, skip, skipped)
        for name in given
    }
    val = held_out.get("val", held_out.get("test"))
    test = held_out.get("test", val)
    everything = train + [s for name in given for s in held_out[name]]
    return classes, {"train": train, "val": val, "test": test, "all": everything}, None, skipped


def listed_samples(root: Path) -> list[Sample]:
    """Every image file of the folder, in the order of the split `all`, none of them
    opened (see backend.data.image_screen for which can be used)."""
    return _split_samples(root, seed=0, split="all", skip=())[1]["all"]


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
    classes, splits, note, skipped = _split_samples(root, spec.seed, split, spec.skip)
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
    if skipped:  # the job's log shows the note
        words = in_words(skipped, len(skipped) + len(splits["all"]))
        note = f"{note}; {words}" if note else words[0].upper() + words[1:]
    split_data.note = note
    split_data.skip = list(spec.skip) if spec.skip is not None else [n for n, _ in skipped]
    if spec.image_size is None and spec.crop is None and size == PHOTO_RESIZE:
        split_data.adapt(crop=PHOTO_CROP)
    return split_data

"""A map-style torch Dataset written out once as an image folder (PNG files), so that a
run made from it in Python rebuilds from the data home alone and the page can show its
photos.

Items are `(image, label)` or just `image`; an image is a PIL image, a (C, H, W) or
(H, W) tensor (floats in [0, 1], or uint8) or an (H, W[, C]) uint8 array. Integer labels
give class sub-folders, named after `dataset.classes` when it has one name per class;
without labels the folder is flat (unlabelled). The folder's name ends with a hash of its
content: the same images are written once, whatever the call.
"""

import hashlib
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from backend.core.errors import SemvecError


@dataclass
class WrittenFolder:
    path: Path
    images: int
    channels: int
    """1 when every image is greyscale, else 3."""


def _pixels(image, index: int) -> np.ndarray:
    """The image as uint8 (H, W) or (H, W, 3)."""
    if isinstance(image, Image.Image):
        grey = image.mode in ("1", "L", "I", "I;16", "F")
        return np.asarray(image.convert("L" if grey else "RGB"))
    if isinstance(image, torch.Tensor):
        array = image.detach().cpu()
        if array.dim() == 3 and array.shape[0] in (1, 3):
            array = array.permute(1, 2, 0)  # (C, H, W) -> (H, W, C)
        array = array.numpy()
    elif isinstance(image, np.ndarray):
        array = image
    else:
        raise SemvecError(
            f"item {index} of the dataset is a {type(image).__name__}: give images as PIL "
            "images, tensors or arrays, alone or as (image, label)"
        )
    if array.dtype != np.uint8:
        low, high = float(array.min()), float(array.max())
        if low < 0 or high > 1:
            raise SemvecError(
                f"item {index}'s pixels span [{low:.2f}, {high:.2f}], not [0, 1]: give the "
                "dataset without its Normalize transform (semvec normalises with mean= and std=)"
            )
        array = np.round(array * 255).astype(np.uint8)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] != 3):
        raise SemvecError(
            f"item {index} has an image of shape {tuple(array.shape)}: give (C, H, W) tensors "
            "with 1 or 3 channels, or (H, W[, 3]) arrays"
        )
    return np.ascontiguousarray(array)


def _split_item(item, index: int):
    """(image, label or None) of one item."""
    if isinstance(item, tuple | list):
        if len(item) != 2:
            raise SemvecError(
                f"item {index} of the dataset has {len(item)} parts: give (image, label) or "
                "an image alone"
            )
        image, label = item
        if isinstance(label, torch.Tensor) and label.numel() == 1:
            label = label.item()
        if isinstance(label, np.integer):
            label = int(label)
        if not isinstance(label, int) or isinstance(label, bool) or label < 0:
            raise SemvecError(
                f"item {index}'s label is {label!r}: labels must be class numbers 0, 1, ..."
            )
        return image, label
    return item, None


def _class_names(dataset) -> list | None:
    """`dataset.classes`, or that of the dataset a Subset is taken from."""
    for source in (dataset, getattr(dataset, "dataset", None)):
        names = getattr(source, "classes", None)
        if isinstance(names, list | tuple):
            return list(names)
    return None


def _class_folders(count: int, names: list | None) -> list[str]:
    """One folder name per class, in an order that sorts as the labels do (an image folder
    numbers its classes by sorted folder name)."""
    width = len(str(max(count - 1, 0)))
    if names is None or len(names) != count:
        return [f"{i:0{width}d}" for i in range(count)]
    safe = [re.sub(r"[/\\\x00]", "-", str(name)).strip().strip(".") or "-" for name in names]
    if sorted(safe) == safe and len(set(safe)) == count:
        return safe
    return [f"{i:0{width}d} {name}" for i, name in enumerate(safe)]


def write_image_folder(dataset, datasets_dir: Path) -> WrittenFolder:
    """`dataset`'s images as PNG files in a folder of `datasets_dir` (written once: a
    folder with the same content is reused)."""
    try:
        count = len(dataset)
    except TypeError:
        raise SemvecError("the dataset has no len(): give a map-style torch Dataset") from None
    if count == 0:
        raise SemvecError("the dataset is empty")
    datasets_dir.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(prefix=".writing-", dir=datasets_dir.parent))
    try:
        digest, labels, grey = hashlib.sha256(), [], True
        for index in range(count):
            image, label = _split_item(dataset[index], index)
            pixels = _pixels(image, index)
            if labels and (label is None) != (labels[0] is None):
                raise SemvecError(f"item {index} differs from item 0: some items have labels")
            labels.append(label)
            grey = grey and pixels.ndim == 2
            digest.update(f"{label}:{pixels.shape}".encode())
            digest.update(pixels.tobytes())
            Image.fromarray(pixels).save(temp / f"{index:06d}.png")
        if labels[0] is not None:
            names = _class_names(dataset)
            classes = max(max(labels) + 1, len(names) if names is not None else 0)
            folders = _class_folders(classes, names)
            digest.update("\n".join(folders).encode())
            for name in folders:  # every class, even one without images, keeps its number
                (temp / name).mkdir()
            for index, label in enumerate(labels):
                name = f"{index:06d}.png"
                (temp / name).rename(temp / folders[label] / name)
        kind = re.sub(r"[^a-z0-9]+", "-", type(dataset).__name__.lower()).strip("-") or "dataset"
        target = datasets_dir / f"{kind}-{digest.hexdigest()[:12]}"
        if not target.exists():
            temp.rename(target)
        return WrittenFolder(target, count, 1 if grey else 3)
    finally:
        shutil.rmtree(temp, ignore_errors=True)

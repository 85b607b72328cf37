"""Which datasets are on this server: the folders inside the data home's `datasets/` and
the registered datasets whose files each holds. Forms offer these, and a job whose dataset
files are missing is refused when it is submitted, not half a minute later."""

from pathlib import Path

from backend.core.errors import DatasetMissingError
from backend.core.paths import is_inside, shown

BUILT_IN = ("digits",)
"""Datasets that ship with semvec: no folder needed."""
_IMAGES = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


def datasets_dir(home: Path) -> Path:
    return Path(home) / "datasets"


def _has_class_images(folder: Path, limit: int = 200) -> bool:
    """Whether `folder` has a class subfolder holding an image (a quick look: at most
    `limit` entries per folder)."""
    try:
        subfolders = [p for p in sorted(folder.iterdir())[:limit] if p.is_dir()]
    except OSError:
        return False
    for sub in subfolders:
        try:
            if any(f.suffix.lower() in _IMAGES for f in sorted(sub.iterdir())[:limit]):
                return True
        except OSError:
            continue
    return False


def _has_images(folder: Path, limit: int = 64) -> bool:
    """Whether `folder` itself holds an image (a flat, unlabelled image folder)."""
    try:
        return any(f.suffix.lower() in _IMAGES for f in sorted(folder.iterdir())[:limit])
    except OSError:
        return False


def present_in(root: Path) -> list[str]:
    """The registered datasets whose files lie in `root`, in the registry's order."""
    from backend.data import list_datasets
    from backend.data.image_folder import lone_split
    from backend.data.torchvision_sets import SETS

    found = [name for name, ds in SETS.items() if not ds.missing_files(root)]
    split_root = root
    if (root / "train").is_dir():
        split_root = root / "train"
    elif lone := lone_split(root):  # root/test/<class>/... alone is an image folder too
        split_root = root / lone
    if _has_class_images(split_root) or _has_images(root):
        found.append("imagefolder")
    return [name for name in list_datasets() if name in found]


def dataset_folders(home: Path) -> list[dict]:
    """Each folder in `home/datasets` (links that lead outside the home are skipped), with
    the datasets it holds: {path (relative to `home`), name, datasets}."""
    top = datasets_dir(home)
    if not top.is_dir():
        return []
    folders = []
    for folder in sorted(p for p in top.iterdir() if p.is_dir()):
        if not is_inside(folder, home):
            continue
        folders.append(
            {
                "path": shown(str(folder.absolute()), home),
                "name": folder.name,
                "datasets": present_in(folder.resolve()),
            }
        )
    return folders


def needs_folder(name: str) -> bool:
    return name not in BUILT_IN


def check_present(name: str, root: str | None, home: Path) -> None:
    """Raise DatasetMissingError, in words for the page, unless `name`'s files are there."""
    if not needs_folder(name):
        return
    where = datasets_dir(home).resolve()
    if root is None:
        raise DatasetMissingError(
            f"{name} is not built in: choose the folder that holds its files (a folder inside "
            f"{where})"
        )
    folder = Path(root).expanduser().resolve()
    if name in present_in(folder):
        if name == "imagefolder":
            _check_usable(folder)
        return
    from backend.data.torchvision_sets import SETS

    if name in SETS:
        missing = SETS[name].missing_files(folder)
        shown = ", ".join(str(p.relative_to(folder)) for p in missing[:3])
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        raise DatasetMissingError(
            f"the folder {folder} does not hold {name}: {shown}{more} are missing; copy the "
            f"dataset's files there, or choose another folder"
        )
    raise DatasetMissingError(
        f"the folder {folder} holds no images in class subfolders (folder/<class>/<image>, "
        "train/ and val/ of those, or one of train/, val/, test/ alone); choose another folder"
    )


def _check_usable(folder: Path) -> None:
    """Raise DatasetMissingError unless the image folder holds a usable image: headers
    are read up to the first one that is (the job leaves out the others, and says so)."""
    from backend.data.image_folder import listed_samples
    from backend.data.image_screen import MAX_PIXELS, first_usable, in_words, screen

    samples = listed_samples(folder)
    if first_usable(samples) is not None:
        return
    _, skipped = screen(samples, str(folder))
    raise DatasetMissingError(
        f"the folder {folder} holds no usable image: {in_words(skipped, len(samples))}; add "
        f"photos that PIL reads, of at most {MAX_PIXELS:,} pixels each, or choose another folder"
    )

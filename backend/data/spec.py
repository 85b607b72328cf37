"""What a run trains on: a dataset name plus the few choices that fix its images and split."""

from dataclasses import asdict, dataclass, fields
from pathlib import Path

from backend.core.errors import SemvecError, UnknownNameError

SPLITS = ("train", "val", "test", "all")
"""`all` is every image of the dataset, in a fixed order; the other three are disjoint."""


@dataclass(frozen=True)
class DataSpec:
    """Enough to rebuild the exact same split on another machine (saved beside a run).

    Attributes:
        name: a registered dataset (see `list_datasets()`).
        root: where a torchvision set lives, or the folder of an `imagefolder` set.
        seed: fixes which images go to train, val and test.
        image_size: side of the square tensors; None keeps the native size
            (64 for `imagefolder`, whose images have no common size).
        download: let torchvision fetch missing files (needs a network).
    """

    name: str = "digits"
    root: str | None = None
    seed: int = 0
    image_size: int | None = None
    download: bool = False

    def __post_init__(self):
        # A Path root is kept as text so that to_dict() stays JSON-ready.
        if isinstance(self.root, Path):
            object.__setattr__(self, "root", str(self.root))
        if self.image_size is not None:
            size = int(self.image_size)
            if size < 1:
                raise SemvecError(f"image_size must be a positive number of pixels, not {size}")
            object.__setattr__(self, "image_size", size)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "DataSpec":
        known = [f.name for f in fields(cls)]
        for key in d:
            if key not in known:
                raise UnknownNameError("data spec field", key, known)
        return cls(**d)


def check_split(split: str) -> str:
    if split not in SPLITS:
        raise UnknownNameError("split", split, list(SPLITS))
    return split

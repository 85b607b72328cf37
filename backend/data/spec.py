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
        image_size: the resize side (the short side for photos, the square for array
            sets); None keeps the native size (for an `imagefolder` of photos of mixed
            sizes: 256, cropped to 224).
        download: let torchvision fetch missing files (needs a network).
        crop: side of the centre crop after the resize; None: the resize side.
        mean, std: per-channel normalisation; None: the dataset's own.
        channels: 3 repeats a grey channel, 1 averages RGB; None: the dataset's own.
        skip: files of an image folder to leave out (paths relative to `root`), as a run
            records them; None: every file's header is read and the unusable ones are
            left out (backend.data.image_screen).
    """

    name: str = "digits"
    root: str | None = None
    seed: int = 0
    image_size: int | None = None
    download: bool = False
    crop: int | None = None
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    channels: int | None = None
    skip: tuple[str, ...] | None = None

    def __post_init__(self):
        # A Path root is kept as text so that to_dict() stays JSON-ready.
        if isinstance(self.root, Path):
            object.__setattr__(self, "root", str(self.root))
        if self.image_size is not None:
            size = int(self.image_size)
            if size < 1:
                raise SemvecError(f"image_size must be a positive number of pixels, not {size}")
            object.__setattr__(self, "image_size", size)
        for key in ("mean", "std"):
            value = getattr(self, key)
            if value is not None:
                object.__setattr__(self, key, tuple(float(v) for v in value))
        if self.skip is not None:
            object.__setattr__(self, "skip", tuple(str(name) for name in self.skip))
        if self.crop is not None and (self.crop < 1 or (self.image_size or self.crop) < self.crop):
            raise SemvecError(
                f"crop {self.crop} must be a positive size no larger than the resize "
                f"({self.image_size})"
            )
        if self.channels not in (None, 1, 3):
            raise SemvecError(f"channels must be 1 or 3, not {self.channels}")

    def to_dict(self) -> dict:
        out = asdict(self)
        for key in ("mean", "std", "skip"):
            out[key] = list(out[key]) if out[key] is not None else None
        return out

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

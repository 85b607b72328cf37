"""Validated settings for training and alignment (shared by the CLI, jobs and the API)."""

from typing import Literal

from pydantic import BaseModel, Field

ALIGN_STEPS = 200
"""Frozen alignment steps after the eigen-start (a random start needs about 1500): the
default of `semvec align`, the Python API's `semvec.align` and an align job."""


class DataConfig(BaseModel):
    """Which data: mirrors backend.data.DataSpec."""

    name: str = "digits"
    root: str | None = None
    seed: int = Field(0, ge=0, le=2**31 - 1)
    image_size: int | None = Field(None, ge=4, le=1024, description="resize side (px)")
    download: bool = False
    crop: int | None = Field(None, ge=4, le=1024, description="centre crop side (px)")
    mean: list[float] | None = Field(None, min_length=1, max_length=3)
    std: list[float] | None = Field(None, min_length=1, max_length=3)
    channels: int | None = Field(None, ge=1, le=3, description="1 or 3")
    skip: list[str] | None = Field(
        None,
        description="imagefolder: files to leave out (paths relative to root); a run records "
        "those its job found unusable. None: each file's header is read at the start",
    )

    def spec(self):
        from backend.data import DataSpec

        return DataSpec(**self.model_dump())

    def as_read(self, split) -> dict:
        """This config as a run records it: with the files that reading `split`'s folder
        left out, so that the folder is read the same way again without a look at them."""
        skip = getattr(split, "skip", None)
        return self.model_dump() | ({"skip": skip} if skip is not None else {})


class AlignConfig(BaseModel):
    """How semantic vectors are fitted (docs/method.md)."""

    dim: int = Field(64, ge=2, le=1024, description="length d of each semantic vector")
    subset: int = Field(
        2048, ge=8, le=65536, description="neurons sampled per step when N is larger"
    )
    lr: float = Field(0.03, gt=0, le=1.0, description="Adam learning rate of the vectors")
    weight: float = Field(1.0, ge=0, le=100.0, description="lambda_align")
    grad_to_network: bool = Field(
        False, description="let the alignment gradient reach the network (default: detached)"
    )
    steps: int = Field(
        ALIGN_STEPS,
        ge=0,
        le=1_000_000,
        description="frozen alignment steps (post hoc; after training: settling steps)",
    )
    batch_size: int = Field(128, ge=4, le=8192)
    seed: int = Field(0, ge=0, le=2**31 - 1)
    init: Literal["eigen", "random"] = Field(
        "eigen",
        description="start from the training correlation's top-d eigenvectors (then the "
        "steps refine at a tenth of lr), or at random",
    )
    reference_images: int = Field(
        16384,  # backend.semantic.reference.REFERENCE_IMAGES
        ge=16,
        le=1_000_000,
        description="training images (class-balanced) for the eigen-start and the rank-d bound",
    )
    refine_sampled: bool = Field(
        False,
        description="after an eigen-start, run the steps even when each samples a subset of "
        "the neurons (N > subset); they were measured to lose P@10 there",
    )


class TrainConfig(BaseModel):
    arch: str = "digits_cnn"
    arch_kwargs: dict = {}
    data: DataConfig = DataConfig()
    layers: list[str] | None = None
    epochs: int = Field(30, ge=1, le=10_000)
    batch_size: int = Field(128, ge=2, le=8192)
    lr: float = Field(0.05, gt=0, le=10.0)
    momentum: float = Field(0.9, ge=0, lt=1)
    weight_decay: float = Field(5e-4, ge=0, le=1)
    augment: bool = False
    seed: int = Field(0, ge=0, le=2**31 - 1)
    device: str = "auto"
    amp: bool = True
    align: AlignConfig = AlignConfig(steps=600)


class PostHocConfig(BaseModel):
    """Align a loaded, frozen model: from a run, a checkpoint + architecture, or an
    architecture with published weights (`torchvision:resnet50@IMAGENET1K_V2`)."""

    run: str | None = None
    checkpoint: str | None = None
    arch: str | None = None
    download_weights: bool = False
    arch_kwargs: dict = {}
    data: DataConfig = DataConfig()
    layers: list[str] | None = None
    device: str = "auto"
    amp: bool = True
    align: AlignConfig = AlignConfig()


class AnalyzeConfig(BaseModel):
    split: Literal["train", "val", "test", "all"] = "all"
    k: int = Field(9, ge=1, le=100)
    bins: int = Field(32, ge=4, le=256)
    batch_size: int = Field(256, ge=1, le=8192)
    device: str = "auto"

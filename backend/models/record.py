"""What every model source returns: the model and what it knows about itself."""

from dataclasses import dataclass, field
from pathlib import Path

from torch import nn


@dataclass(frozen=True)
class Preprocess:
    """How images become the model's input: resize the short side to `resize`, centre-crop
    to `crop`, normalise with `mean` and `std`. Any field may be None (not known)."""

    resize: int | None = None
    crop: int | None = None
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None

    def as_data_fields(self) -> dict:
        """The DataConfig fields this fixes (image_size is the resize side)."""
        out = {"image_size": self.resize, "crop": self.crop, "mean": self.mean, "std": self.std}
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in out.items() if v}


@dataclass(frozen=True)
class CodeCopy:
    """A user's model file kept inside the run, so the run rebuilds without the original."""

    filename: str
    sha256: str
    attribute: str
    text: str = field(repr=False)

    def to_dict(self) -> dict:
        return {"file": self.filename, "sha256": self.sha256, "attribute": self.attribute}


@dataclass
class ModelRecord:
    """A built model (random weights unless `weights_file` is loaded), as any source gives it.

    Attributes:
        ref: the architecture reference the run records (`resnet20`,
            `torchvision:resnet50@IMAGENET1K_V2`, `timm:convnext_tiny`, `plugin:NAME`,
            `path/to/file.py:build`).
        kwargs: the constructor arguments the model was built with.
        probed_layers: default probed module paths; the last is the logit layer.
        logit_layer: the module whose outputs are the class scores.
        preprocess: from the published weights, when the source has any.
        classes: the model's own class names (e.g. ImageNet's 1,000), when known.
        weights_file: published weights to load into the model.
        code: the user's model file, for references to user code.
    """

    ref: str
    model: nn.Module
    kwargs: dict
    probed_layers: list[str]
    logit_layer: str
    preprocess: Preprocess | None = None
    classes: list[str] | None = None
    weights_file: Path | None = None
    code: CodeCopy | None = None

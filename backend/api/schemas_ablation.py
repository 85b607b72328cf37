"""What the ablation API takes and returns (see backend/ablation/experiment.py for what
each figure measures)."""

from typing import Literal

from pydantic import BaseModel, Field

Mode = Literal["zero", "mean"]


class AblationCreate(BaseModel):
    neurons: list[int | str] = Field(
        ..., max_length=20_000, description="ids or names (conv3:5) of the neurons to ablate"
    )
    mode: Mode = Field("zero", description="zeros, or each channel's mean map over the images")
    draws: int = Field(5, ge=1, le=50, description="random control selections")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="seed of the control draws")


class SweepCreate(BaseModel):
    layer: str = Field(..., max_length=1000, description="the layer whose neurons to sweep")
    mode: Mode = "zero"


class AblationBase(BaseModel):
    accuracy: float
    class_accuracy: list[float | None]


class Replica(AblationBase):
    delta_accuracy: list[float | None]
    """Per class, percentage points."""
    delta_logit: list[float | None]
    """Per class, mean change of the true class's logit over its images."""
    top_image_loss: float | None
    """Mean relative drop of the remaining neurons' activation on their top images."""
    top_image_loss_by_layer: dict[str, float | None]


class AffectedNeuron(BaseModel):
    id: int
    name: str
    loss: float


class Selection(Replica):
    most_affected: list[AffectedNeuron]


class ControlDraw(Replica):
    neurons: list[int]


class Control(BaseModel):
    seed: int
    draws: list[ControlDraw]


class AblationPublic(BaseModel):
    run: str
    key: str
    split: str
    mode: Mode
    neurons: list[int]
    names: list[str]
    layers: dict[str, int]
    images: int
    classes: list[str]
    class_images: list[int]
    top_k: int
    base: AblationBase
    selection: Selection
    control: Control
    seconds: float


class AblationPending(BaseModel):
    detail: str
    job_id: int
    key: str | None = None
    """Where the result will be (GET /api/runs/{run}/ablations/{key}); none for a sweep."""


class SweepPublic(BaseModel):
    run: str
    split: str
    mode: Mode
    layer: str
    offset: int
    width: int
    images: int
    classes: list[str]
    base_accuracy: float
    delta_accuracy: list[float | None]
    """Per neuron of the layer, the change of accuracy (points) when it alone is ablated."""
    class_delta_accuracy: list[list[float | None]]
    class_delta_logit: list[list[float | None]]
    seconds: float


class AblationEffects(BaseModel):
    mode: Mode
    swept: list[str]
    values: list[float | None]
    """Per neuron of the run: its sweep's change of accuracy (points), None if not swept."""

"""What the explorer's API returns."""

from typing import Any

from pydantic import BaseModel


class LayerPublic(BaseModel):
    path: str
    width: int


class ProjectionEntry(BaseModel):
    method: str
    params: dict[str, Any]


class RunPublic(BaseModel):
    id: str
    kind: str
    arch: str
    dataset: str | None
    neurons: int
    vector_dim: int
    created: float
    quality: dict[str, Any]
    """Held-out figures (docs/method.md): `r`, `precision_at_10` and
    `precision_at_10_without_copies` (residual copies left out), the same in `ceiling` and
    `bound`, `residual_copies` ({stages, neurons}), `live_neurons`, `held_out`. With fewer
    than two live neurons, `result` is "no live neurons" and the figures are null."""
    test_accuracy: float | None
    analyzed: bool
    labelled: bool | None
    """False for unlabelled images (a flat folder): no classes, selectivity or accuracy."""
    layers: list[LayerPublic]
    classes: list[str] | None
    source: str | None
    projections: list[ProjectionEntry]
    """The maps already computed (instant to open)."""
    images: int | None = None
    """Images of the whole dataset, when the analysis went over all of them."""
    warnings: list[str] = []
    """What the run's making found wrong, in words (e.g. a loaded model scoring near chance
    on the images: its preprocessing or classes likely do not fit them)."""


class DamagedRun(BaseModel):
    id: str
    reason: str
    """What cannot be read, e.g. `vectors.safetensors: ...`."""


class RunsPublic(BaseModel):
    data: list[RunPublic]
    count: int
    damaged: list[DamagedRun] = []
    """Runs whose files cannot be read: listed apart, with the reason."""


class NeuronBrief(BaseModel):
    id: int
    name: str
    layer: str
    channel: int
    label: str | None
    selectivity: float | None
    dead: bool | None
    quality_r: float | None
    precision_at_10: float | None


class NeuronsPublic(BaseModel):
    data: list[NeuronBrief]
    count: int
    total: int


class NeuronColumns(BaseModel):
    """Every neuron of a run, one list per field, in id order (id = position)."""

    name: list[str]
    layer: list[str]
    label: list[str | None]
    selectivity: list[float | None]
    dead: list[bool | None]
    quality_r: list[float | None]


class SampleImage(BaseModel):
    image: int
    """Dataset index within the analysed split."""
    value: float
    """The neuron's pooled activation on it."""
    label: int | None
    label_name: str | None
    prediction: int | None
    """The model's top class (argmax of its output)."""
    prediction_name: str | None
    confidence: float | None
    """The softmax probability of that class."""


class TopImage(SampleImage):
    rank: int


class ClassCount(BaseModel):
    name: str
    count: int


class NeuronDetail(NeuronBrief):
    copy_group: str | None
    """`stage:channel` shared with the neuron's residual copies, or None."""
    top: list[TopImage]
    bottom: list[SampleImage] = []
    random: list[SampleImage] = []
    class_means: list[float | None]
    classes: list[str] | None
    labelled: bool | None
    selectivity_measure: str | None = None
    model_classes_differ: bool = False
    model_top_classes: list[ClassCount] = []
    """The model's most frequent predictions among the top images."""
    histogram: dict[str, list[float]] | None


class Neighbor(NeuronBrief):
    similarity: float
    copy_group: str | None = None
    copy_of_query: bool = False
    """A residual copy of the neuron asked about (same stage, same channel)."""


class NeighborsPublic(BaseModel):
    data: list[Neighbor]
    count: int


class MapNeighbor(Neighbor):
    distance: float
    """On the 2-D map, in map units (`similarity` is still the 64-d cosine)."""


class MapNeighborsPublic(BaseModel):
    data: list[MapNeighbor]
    count: int


class ProjectionPublic(BaseModel):
    method: str
    params: dict[str, Any]
    ids: list[int]
    x: list[float]
    y: list[float]


class ProjectionPending(BaseModel):
    """A POST's answer while what it asked for is made: poll `job_id`, then GET again."""

    detail: str
    job_id: int


class FailedJob(BaseModel):
    job_id: int
    error: str
    """The last line of the job's error."""


class MapNotMade(BaseModel):
    """A GET's 409 for what no job made yet: `detail` names the POST that starts it."""

    detail: str
    job_id: int | None
    """The job making it, when one is queued or running (a GET never starts one)."""
    failed: FailedJob | None = None
    """While none runs: the last job that tried and failed (a POST tries again)."""


class CheckpointPublic(BaseModel):
    checkpoint: str
    """The stored file's name in the data home's `uploads/`: give it to an `align` job as
    `checkpoint`."""
    tensors: int
    parameters: int
    bytes: int


class MapPoints(BaseModel):
    x: list[float]
    y: list[float]
    name: list[str]
    layer: list[str]


class StudentPoints(MapPoints):
    match: list[str]
    """The teacher neuron each student neuron correlates with most."""
    corr: list[float]
    """That correlation (Pearson r on held-out images)."""


class PlacementPublic(BaseModel):
    teacher: MapPoints
    student: StudentPoints
    logit_pairs: list[tuple[int, int]]
    images: int


class PicturesPublic(BaseModel):
    """The index of a run's picture sheet: neuron i is the tile at row i // columns,
    column i % columns, `tile` pixels a side."""

    sheet: str
    """The sheet's URL (it changes when the sheet is remade)."""
    tile: int
    columns: int
    count: int
    blank: list[int]
    """Neurons with no top image, drawn as grey tiles."""
    optimised: list[int]
    """Neurons drawn by their optimised image (the `optimised` source)."""
    source: str
    features: int
    """Which optimised images the sheet saw (it is remade when more are made)."""
    seconds: float
    """How long the sheet took to make."""
    bytes: int
    """The sheet's size on disk."""

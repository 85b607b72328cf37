"""What the map's clusters and the neurons' feature visualisations return."""

from typing import Any

from pydantic import BaseModel


class ClusterOutline(BaseModel):
    x: list[float]
    y: list[float]


class ClusterPublic(BaseModel):
    id: int
    label: str
    """`#1 3, 8 · conv3`: its number, dominant classes and layers."""
    classes: list[str]
    layers: list[str]
    size: int
    members: list[int]
    """Neuron ids."""
    outline: ClusterOutline
    """A closed path round most of its members on this map."""
    anchor: list[float]
    """Where its label goes (the outline's top)."""
    outside: int
    """Members far from the rest on this map, left outside the outline."""


class ClustersPublic(BaseModel):
    method: str
    params: dict[str, Any]
    neurons: int
    unclustered: int
    """Neurons in no cluster (HDBSCAN's noise)."""
    min_size: int
    clusters: list[ClusterPublic]


class FeaturePublic(BaseModel):
    neuron: int
    made: bool
    """False until a `visualize` job has optimised this neuron's images."""
    name: str | None = None
    max_activation: float | None = None
    """The neuron's pooled activation on the image that excites it most."""
    min_activation: float | None = None
    """... and on the image that suppresses it most."""
    dataset_max: float | None = None
    """Its highest activation on the analysed images (the first top image)."""
    dataset_min: float | None = None
    size: int | None = None
    """The model's input side in pixels: the images' size."""
    channels: int | None = None
    coarse: bool | None = None
    """True for small inputs (8x8 digits, 32x32 CIFAR): the images have few pixels."""
    settings: dict[str, Any] | None = None

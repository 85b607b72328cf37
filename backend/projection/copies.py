"""Residual copies: the same channel of consecutive blocks that share a residual stream.

In a ResNet the blocks of one stage add to one stream, so channel c of `layer2.3` and of
`layer2.4` are nearly the same neuron, and they crowd each other's neighbour lists (62 %
of a ResNet-56 neuron's nearest neighbours). The rule is general, not ResNet's: two
consecutive probed layers are one stage when they have the same parent module and the
same width, and the vectors confirm it (the same channel of the other layer is, for most
channels, more similar than nearly all its other channels). The confirmation keeps out
siblings of equal width that do not share a stream, such as a VGG's convolutions.
"""

import itertools

import numpy as np

from backend.semantic.neurons import LayerInfo, NeuronIndex

CONFIRM = 0.9
"""The median channel's own copy must beat this fraction of the other layer's channels."""
_MIN_WIDTH = 4


def parent_of(path: str) -> str:
    """`layer2.3` -> `layer2`; a top-level module has the model itself ("") as parent."""
    return path.rpartition(".")[0]


def _same_stream(unit: np.ndarray, a: LayerInfo, b: LayerInfo) -> bool:
    sims = unit[a.offset : a.offset + a.width] @ unit[b.offset : b.offset + b.width].T
    own = np.diag(sims)
    beaten = (sims < own[:, None]).sum(axis=1) / (a.width - 1)
    return float(np.median(beaten)) >= CONFIRM


def layer_stages(index: NeuronIndex, unit: np.ndarray) -> list[str | None]:
    """Per layer, the stage whose residual stream it shares with a neighbouring layer
    (named by the parent module, `#2`... when one parent holds several), or None."""
    layers = index.layers
    linked = [
        parent_of(a.path) != ""
        and parent_of(a.path) == parent_of(b.path)
        and a.width == b.width >= _MIN_WIDTH
        and a.spatial == b.spatial
        and _same_stream(unit, a, b)
        for a, b in itertools.pairwise(layers)
    ]
    stages: list[str | None] = [None] * len(layers)
    runs: dict[str, int] = {}
    for i, link in enumerate(linked):
        if not link:
            continue
        if stages[i] is None:
            parent = parent_of(layers[i].path)
            runs[parent] = runs.get(parent, 0) + 1
            stages[i] = parent if runs[parent] == 1 else f"{parent}#{runs[parent]}"
        stages[i + 1] = stages[i]
    return stages


def copy_groups(index: NeuronIndex, stages: list[str | None]) -> list[str | None]:
    """Per neuron, `stage:channel` when its layer belongs to a stage (its copies share
    it), else None."""
    groups: list[str | None] = []
    for layer, stage in zip(index.layers, stages, strict=True):
        groups += [f"{stage}:{c}" if stage else None for c in range(layer.width)]
    return groups

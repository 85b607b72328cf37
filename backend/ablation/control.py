"""The control of an ablation: random neurons with the selection's size and layers.

A semantic group can hurt a class just because it removes many channels of one layer;
knocking out as many random neurons of the same layers, several times, says how much
that alone costs.
"""

import numpy as np
import torch

from backend.semantic.neurons import NeuronIndex


def per_layer(index: NeuronIndex, ids: list[int]) -> dict[str, list[int]]:
    """The selection's channels, by layer path (layers in model order)."""
    out: dict[str, list[int]] = {}
    for i in sorted(ids):
        layer = index.layer_of(i)
        out.setdefault(layer.path, []).append(i - layer.offset)
    return {layer.path: out[layer.path] for layer in index.layers if layer.path in out}


def control_draws(index: NeuronIndex, ids: list[int], draws: int, seed: int) -> list[list[int]]:
    """`draws` random selections, each with as many neurons of each layer as `ids` has,
    drawn from the layer's other neurons (from all of them when too few are left)."""
    rng = np.random.default_rng(seed)
    chosen = set(ids)
    out = []
    for _ in range(draws):
        drawn = []
        for path, channels in per_layer(index, ids).items():
            layer = index.layer(path)
            pool = [layer.offset + c for c in range(layer.width) if layer.offset + c not in chosen]
            if len(pool) < len(channels):
                pool = list(range(layer.offset, layer.offset + layer.width))
            drawn += rng.choice(pool, size=len(channels), replace=False).tolist()
        out.append(sorted(int(i) for i in drawn))
    return out


def keep_masks(index: NeuronIndex, selections: list[list[int]]) -> dict[str, torch.Tensor]:
    """path -> (R, width) float mask, 0 where replica r knocks the channel out, for every
    layer that some selection touches."""
    layers = {path for s in selections for path in per_layer(index, s)}
    masks = {
        layer.path: torch.ones(len(selections), layer.width)
        for layer in index.layers
        if layer.path in layers
    }
    for r, selection in enumerate(selections):
        for path, channels in per_layer(index, selection).items():
            masks[path][r, channels] = 0.0
    return masks


def sweep_masks(width: int) -> torch.Tensor:
    """(width, width): replica c knocks out channel c alone."""
    return 1.0 - torch.eye(width)

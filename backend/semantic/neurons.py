"""Neurons of any nn.Module: a neuron is (module path, channel) of a probed layer.

Neuron ids are stable: layers in the given order, channels in order within each layer,
so id = layer offset + channel. Names look like `layer3.1.conv2:17`.
"""

from dataclasses import dataclass

import torch
from torch import nn

from backend.core.errors import UnknownNameError


@dataclass(frozen=True)
class LayerInfo:
    path: str
    width: int
    offset: int
    spatial: bool
    """True for conv-like outputs (B, C, H, W); False for vectors (B, C)."""


class NeuronIndex:
    """Maps neuron ids <-> names <-> (layer, channel)."""

    def __init__(self, layers: list[LayerInfo]):
        self.layers = layers
        self._by_path = {layer.path: layer for layer in layers}
        self._offsets = torch.tensor([layer.offset for layer in layers])

    def __len__(self) -> int:
        last = self.layers[-1]
        return last.offset + last.width

    def layer(self, path: str) -> LayerInfo:
        if path not in self._by_path:
            raise UnknownNameError("layer", path, list(self._by_path))
        return self._by_path[path]

    def name(self, neuron_id: int) -> str:
        layer = self.layer_of(neuron_id)
        return f"{layer.path}:{neuron_id - layer.offset}"

    def names(self) -> list[str]:
        return [f"{layer.path}:{c}" for layer in self.layers for c in range(layer.width)]

    def layer_of(self, neuron_id: int) -> LayerInfo:
        if not 0 <= neuron_id < len(self):
            raise IndexError(f"neuron id {neuron_id} out of range 0..{len(self) - 1}")
        pos = int(torch.searchsorted(self._offsets, neuron_id, right=True)) - 1
        return self.layers[pos]

    def id_of(self, name: str) -> int:
        path, _, channel = name.rpartition(":")
        layer = self.layer(path)
        if not channel.isdigit() or int(channel) >= layer.width:
            raise ValueError(f"neuron {name!r}: channel must be 0..{layer.width - 1}")
        return layer.offset + int(channel)

    def layer_ids(self) -> torch.Tensor:
        """Position of each neuron's layer in `layers` (N,)."""
        return torch.cat([torch.full((layer.width,), i) for i, layer in enumerate(self.layers)])

    def to_dict(self) -> list[dict]:
        return [
            {"path": lay.path, "width": lay.width, "spatial": lay.spatial} for lay in self.layers
        ]

    @classmethod
    def from_dict(cls, layers: list[dict]) -> "NeuronIndex":
        out, offset = [], 0
        for lay in layers:
            out.append(LayerInfo(lay["path"], int(lay["width"]), offset, bool(lay["spatial"])))
            offset += int(lay["width"])
        return cls(out)


def resolve_modules(model: nn.Module, paths: list[str]) -> list[nn.Module]:
    """The submodules at `paths`; an unknown path names the valid ones."""
    modules = dict(model.named_modules())
    missing = [p for p in paths if p not in modules or p == ""]
    if missing:
        valid = [name for name in modules if name]
        raise UnknownNameError("layer", missing[0], valid)
    if len(set(paths)) != len(paths):
        raise ValueError(f"probed layers repeat a path: {paths}")
    return [modules[p] for p in paths]


LAYOUT_ATTR = "_semvec_layout"
"""A module attribute that says how its output is laid out, when the shape cannot tell:
`"nhwc"` for channels-last feature maps (Swin). Set by the model sources at build time."""


def canonical(module: nn.Module, output: torch.Tensor) -> torch.Tensor:
    """The output as (B, C, H, W), (B, C) or, for tokens, (B, T, C)."""
    if output.dim() == 4 and getattr(module, LAYOUT_ATTR, None) == "nhwc":
        return output.permute(0, 3, 1, 2)
    return output


def pool(output: torch.Tensor) -> torch.Tensor:
    """Pooled activation per channel: the spatial mean of a feature map (B, C, H, W), the
    mean over tokens of a transformer's (B, T, C), or the vector (B, C) itself."""
    if output.dim() == 3:
        return output.mean(dim=1)
    return output.flatten(2).mean(dim=2) if output.dim() > 2 else output


class ActivationProbe:
    """Forward hooks on the probed layers; after a forward pass, `pooled()` is H (B, N).

    Use as a context manager so hooks are always removed:

        with ActivationProbe(model, layers) as probe:
            logits = model(x)
            h = probe.pooled()
    """

    def __init__(self, model: nn.Module, layers: list[str], keep_maps: bool = False):
        self.model, self.paths, self.keep_maps = model, list(layers), keep_maps
        self._modules = resolve_modules(model, self.paths)
        self._pooled: dict[str, torch.Tensor] = {}
        self._maps: dict[str, torch.Tensor] = {}
        self._handles: list = []

    def __enter__(self) -> "ActivationProbe":
        for path, module in zip(self.paths, self._modules, strict=True):
            self._handles.append(module.register_forward_hook(self._hook(path)))
        return self

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def _hook(self, path: str):
        def capture(module, _inputs, output):
            if isinstance(output, tuple | list):
                output = output[0]
            output = canonical(module, output)
            self._pooled[path] = pool(output)
            if self.keep_maps and output.dim() == 4:
                self._maps[path] = output

        return capture

    def pooled(self) -> torch.Tensor:
        """H (B, N): pooled activations of the last forward pass, in float32."""
        missing = [p for p in self.paths if p not in self._pooled]
        if missing:
            raise RuntimeError(f"layers {missing} did not run in the forward pass")
        return torch.cat([self._pooled[p].float() for p in self.paths], dim=1)

    def maps(self) -> dict[str, torch.Tensor]:
        """Raw layer outputs of the last forward pass (needs keep_maps=True)."""
        return dict(self._maps)

    def index(self) -> NeuronIndex:
        """The neuron index implied by the last forward pass."""
        layers, offset = [], 0
        for path in self.paths:
            width = self._pooled[path].shape[1]
            spatial = path in self._maps
            layers.append(LayerInfo(path, width, offset, spatial))
            offset += width
        return NeuronIndex(layers)


@torch.no_grad()
def neuron_index(model: nn.Module, layers: list[str], sample: torch.Tensor) -> NeuronIndex:
    """Build the neuron index by running one sample (1, C, H, W) through the model."""
    was_training = model.training
    model.eval()
    with ActivationProbe(model, layers, keep_maps=True) as probe:
        model(sample)
    model.train(was_training)
    return probe.index()

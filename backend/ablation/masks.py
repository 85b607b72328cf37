"""Forward hooks that knock channels out, many variants of the model in one pass.

A *replica* is one way of ablating the model: for every hooked layer, which channels it
keeps. With R replicas, a batch of B images becomes R * B images at the first hooked
layer it reaches, so the layers before it run once for all replicas; each later hooked
layer replaces its own channels per replica. A model whose forward mixes a tensor from
before that layer with one after it (a skip around the hooked layer) cannot take the
wider batch: `ablated_forward` then widens the input instead, which costs the prefix R
times but gives the same numbers.

A knocked-out channel's map is replaced by a fill: zeros, or the channel's mean map over
the data (`mode="mean"`, the usual "mean ablation": the channel says nothing about the
image but keeps its average level, so the next layer sees no shift).
"""

import contextlib
from collections.abc import Callable

import torch
from torch import nn

from backend.semantic.neurons import LAYOUT_ATTR, resolve_modules


def channel_dim(module: nn.Module, output: torch.Tensor) -> int:
    """Where the channels of `module`'s output lie: 1 for (B, C, H, W) and (B, C); last for
    tokens (B, T, C) and channels-last maps (Swin's NHWC)."""
    if output.dim() == 3 or (output.dim() == 4 and getattr(module, LAYOUT_ATTR, None) == "nhwc"):
        return output.dim() - 1
    return 1


def _broadcast(values: torch.Tensor, output: torch.Tensor, dim: int) -> torch.Tensor:
    """(R, C) reshaped to (R, 1, ...) with C at `dim` + 1, against output viewed (R, B, ...)."""
    shape = [values.shape[0]] + [1] * output.dim()
    shape[dim + 1] = values.shape[1]
    return values.view(shape)


class LayerHooks:
    """A forward hook on each of `paths` (made by `_hook(path)`), registered while the
    object is used as a context manager and removed after, however the block ends."""

    def __init__(self, model: nn.Module, paths: list[str]):
        self.model, self.paths = model, list(paths)
        self._modules = dict(zip(self.paths, resolve_modules(model, self.paths), strict=True))
        self._handles: list = []

    def __enter__(self):
        self._handles += [m.register_forward_hook(self._hook(p)) for p, m in self._modules.items()]
        return self

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def _hook(self, path: str) -> Callable:
        raise NotImplementedError


class ChannelAblation(LayerHooks):
    """Hooks on `layers` of `model` applying `keep` (path -> (R, C) float, 1 keeps a
    channel, 0 replaces it) with `fill` (path -> the replacement per channel, shaped as one
    image's output, e.g. (C, H, W); absent: zeros).

    Use as a context manager; `widen` says whether the batch grows at the first hooked
    layer (`"layer"`) or is already R copies of the images when it enters (`"input"`).
    """

    def __init__(
        self,
        model: nn.Module,
        keep: dict[str, torch.Tensor],
        fill: dict[str, torch.Tensor] | None = None,
        widen: str = "layer",
    ):
        super().__init__(model, list(keep))
        self.keep, self.fill, self.widen = keep, fill or {}, widen
        self.replicas = next(iter(keep.values())).shape[0]
        self._batch = 0

    def __enter__(self) -> "ChannelAblation":
        self._handles.append(self.model.register_forward_pre_hook(self._remember_batch))
        return super().__enter__()

    def _remember_batch(self, _module, args) -> None:
        images = args[0].shape[0]
        self._batch = images // self.replicas if self.widen == "input" else images

    def _hook(self, path: str) -> Callable:
        def replace(module, _inputs, output):
            rest = ()
            if isinstance(output, tuple | list):
                output, rest = output[0], tuple(output[1:])
            out = self._apply(path, module, output)
            return (out, *rest) if rest else out

        return replace

    def _apply(self, path: str, module: nn.Module, output: torch.Tensor) -> torch.Tensor:
        r, b = self.replicas, self._batch
        if output.shape[0] == b and r > 1:  # the first hooked layer: widen here
            output = output.unsqueeze(0).expand(r, *output.shape)
        else:
            output = output.view(r, b, *output.shape[1:])
        dim = channel_dim(module, output[0])
        keep = _broadcast(self.keep[path].to(output), output[0], dim)
        fill = self.fill.get(path)
        if fill is None:
            out = output * keep
        else:
            out = output * keep + fill.to(output).unsqueeze(0).unsqueeze(0) * (1 - keep)
        return out.reshape(r * b, *out.shape[2:])


def ablated_forward(
    model: nn.Module,
    x: torch.Tensor,
    keep: dict[str, torch.Tensor],
    fill: dict[str, torch.Tensor] | None = None,
    widen: list[str] | None = None,
    after=None,
) -> torch.Tensor:
    """The model's outputs (R, B, ...) on images x (B, ...) under every replica of `keep`.

    `widen` is a one-item list shared between calls: it starts as ["layer"] and becomes
    ["input"] for good once the model refuses the batch widened inside it. `after`, a
    context manager of hooks, is entered after the ablation's, so they see its outputs.
    """
    after = after if after is not None else contextlib.nullcontext()
    widen = widen if widen is not None else ["layer"]
    r = next(iter(keep.values())).shape[0]
    if widen[0] == "layer":
        try:
            with ChannelAblation(model, keep, fill, "layer"), after:
                out = model(x)
            return out.view(r, x.shape[0], *out.shape[1:])
        except RuntimeError as err:
            if "size" not in str(err) and "shape" not in str(err):
                raise
            widen[0] = "input"  # a skip connection around a hooked layer
    wide = x.unsqueeze(0).expand(r, *x.shape).reshape(r * x.shape[0], *x.shape[1:])
    with ChannelAblation(model, keep, fill, "input"), after:
        out = model(wide)
    return out.view(r, x.shape[0], *out.shape[1:])

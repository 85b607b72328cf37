"""What a distillation loss reads from a model besides its logits: the raw outputs of some
layers, and the embedding (the input of the logit layer), through forward hooks."""

from dataclasses import dataclass, field

import torch
from torch import nn

from backend.semantic.neurons import resolve_modules


@dataclass
class Features:
    logits: torch.Tensor
    outputs: dict[str, torch.Tensor] = field(default_factory=dict)
    """Raw output of each tapped layer: (B, C, H, W) for convs, (B, C) for linears."""
    embedding: torch.Tensor | None = None
    """(B, D): what the logit layer receives."""


class Taps:
    """Forward hooks on `layers` (outputs) and a pre-hook on `embedding_of` (its input).

    Use as a context manager so that the hooks are always removed:

        with Taps(model, ["conv3"], embedding_of="fc") as taps:
            feats = taps.features(model(x))
    """

    def __init__(self, model: nn.Module, layers: list[str], embedding_of: str | None = None):
        self.paths = list(layers)
        self._modules = resolve_modules(model, self.paths) if self.paths else []
        self._head = resolve_modules(model, [embedding_of])[0] if embedding_of else None
        self._outputs: dict[str, torch.Tensor] = {}
        self._embedding: torch.Tensor | None = None
        self._handles: list = []

    def __enter__(self) -> "Taps":
        for path, module in zip(self.paths, self._modules, strict=True):
            self._handles.append(module.register_forward_hook(self._keep(path)))
        if self._head is not None:
            self._handles.append(self._head.register_forward_pre_hook(self._keep_input))
        return self

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def _keep(self, path: str):
        def hook(_module, _inputs, output):
            self._outputs[path] = output[0] if isinstance(output, tuple | list) else output

        return hook

    def _keep_input(self, _module, inputs):
        self._embedding = inputs[0].flatten(1)

    def features(self, logits: torch.Tensor) -> Features:
        """The tapped tensors of the forward pass that produced `logits`."""
        missing = [p for p in self.paths if p not in self._outputs]
        if missing:
            raise RuntimeError(f"layers {missing} did not run in the forward pass")
        out = Features(logits, dict(self._outputs), self._embedding)
        self._outputs, self._embedding = {}, None
        return out

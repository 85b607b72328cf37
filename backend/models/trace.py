"""Every module's output shape from one traced batch (for `semvec layers` and the page's
layer picker): what can be probed, and how many neurons a choice gives."""

from dataclasses import dataclass

import torch
from torch import nn

from backend.semantic.neurons import canonical


@dataclass(frozen=True)
class TracedModule:
    path: str
    kind: str
    shape: tuple[int, ...]
    """Output shape without the batch, channels first ((C, H, W), (T, C) or (C,))."""

    @property
    def channels(self) -> int:
        return self.shape[-1] if len(self.shape) == 2 else self.shape[0]

    def to_dict(self) -> dict:
        return {
            "path": self.path,
            "type": self.kind,
            "shape": list(self.shape),
            "channels": self.channels,
        }


@torch.no_grad()
def trace(model: nn.Module, x: torch.Tensor) -> list[TracedModule]:
    """The modules whose output is one tensor, in the order they first run."""
    seen: dict[str, TracedModule] = {}
    names = {m: n for n, m in model.named_modules() if n}

    def record(module, _inputs, output):
        name = names.get(module)
        if name is None or name in seen or not isinstance(output, torch.Tensor):
            return
        out = canonical(module, output)
        if out.dim() >= 2:
            seen[name] = TracedModule(name, type(module).__name__, tuple(out.shape[1:]))

    handles = [m.register_forward_hook(record) for m in names]
    try:
        model.eval()(x)
    finally:
        for handle in handles:
            handle.remove()
    return list(seen.values())

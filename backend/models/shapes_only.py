"""Build a model for its shapes only: its large tensors on the meta device, so that listing
the layers of a 600M-parameter network costs no memory and no initialisation.

`torch.device("meta")` alone breaks builders that compute on small tensors while they
build (torchvision's RegNets size their stages with `torch.arange(...).tolist()`, which a
meta tensor cannot answer). Here every tensor a factory function makes is first made on
the meta device; one of at most `SMALL` elements is made again for real, so such
arithmetic works, and anything larger (every weight of a real layer) stays on meta. The
real part is bounded: a few KB per small tensor.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils._device import _device_constructors

SMALL = 1024
"""Elements of a tensor made for real during a shapes-only build (4 KB of float32)."""


class _MetaUnlessSmall(TorchFunctionMode):
    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func not in _device_constructors() or kwargs.get("device") is not None:
            return func(*args, **kwargs)
        made = func(*args, **{**kwargs, "device": "meta"})
        if isinstance(made, torch.Tensor) and made.numel() <= SMALL:
            return func(*args, **kwargs)
        return made


@contextmanager
def shapes_only() -> Iterator[None]:
    """Within it, factory functions make large tensors on the meta device (see the module)."""
    with _MetaUnlessSmall():
        yield


def to_meta(model: nn.Module) -> nn.Module:
    """The model wholly on the meta device (its few small real tensors too), ready to trace."""
    return model.to("meta")

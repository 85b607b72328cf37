"""Device choice and mixed precision: CUDA with autocast when present, else CPU."""

import contextlib

import torch

from backend.core.errors import SemvecError


def resolve_device(name: str = "auto") -> torch.device:
    """`auto` picks CUDA when available; an explicit device must exist."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as err:
        raise SemvecError(f"unknown device {name!r}; use auto, cpu, cuda or cuda:N") from err
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SemvecError(f"device {name!r} asked for, but this machine has no CUDA GPU; use cpu")
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        raise SemvecError(
            f"device {name!r} does not exist; this machine has {torch.cuda.device_count()} GPU(s)"
        )
    if device.type not in ("cpu", "cuda"):
        raise SemvecError(f"device type {device.type!r} is not supported; use cpu or cuda")
    return device


def autocast(device: torch.device, enabled: bool = True):
    """bf16 autocast on CUDA; a no-op on CPU, where it would only slow small models down."""
    if enabled and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()

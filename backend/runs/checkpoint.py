"""Reading and writing weights safely.

Checkpoints are read only through safetensors or `torch.load(weights_only=True)`, so a
file can never run code on load: a pickle payload that names anything other than tensors
and plain containers is refused with a message that says how to convert the file.
"""

import pickle
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from backend.core.errors import CheckpointError

_NESTED_KEYS = ("state_dict", "model_state_dict", "model", "net", "weights")


def save_state_dict(state: dict[str, torch.Tensor], path: Path) -> None:
    """Write tensors as safetensors (copies, so shared storage is never a problem)."""
    tensors = {name: t.detach().cpu().contiguous().clone() for name, t in state.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp))
    tmp.replace(path)


def _is_safetensors(path: Path) -> bool:
    with path.open("rb") as f:
        head = f.read(9)
    return len(head) == 9 and head[8:9] == b"{"


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Tensors of a safetensors or torch checkpoint, refusing anything unsafe or corrupt."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    if _is_safetensors(path):
        try:
            return load_file(str(path))
        except (SafetensorError, OSError, ValueError) as err:
            raise CheckpointError(f"{path.name} is not a valid safetensors file: {err}") from err
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(
            f"refused {path.name}: it holds pickled Python objects besides tensors, and semvec "
            "never unpickles arbitrary objects (they could run code). Re-save only the weights, "
            "e.g. safetensors.torch.save_file(model.state_dict(), 'model.safetensors')."
        ) from err
    except Exception as err:
        # (IndexError, KeyError, struct.error, ... on random bytes): all mean "not a checkpoint".
        raise CheckpointError(f"{path.name} is not a readable checkpoint: {err!r}") from err
    return _tensors_only(loaded, path.name)


def _tensors_only(loaded: object, label: str) -> dict[str, torch.Tensor]:
    if isinstance(loaded, dict):
        for key in _NESTED_KEYS:
            if isinstance(loaded.get(key), dict):
                loaded = loaded[key]
                break
    if not isinstance(loaded, dict) or not loaded:
        raise CheckpointError(f"{label} does not hold a state dict (name -> tensor)")
    state = {k: v for k, v in loaded.items() if isinstance(v, torch.Tensor)}
    if not state:
        raise CheckpointError(f"{label} holds no tensors")
    if all(k.startswith("module.") for k in state):  # saved from DataParallel / DDP
        state = {k.removeprefix("module."): v for k, v in state.items()}
    return state


def _listed(items: list[str], limit: int = 8) -> str:
    more = f" (+{len(items) - limit} more)" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def load_into(model: nn.Module, state: dict[str, torch.Tensor], arch: str = "model") -> None:
    """Load `state` into `model` exactly, or say which keys and shapes differ."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    shapes = [
        f"{k}: checkpoint {tuple(state[k].shape)} vs {arch} {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state and state[k].shape != v.shape
    ]
    problems = []
    if missing:
        problems.append(f"missing keys: {_listed(missing)}")
    if unexpected:
        problems.append(f"unexpected keys: {_listed(unexpected)}")
    if shapes:
        problems.append(f"shape mismatches: {_listed(shapes, 5)}")
    if problems:
        raise CheckpointError(f"checkpoint does not fit {arch}: " + "; ".join(problems))
    model.load_state_dict(state, strict=True)

"""Reading and writing weights safely.

Checkpoints are read only through safetensors or `torch.load(weights_only=True)`, so a
file can never run code on load: a pickle payload that names anything other than tensors
and plain containers is refused with a message that says how to convert the file.
"""

import pickle
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from backend.core.errors import CheckpointError
from backend.runs.key_diff import differences, is_counter

_NESTED_KEYS = (
    "state_dict",
    "model_state_dict",
    "model",
    "net",
    "network",
    "module",
    "weights",
    "params",
    "ema",
    "model_ema",
    "state_dict_ema",
    "ema_state_dict",
)
_PREFIXES = ("module.", "_orig_mod.")


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
            state = load_file(str(path))
        except (SafetensorError, OSError, ValueError) as err:
            raise CheckpointError(f"{path.name} is not a valid safetensors file: {err}") from err
        return strip_prefixes(state)  # a wrapped model's keys, re-saved as safetensors
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


def header_shapes(path: Path) -> dict[str, tuple[int, ...]] | None:
    """Key -> shape of a safetensors file, read from its header alone (no tensor is read);
    None for a file of another kind or one whose header does not read."""
    path = Path(path)
    if not path.is_file() or not _is_safetensors(path):
        return None
    try:
        with safe_open(str(path), "pt") as f:
            shapes = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}  # noqa: SIM118
    except (SafetensorError, OSError, ValueError):
        return None
    return strip_prefixes(shapes)


def _tensors_only(loaded: object, label: str) -> dict[str, torch.Tensor]:
    state = unwrap(loaded)
    if state is None:
        raise CheckpointError(f"{label} does not hold a state dict (name -> tensor)")
    return strip_prefixes(state)


def unwrap(loaded: object, depth: int = 0) -> dict[str, torch.Tensor] | None:
    """The state dict inside what people save: the dict itself (tensors beside metadata
    such as `best_prec1` or `epoch`), or one nested under a usual key (`state_dict`,
    `model`, `model_state_dict`, `net`, `ema`, ...), at any depth."""
    if not isinstance(loaded, dict) or depth > 4:
        return None
    tensors = {
        k: v for k, v in loaded.items() if isinstance(k, str) and isinstance(v, torch.Tensor)
    }
    if tensors and len(tensors) >= len(loaded) / 2:
        return tensors
    for key in _NESTED_KEYS:
        found = unwrap(loaded.get(key), depth + 1)
        if found:
            return found
    return tensors or None


def strip_prefixes(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Without the prefixes wrappers add to every key: `module.` (DataParallel, DDP) and
    `_orig_mod.` (torch.compile), in any nesting."""
    while True:
        prefix = next((p for p in _PREFIXES if all(k.startswith(p) for k in state)), None)
        if prefix is None:
            return state
        state = {k.removeprefix(prefix): v for k, v in state.items()}


def load_into(model: nn.Module, state: dict[str, torch.Tensor], arch: str = "model") -> None:
    """Load `state` into `model` exactly, or say how the keys and shapes differ.

    BatchNorm's `num_batches_tracked` counters are not weights: a checkpoint saved
    without them loads (the model keeps its own), and extra ones are ignored.
    """
    expected = model.state_dict()
    shapes = {k: tuple(v.shape) for k, v in state.items()}
    problems = differences(shapes, {k: tuple(v.shape) for k, v in expected.items()}, arch)
    if problems:
        raise CheckpointError(f"checkpoint does not fit {arch}: " + "; ".join(problems))
    state = {k: v for k, v in state.items() if k in expected}
    for key, value in expected.items():
        if key not in state and is_counter(key):
            state[key] = value
    model.load_state_dict(state, strict=True)

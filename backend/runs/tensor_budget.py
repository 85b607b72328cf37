"""What a weights-only torch file would grow to, measured before anything is loaded.

`torch.load(weights_only=True)` never runs code, but a tiny file can still describe huge
tensors: a stride-0 view (`zeros(1).expand(40000, 40000)`), a thousand views of one
storage, or a DEFLATE-compressed storage entry that inflates a thousandfold. Loading is
cheap; the copy that stores the upload as safetensors is what would exhaust memory.

`check_torch_file` reads only the zip directory and the pickle `data.pkl`, with an
unpickler that knows the few names torch writes for plain tensors and builds nothing but
records of them. It refuses what is not plainly laid out (compressed entries, overlapping
or out-of-bounds views, other tensor kinds) and what would materialise past the limit.
"""

import pickle
import zipfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import torch

from backend.core.errors import CheckpointError, SemvecError


class ExpandsTooFarError(SemvecError):
    """A checkpoint whose tensors, copied out, would be bigger than the upload limit (413)."""


@dataclass(frozen=True)
class _Storage:
    key: str
    itemsize: int
    numel: int


@dataclass(frozen=True)
class _Tensor:
    storage: _Storage
    offset: int
    size: tuple
    stride: tuple


class _Named:
    """A harmless stand-in for a name torch pickles (a dtype, a storage type, a layout)."""

    def __init__(self, name: str):
        self.name = name

    def __call__(self, *args, **kwargs):
        return self


def _rebuild_tensor(storage, offset, size, stride, *_rest):
    return _Tensor(storage, offset, tuple(size), tuple(stride))


def _first(data, *_rest):
    return data  # a Parameter is its tensor


def _from_type(func, _new_type, args, _state):
    return func(*args)


_CALLS = {
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v3"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _first,
    ("torch._utils", "_rebuild_parameter_with_state"): _first,
    ("torch._tensor", "_rebuild_from_type_v2"): _from_type,
    ("collections", "OrderedDict"): OrderedDict,
}
_NAMES = {
    ("torch", "Size"),
    ("torch", "device"),
    ("torch", "Tensor"),
    ("torch.nn.parameter", "Parameter"),
    ("torch.serialization", "_get_layout"),
}


def _itemsize(storage_type: object) -> int:
    name = getattr(storage_type, "name", "")
    if name in ("UntypedStorage", "ByteStorage"):
        return 1
    try:
        dtype = torch.serialization.StorageType(name).dtype
    except (AttributeError, KeyError, RuntimeError) as err:
        raise pickle.UnpicklingError(f"unknown storage type {name!r}") from err
    return torch.empty((), dtype=dtype).element_size()


class _Scanner(pickle.Unpickler):
    """Reads data.pkl into records: no torch object is made, no storage is read."""

    def find_class(self, module: str, name: str):
        if (module, name) in _CALLS:
            return _CALLS[(module, name)]
        if (module, name) in _NAMES or (module == "torch" and name.endswith("Storage")):
            return _Named(name)
        if module == "torch" and isinstance(getattr(torch, name, None), torch.dtype):
            return _Named(name)
        # Everything else is either refused by torch's weights-only reader too, or a tensor
        # kind (sparse, quantized, nested, meta, numpy) whose size this module cannot check.
        raise pickle.UnpicklingError(f"{module}.{name} is not a plain tensor")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
            raise pickle.UnpicklingError("unexpected persistent id")
        _tag, storage_type, key, _location, numel = pid[:5]
        if not isinstance(numel, int) or numel < 0:
            raise pickle.UnpicklingError("bad storage size")
        return _Storage(str(key), _itemsize(storage_type), numel)


def _tensors(found: object, out: list[_Tensor], depth: int = 0) -> list[_Tensor]:
    if depth > 50:
        raise CheckpointError("the checkpoint nests containers too deeply")
    if isinstance(found, _Tensor):
        out.append(found)
    elif isinstance(found, dict):
        for value in found.values():
            _tensors(value, out, depth + 1)
    elif isinstance(found, list | tuple | set):
        for value in found:
            _tensors(value, out, depth + 1)
    return out


def _plain(t: _Tensor) -> str | None:
    """Why `t` is not a plain, non-overlapping view inside its storage (None when it is)."""
    if len(t.size) != len(t.stride) or not all(
        isinstance(v, int) for v in (t.offset, *t.size, *t.stride)
    ):
        return "its size and strides do not match"
    if t.offset < 0 or any(v < 0 for v in (*t.size, *t.stride)):
        return "it has negative sizes, strides or offset"
    if 0 in t.size:
        return None
    extent = 1
    for size, stride in sorted(zip(t.size, t.stride, strict=True), key=lambda p: p[1]):
        if size > 1 and stride < extent:
            return "its elements overlap, as in a stride-0 or expanded view"
        extent = max(extent, stride * (size - 1) + 1)
    if t.offset + extent > t.storage.numel:
        return "it reaches past the end of its storage"
    return None


def _numel(size: tuple) -> int:
    n = 1
    for s in size:
        n *= s
    return n


# torch.save's format before 1.6: a pickled magic number (PROTO 2, LONG1 of 10 bytes).
_LEGACY_TORCH = b"\x80\x02\x8a\x0a"


def check_upload(path: Path, limit_bytes: int) -> None:
    """`check_torch_file` for a torch zip file; refuses torch's pre-1.6 format (its views
    cannot be measured without loading); other files (safetensors, whose layout its own
    reader checks, or garbage) are left to the checkpoint reader."""
    with Path(path).open("rb") as f:
        head = f.read(len(_LEGACY_TORCH))
    if head == _LEGACY_TORCH:
        raise CheckpointError(
            f"{Path(path).name} is in torch's format from before 1.6; re-save it with "
            "safetensors.torch.save_file (or a current torch.save)"
        )
    if zipfile.is_zipfile(path):
        check_torch_file(path, limit_bytes)


def check_torch_file(path: Path, limit_bytes: int) -> None:
    """Refuse (CheckpointError, or ExpandsTooFarError past `limit_bytes`) a torch file whose
    tensors are not plainly laid out or would not fit the limit once copied out."""
    path = Path(path)
    limit_mb = limit_bytes // 2**20
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as err:
        raise CheckpointError(
            f"{path.name} is not a torch zip checkpoint (torch.save since 1.6) nor safetensors; "
            "re-save it with safetensors.torch.save_file"
        ) from err
    with archive:
        entries = archive.infolist()
        packed = [e.filename for e in entries if e.compress_type != zipfile.ZIP_STORED]
        if packed:
            raise CheckpointError(
                f"{path.name} has compressed entries ({packed[0]}); torch.save never compresses, "
                "so the file was repacked: save it again with torch.save or safetensors"
            )
        pickles = [e for e in entries if e.filename.endswith("/data.pkl")]
        if len(pickles) != 1:
            raise CheckpointError(f"{path.name} is not a torch checkpoint (no single data.pkl)")
        prefix = pickles[0].filename.removesuffix("data.pkl")
        records = {e.filename.removeprefix(prefix + "data/"): e.file_size for e in entries}
        try:
            with archive.open(pickles[0]) as f:
                found = _Scanner(f).load()
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError) as err:
            raise CheckpointError(
                f"refused {path.name}: {err}. semvec takes plain tensors only (a state dict); "
                "re-save the weights with safetensors.torch.save_file"
            ) from err
    tensors = _tensors(found, [])
    storages = {t.storage.key: t.storage for t in tensors}
    for storage in storages.values():
        if records.get(storage.key, -1) < storage.numel * storage.itemsize:
            raise CheckpointError(f"{path.name}: storage {storage.key} is missing or truncated")
    for t in tensors:
        why = _plain(t)
        if why is not None:
            raise CheckpointError(
                f"refused {path.name}: a tensor of size {list(t.size)} is not plainly laid out "
                f"({why}); save contiguous tensors, e.g. {{k: v.contiguous().clone()}}"
            )
    stored = sum(s.numel * s.itemsize for s in storages.values())
    copied = sum(_numel(t.size) * t.storage.itemsize for t in tensors)
    if max(stored, copied) > limit_bytes:
        raise ExpandsTooFarError(
            f"{path.name} holds {max(stored, copied) / 2**20:,.0f} MB of tensors once loaded, "
            f"over the {limit_mb} MB upload limit (raise SEMVEC_MAX_UPLOAD_MB, or pass a path to "
            "`semvec align`)"
        )

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
from backend.runs.upload_budget import (
    MAX_TENSORS,
    check_safetensors,
    check_zip_entries,
    too_many,
)


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
        storage = module in ("torch", "torch.cuda") and name.endswith("Storage")
        if (module, name) in _NAMES or storage:
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
_LEGACY_MAGIC, _LEGACY_PROTOCOL = 0x1950A86A20F9469CFC6C, 1001


def check_upload(path: Path, limit_bytes: int, max_tensors: int) -> None:
    """`check_torch_file` for a torch file (zip, or the format before 1.6), after its zip
    directory's size; other files (safetensors, or garbage) have their header budgeted and
    the rest left to the checkpoint reader."""
    path = Path(path)
    with path.open("rb") as f:
        head = f.read(len(_LEGACY_TORCH))
    if head == _LEGACY_TORCH or zipfile.is_zipfile(path):
        if head != _LEGACY_TORCH:
            check_zip_entries(path, max_tensors)
        check_torch_file(path, limit_bytes, max_tensors)
    else:
        check_safetensors(path, limit_bytes, max_tensors)


def _refused(path: Path, err: Exception) -> CheckpointError:
    return CheckpointError(
        f"refused {path.name}: {err}. semvec takes plain tensors only (a state dict); "
        "re-save the weights with safetensors.torch.save_file"
    )


def _scan_zip(path: Path) -> tuple[object, dict[str, int]]:
    """The records of a zip file's data.pkl, and the bytes stored for each storage key."""
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
                return _Scanner(f).load(), records
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError) as err:
            raise _refused(path, err) from err


def _scan_legacy(path: Path) -> tuple[object, dict[str, int]]:
    """The same for torch's format before 1.6 (still how many published checkpoints are
    saved): five pickles in a row (magic number, protocol, system info, the object, the
    storage keys), then each storage as an 8-byte element count and its raw bytes. Only the
    headers are read; the bytes are skipped, so nothing is built."""
    records: dict[str, int] = {}
    try:
        with path.open("rb") as f:
            if _Scanner(f).load() != _LEGACY_MAGIC or _Scanner(f).load() != _LEGACY_PROTOCOL:
                raise pickle.UnpicklingError("not a torch file (bad magic number or protocol)")
            info = _Scanner(f).load()
            if not isinstance(info, dict) or not info.get("little_endian", True):
                raise pickle.UnpicklingError("a big-endian file")
            found = _Scanner(f).load()
            keys = _Scanner(f).load()
            if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
                raise pickle.UnpicklingError("a bad list of storage keys")
            itemsize = {t.storage.key: t.storage.itemsize for t in _tensors(found, [])}
            end = path.stat().st_size
            for key in keys:
                stored = int.from_bytes(f.read(8), "little") * itemsize.get(key, 1)
                f.seek(f.tell() + stored)
                if f.tell() > end:
                    raise EOFError(f"storage {key} is truncated")
                records[key] = stored
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError) as err:
        raise _refused(path, err) from err
    return found, records


def check_torch_file(path: Path, limit_bytes: int, max_tensors: int = MAX_TENSORS) -> None:
    """Refuse (CheckpointError, or ExpandsTooFarError past `limit_bytes`, OverBudgetError
    past `max_tensors`) a torch file whose tensors are not plainly laid out or would not
    fit the limits once copied out."""
    path = Path(path)
    limit_mb = limit_bytes // 2**20
    with path.open("rb") as f:
        legacy = f.read(len(_LEGACY_TORCH)) == _LEGACY_TORCH
    found, records = _scan_legacy(path) if legacy else _scan_zip(path)
    tensors = _tensors(found, [])
    if len(tensors) > max_tensors:
        raise too_many(path.name, f"{len(tensors):,}", max_tensors)
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

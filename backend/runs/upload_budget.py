"""How many tensors an upload may hold, counted from its header before any is read.

A 74 MB safetensors file can hold a million one-element tensors; reading it builds a
million tensor objects (gigabytes) and holds the interpreter for a minute. A real
checkpoint has hundreds to a few thousand tensors (a ViT-g has about 1,000, a RegNet-128GF
about 2,000), so the default of 20,000 leaves ten times the headroom. The count comes from
the safetensors header (its size first, from the file's first bytes, so that a huge
header is refused while the upload still streams in) or from a torch zip's directory.
"""

import json
import struct
import zipfile
from pathlib import Path

from backend.core.errors import CheckpointError, SemvecError

MAX_TENSORS = 20_000
"""The default of SEMVEC_MAX_UPLOAD_TENSORS."""
HEADER_BYTES_PER_TENSOR = 256
"""A safetensors header spends ~100 bytes per tensor (name, dtype, shape, offsets)."""
_ITEMSIZE = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2}
_ITEMSIZE |= {"F16": 2, "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8}


class OverBudgetError(SemvecError):
    """An upload past one of its limits (answered 413, naming the limit)."""


def too_many(name: str, found: str, max_tensors: int) -> OverBudgetError:
    return OverBudgetError(
        f"{name} holds {found} tensors, over the limit of {max_tensors:,} a checkpoint may hold "
        "(a real one has hundreds to a few thousand; raise SEMVEC_MAX_UPLOAD_TENSORS, or pass "
        "a path to `semvec align`)"
    )


def header_limit(max_tensors: int) -> int:
    return max_tensors * HEADER_BYTES_PER_TENSOR


def check_first_bytes(head: bytes, name: str, max_tensors: int) -> None:
    """Refuse a safetensors upload whose declared header is over budget, from its first 9
    bytes (the header's size, then its opening brace; other files are not judged here)."""
    if len(head) < 9 or head[8:9] != b"{":
        return
    (length,) = struct.unpack("<Q", head[:8])
    if length > header_limit(max_tensors):
        raise OverBudgetError(
            f"{name} has a {length / 2**20:,.1f} MB safetensors header, over the "
            f"{header_limit(max_tensors) / 2**20:,.1f} MB that {max_tensors:,} tensors take at "
            "most (raise SEMVEC_MAX_UPLOAD_TENSORS, or pass a path to `semvec align`)"
        )


def check_safetensors(path: Path, limit_bytes: int, max_tensors: int) -> None:
    """Budget a safetensors file from its header: its size, its number of tensors (counted
    in the raw bytes, before parsing) and their total bytes."""
    with path.open("rb") as f:
        head = f.read(9)
        if len(head) < 9 or head[8:9] != b"{":
            return  # not safetensors: the reader says what it is not
        check_first_bytes(head, path.name, max_tensors)
        f.seek(8)
        raw = f.read(struct.unpack("<Q", head[:8])[0])
    count = raw.count(b'"data_offsets"')
    if count > max_tensors:
        raise too_many(path.name, f"{count:,}", max_tensors)
    try:
        header = json.loads(raw)
        total = sum(
            _ITEMSIZE.get(entry["dtype"], 8) * _numel(entry["shape"])
            for key, entry in header.items()
            if key != "__metadata__"
        )
    except (ValueError, TypeError, KeyError, AttributeError):
        return  # not a valid header: the reader refuses it in its own words
    if total > limit_bytes:
        raise OverBudgetError(
            f"{path.name} declares {total / 2**20:,.0f} MB of tensors, over the "
            f"{limit_bytes // 2**20} MB upload limit (raise SEMVEC_MAX_UPLOAD_MB, or pass a "
            "path to `semvec align`)"
        )


def check_zip_entries(path: Path, max_tensors: int) -> None:
    """Budget a torch zip file from its end record (one entry per storage) before its
    directory is read: reading a directory of a million entries costs gigabytes."""
    try:
        with path.open("rb") as f:
            end = zipfile._EndRecData(f)
    except OSError as err:
        raise CheckpointError(f"{path.name} does not read: {err}") from err
    if end is not None and end[zipfile._ECD_ENTRIES_TOTAL] > max_tensors + 8:
        raise too_many(path.name, f"up to {end[zipfile._ECD_ENTRIES_TOTAL]:,}", max_tensors)


def _numel(shape: list) -> int:
    n = 1
    for size in shape:
        n *= int(size)
    return n

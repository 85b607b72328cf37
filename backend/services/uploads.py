"""Checkpoints people upload to align post hoc: size-limited, checked, stored as safetensors.

Whatever arrives (safetensors or a weights-only torch file) goes through the same safe
reader as every other checkpoint, so a pickle payload is refused before it can run, and
what is kept is always a plain safetensors file under `<home>/uploads/`.
"""

import hashlib
import os
import re
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from starlette.concurrency import run_in_threadpool

from backend.core.errors import SemvecError
from backend.runs.checkpoint import read_state_dict, save_state_dict
from backend.runs.tensor_budget import check_upload
from backend.runs.upload_budget import MAX_TENSORS, check_first_bytes


class UploadTooLargeError(SemvecError):
    pass


@dataclass
class StoredCheckpoint:
    path: Path
    tensors: int
    parameters: int
    bytes: int


def clean_stem(filename: str) -> str:
    """A safe file stem from whatever name the client sent (no folders, no dots first)."""
    stem = Path(filename.replace("\\", "/")).name.rsplit(".", 1)[0]
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-")
    return stem[:64] or "checkpoint"


async def store_upload(
    chunks: AsyncIterator[bytes],
    filename: str,
    folder: Path,
    limit_bytes: int,
    max_tensors: int = MAX_TENSORS,
) -> StoredCheckpoint:
    """Stream an upload to disk (refusing past `limit_bytes`, or a safetensors header too
    big for `max_tensors` as soon as its first bytes arrive), check it, keep it as
    safetensors."""
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=".upload-", suffix=".part")
    tmp = Path(tmp_name)
    digest, size, head = hashlib.sha256(), 0, b""
    try:
        with os.fdopen(fd, "wb") as out:
            async for chunk in chunks:
                size += len(chunk)
                if size > limit_bytes:
                    raise UploadTooLargeError(
                        f"upload is over the {limit_bytes // 2**20} MB limit "
                        "(raise SEMVEC_MAX_UPLOAD_MB, or pass a path to `semvec align`)"
                    )
                if len(head) < 9:  # a header's size is known from 9 bytes: judge it now
                    head = (head + chunk)[:9]
                    check_first_bytes(head, Path(filename).name, max_tensors)
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise SemvecError("the upload is empty: send the checkpoint file as the request body")
        path = folder / f"{clean_stem(filename)}-{digest.hexdigest()[:10]}.safetensors"
        # Seconds of CPU for a big file: off the event loop, so other requests go on.
        return await run_in_threadpool(_convert, tmp, path, size, limit_bytes, max_tensors)
    except SemvecError as err:  # say the user's file name, not the temporary one
        err.args = tuple(
            a.replace(tmp.name, Path(filename).name) if isinstance(a, str) else a for a in err.args
        )
        raise
    finally:
        tmp.unlink(missing_ok=True)


def _convert(
    tmp: Path, path: Path, size: int, limit_bytes: int, max_tensors: int
) -> StoredCheckpoint:
    """Check the file (its tensors' number and size before any copy) and keep it as
    safetensors."""
    check_upload(tmp, limit_bytes, max_tensors)
    state = read_state_dict(tmp)  # CheckpointError for corrupt or unsafe files
    save_state_dict(state, path)
    return StoredCheckpoint(
        path=path,
        tensors=len(state),
        parameters=sum(t.numel() for t in state.values()),
        bytes=size,
    )

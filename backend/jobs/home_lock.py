"""One server or runner per data home: a second one would mark the first one's running
jobs `interrupted`, and resuming them there would run two workers on one job.

The lock is an advisory `flock` on `<home>/runner.lock`, held for the life of the
process (the kernel drops it when the process dies, SIGKILL included). Worker processes
do not inherit it (Python opens files non-inheritable).
"""

import fcntl
import os
from pathlib import Path

from backend.core.errors import SemvecError

_HELD: dict[Path, int] = {}


class HomeInUseError(SemvecError):
    """Another semvec server or `semvec jobs work` runs jobs from this data home."""


def hold(home: Path) -> bool:
    """Take this process's lock on `home`; False when it holds it already."""
    key = Path(home).resolve()
    if key in _HELD:
        return False
    key.mkdir(parents=True, exist_ok=True)
    path = key / "runner.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
        os.close(fd)
        raise HomeInUseError(
            f"another semvec server or `semvec jobs work` (pid {holder}) is running jobs from "
            f"this data home ({key.name}); stop it first, or give this one its own SEMVEC_HOME"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    _HELD[key] = fd
    return True


def release(home: Path) -> None:
    fd = _HELD.pop(Path(home).resolve(), None)
    if fd is not None:
        os.close(fd)  # closing the descriptor drops the flock

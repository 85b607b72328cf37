"""A server process's memory from /proc: what one request cost it at its peak."""

import time
from contextlib import contextmanager
from dataclasses import dataclass


def _status_kb(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))


def rss_mb(pid: int) -> float:
    return _status_kb(pid, "VmRSS") / 1024


@dataclass
class Cost:
    seconds: float = 0.0
    grew_mb: float = 0.0
    """Peak resident memory during the request, less the resident memory before it."""


@contextmanager
def cost_of(pid: int):
    """Measure the block: wall seconds, and how far the process's peak RSS (VmHWM, reset
    first through clear_refs, so a spike that is freed before the end still counts) rose
    above its RSS before."""
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")  # resets VmHWM to the current RSS
    cost, before, start = Cost(), rss_mb(pid), time.monotonic()
    yield cost
    cost.seconds = time.monotonic() - start
    cost.grew_mb = _status_kb(pid, "VmHWM") / 1024 - before

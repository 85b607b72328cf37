"""Side-by-side timing: interleave the contenders in rounds, compare medians."""

import statistics
import time
from collections.abc import Callable


def interleaved(
    contenders: dict[str, Callable[[], None]],
    rounds: int = 7,
    warmup: int = 1,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, list[float]]:
    """Seconds per call of each contender in every round, alternating them round by round
    so that machine noise (other processes, frequency changes) hits all of them alike.

    `clock=time.process_time` counts only this process's CPU time, which leaves out the
    time other processes take the CPU away (single-threaded work on a shared machine)."""
    for _ in range(warmup):
        for fn in contenders.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, fn in contenders.items():
            started = clock()
            fn()
            times[name].append(clock() - started)
    return times


def paired_ratio(numerator: list[float], denominator: list[float]) -> float:
    """Median over rounds of the per-round ratio: each pair ran back to back, so the pair
    shares the machine's state at that moment."""
    return statistics.median(n / d for n, d in zip(numerator, denominator, strict=True))


def median(values: list[float]) -> float:
    return statistics.median(values)

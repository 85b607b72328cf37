"""Closed-loop HTTP load: `clients` asyncio tasks on one event loop, each sending one
request, waiting for the whole answer, then sending the next (no think time unless asked).

One process with asyncio + httpx keeps the generator's own cost small and measurable: it
reports its CPU seconds and how late its event loop wakes up (loop lag). A busy loop would
add its lag to every latency, so a p95 lag far below the measured p95 latency shows that
the server, not the generator, sets the figures.
"""

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import numpy as np

ENDPOINTS = ("neuron", "neighbors", "image", "projection")
IMAGE_RANKS = 9  # the analysis keeps the top 9 images of each neuron
LAG_TICK_S = 0.05


@dataclass
class Sample:
    endpoint: str
    at_s: float  # when it was sent, from the start of the window
    ms: float
    error: str | None  # None: 200 with its whole body read


def request_for(run: str, neurons: int, rng: random.Random) -> tuple[str, str, dict]:
    """(endpoint, path, params): one of the four browsing endpoints, on a random neuron."""
    endpoint, i = rng.choice(ENDPOINTS), rng.randrange(neurons)
    base = f"/api/runs/{run}"
    if endpoint == "neuron":
        return endpoint, f"{base}/neurons/{i}", {}
    if endpoint == "neighbors":
        return endpoint, f"{base}/neurons/{i}/neighbors", {"k": 10}
    if endpoint == "image":
        return (
            endpoint,
            f"{base}/neurons/{i}/images/{rng.randrange(IMAGE_RANKS)}.png",
            {"size": 128},
        )
    return endpoint, f"{base}/projection", {"method": "umap"}


async def _client(
    url: str,
    next_request: Callable[[], tuple[str, str, dict]],
    t0: float,
    deadline: float,
    think_s: float,
    samples: list[Sample],
) -> None:
    """One user, with its own connection: one pool shared by 50 clients cost the generator
    2-3x the CPU per request."""
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        while time.perf_counter() < deadline:
            endpoint, path, params = next_request()
            started = time.perf_counter()
            error = None
            try:
                response = await http.get(path, params=params)
                if response.status_code != 200:
                    error = f"HTTP {response.status_code}: {response.text[:120]}"
            except httpx.HTTPError as err:
                error = f"{type(err).__name__}: {err}"[:160]
            took = 1e3 * (time.perf_counter() - started)
            samples.append(Sample(endpoint, started - t0, took, error))
            if think_s:
                await asyncio.sleep(think_s)


async def _lag(deadline: float, lags: list[float]) -> None:
    while time.perf_counter() < deadline:
        expected = time.perf_counter() + LAG_TICK_S
        await asyncio.sleep(LAG_TICK_S)
        lags.append(1e3 * max(0.0, time.perf_counter() - expected))


async def generate(
    url: str,
    run: str,
    neurons: int,
    clients: int,
    duration_s: float,
    think_s: float = 0.0,
    seed: int = 0,
    on_tick: Callable | None = None,
) -> dict:
    """Run the load for `duration_s`; `on_tick()` (a coroutine function) runs every 5 s
    beside it, for monitoring. Returns the samples and what the generator itself cost."""
    rng = random.Random(seed)
    samples: list[Sample] = []
    lags: list[float] = []
    cpu0, t0 = time.process_time(), time.perf_counter()
    deadline = t0 + duration_s
    tasks = [
        _client(url, lambda: request_for(run, neurons, rng), t0, deadline, think_s, samples)
        for _ in range(clients)
    ]
    tasks.append(_lag(deadline, lags))
    if on_tick is not None:
        tasks.append(_ticker(on_tick, deadline))
    await asyncio.gather(*tasks)
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    return {"samples": samples, "wall_s": wall, "client_cpu_s": cpu, "loop_lag_ms": lags}


async def _ticker(on_tick: Callable, deadline: float, every_s: float = 5.0) -> None:
    await on_tick()
    while time.perf_counter() + every_s < deadline:
        await asyncio.sleep(every_s)
        await on_tick()


def latency_stats(samples: list[Sample], window_s: float) -> dict:
    """count, errors (with up to 5 distinct reasons), p50/p95/p99/max ms, req/s."""
    ms = np.array([s.ms for s in samples]) if samples else np.zeros(1)
    reasons = sorted({s.error for s in samples if s.error})
    return {
        "count": len(samples),
        "errors": sum(s.error is not None for s in samples),
        "error_samples": reasons[:5],
        "p50_ms": float(np.percentile(ms, 50)),
        "p95_ms": float(np.percentile(ms, 95)),
        "p99_ms": float(np.percentile(ms, 99)),
        "max_ms": float(ms.max()),
        "req_per_s": len(samples) / window_s,
    }


def summarise(samples: list[Sample], window_s: float) -> dict:
    """Per endpoint and overall ("all")."""
    out = {e: latency_stats([s for s in samples if s.endpoint == e], window_s) for e in ENDPOINTS}
    out["all"] = latency_stats(samples, window_s)
    return out

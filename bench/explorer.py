"""Explorer benchmarks (issue 4): a real `semvec serve` on loopback, a real headless Chromium.

1. neuron detail, neighbours (k=10), top image, 10k-neuron run: p50 / p95   (goal p95 <= 50 ms)
2. projection payload (cached UMAP) and columns, 10k run: p50 / p95          (goal <= 300 ms)
3. click on a map point -> panel shows that neuron, 10k run: median / p95    (goal <= 300 ms)
4. 100k-neuron map: time until drawn; pan, zoom and click: longest frame gap (frozen > 1 s)

The runs are made once (bench/explorer_runs.py) and kept under bench/out/. Run with
`make bench` or `.venv/bin/python -m bench.explorer`; writes bench/out/explorer.json.
"""

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "2")
os.environ.setdefault("OMP_NUM_THREADS", "2")

import httpx
import torch

from bench import browser
from bench.explorer_runs import HOME, RUN_10K, RUN_100K, ensure_runs, log

OUT = Path(__file__).parent / "out"
API_ROUNDS = 200
CLICKS_10K = 20
CLICKS_100K = 5


class Server:
    """`semvec serve` in a subprocess on a free port, with its own data home."""

    def __init__(self, home: Path):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.home, self.url = home, f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "Server":
        env = {**os.environ, "SEMVEC_HOME": str(self.home)}
        log_file = (self.home / "server.log").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "backend.cli", "serve", "--port", str(self.port)],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/api/health", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.2)
        self.__exit__()
        raise RuntimeError(f"the server did not start; see {self.home / 'server.log'}")

    def __exit__(self, *_exc) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _ms(client: httpx.Client, path: str, **params) -> float:
    started = time.perf_counter()
    response = client.get(path, params=params)
    response.read()
    took = 1e3 * (time.perf_counter() - started)
    if response.status_code != 200:
        raise RuntimeError(f"GET {path} answered {response.status_code}: {response.text[:200]}")
    return took


def _stats(times: list[float]) -> dict:
    return {
        "n": len(times),
        "p50_ms": browser.percentile(times, 50),
        "p95_ms": browser.percentile(times, 95),
        "max_ms": max(times),
    }


def api_latencies(client: httpx.Client, run: str, neurons: int, rounds: int) -> dict:
    """Every endpoint once per round, round after round (machine noise hits all alike);
    random neurons, the same for each endpoint within a round."""
    base = f"/api/runs/{run}"
    rng = random.Random(0)
    calls = {
        "neuron": lambda i: _ms(client, f"{base}/neurons/{i}"),
        "neighbors_k10": lambda i: _ms(client, f"{base}/neurons/{i}/neighbors", k=10),
        "image_0": lambda i: _ms(client, f"{base}/neurons/{i}/images/0.png"),
    }
    big = {
        "projection_umap": lambda: _ms(client, f"{base}/projection", method="umap"),
        "columns": lambda: _ms(client, f"{base}/columns"),
    }
    for fn in big.values():  # warm up: the run's first load is timed apart
        fn()
    times = {name: [] for name in [*calls, *big]}
    for r in range(rounds):
        i = rng.randrange(neurons)
        for name, fn in calls.items():
            times[name].append(fn(i))
        if r % 10 == 0:
            for name, fn in big.items():
                times[name].append(fn())
    return {name: _stats(t) for name, t in times.items()}


def cold_load_ms(client: httpx.Client, run: str) -> float:
    """The first request for a run reads its files and builds every neuron's brief."""
    return _ms(client, f"/api/runs/{run}")


def browser_10k(url: str, run: str, names: list[str]) -> dict:
    chrome = browser.chromium()
    try:
        opened = browser.open_map(chrome, f"{url}/?run={run}")
        browser.settle(chrome)
        clicks = browser.click_series(chrome, names, CLICKS_10K, seed=0)
    finally:
        chrome.quit()
    return {"open": opened, "click_to_panel": clicks}


def browser_100k(url: str, run: str, names: list[str]) -> dict:
    chrome = browser.chromium()
    try:
        opened = browser.open_map(chrome, f"{url}/?run={run}")
        log(f"100k map drawn after {opened['drawn_ms'] / 1e3:.1f} s")
        browser.settle(chrome)
        left, top, width, height = chrome.execute_script(browser.POSITIONS, browser.GRAPH)["plot"]
        cx, cy = left + width / 2, top + height / 2
        pan = browser.drag(chrome, cx, cy, 120, 60)
        zoom = browser.wheel(chrome, cx, cy)
        clicks = browser.click_series(chrome, names, CLICKS_100K, seed=1)
    finally:
        chrome.quit()
    return {"open": opened, "pan": pan, "zoom": zoom, "click_to_panel": clicks}


def main() -> None:
    torch.set_num_threads(2)
    started = time.perf_counter()
    build = ensure_runs(HOME)
    results: dict = {"build_s": build}
    with Server(HOME) as server, httpx.Client(base_url=server.url, timeout=120) as client:
        for run in (RUN_10K, RUN_100K):
            results[f"cold_load_ms.{run}"] = cold_load_ms(client, run)
        columns = {run: client.get(f"/api/runs/{run}/columns").json() for run in (RUN_10K, RUN_100K)}
        n10, n100 = len(columns[RUN_10K]["name"]), len(columns[RUN_100K]["name"])
        log("timing the API ...")
        results["api_10k"] = api_latencies(client, RUN_10K, n10, API_ROUNDS)
        results["api_100k"] = api_latencies(client, RUN_100K, n100, API_ROUNDS // 4)
        log("clicking the 10k map in Chromium ...")
        results["browser_10k"] = browser_10k(server.url, RUN_10K, columns[RUN_10K]["name"])
        log("opening the 100k map in Chromium ...")
        results["browser_100k"] = browser_100k(server.url, RUN_100K, columns[RUN_100K]["name"])
    results["neurons"] = {RUN_10K: n10, RUN_100K: n100}
    results["machine"] = {
        "cpus": os.cpu_count(),
        "browser": "headless Chromium, --disable-gpu (WebGL in software, SwiftShader)",
    }
    results["bench_s"] = time.perf_counter() - started
    OUT.mkdir(exist_ok=True)
    (OUT / "explorer.json").write_text(json.dumps(results, indent=2, default=float))
    print_table(results)
    print(f"wrote {OUT / 'explorer.json'}")


def print_table(r: dict) -> None:
    rows = []
    for scope, goal in (("api_10k", "p95 <= 50 ms"), ("api_100k", "")):
        for name, s in r[scope].items():
            target = "p95 <= 300 ms" if name in ("projection_umap", "columns") else goal
            rows.append((f"{scope} {name}", f"{s['p50_ms']:.1f}", f"{s['p95_ms']:.1f}", target))
    for scope in ("browser_10k", "browser_100k"):
        b = r[scope]
        c = b["click_to_panel"]
        goal = "<= 300 ms" if scope == "browser_10k" else ""
        rows.append((f"{scope} map drawn (from navigation)", f"{b['open']['drawn_ms']:.0f}", "", ""))
        rows.append(
            (
                f"{scope} click -> panel ({c['clicks']} clicks, {c['mismatches']} missed)",
                f"{c['median_ms']:.0f}",
                f"{c['p95_ms']:.0f}",
                goal,
            )
        )
        for action in ("pan", "zoom"):
            if action in b:
                a = b[action]
                gap = f"longest frame gap {a['longest_frame_gap_ms']:.0f} ms"
                rows.append((f"{scope} {action}: {gap}", f"{a['responsive_after_ms']:.0f}", "", ""))
    width = max(len(row[0]) for row in rows)
    print(f"{'what':<{width}}  {'p50/median ms':>13}  {'p95 ms':>8}  goal")
    for what, p50, p95, goal in rows:
        print(f"{what:<{width}}  {p50:>13}  {p95:>8}  {goal}")


if __name__ == "__main__":
    main()

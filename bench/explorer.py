"""Explorer benchmarks (issue 4): a real `semvec serve` on loopback, a real headless Chromium.

1. neuron detail, neighbours (k=10), top image, 10k-neuron run: p50 / p95   (goal p95 <= 50 ms)
2. projection payload (cached UMAP) and columns, 10k run: p50 / p95          (goal <= 300 ms)
3. click on a map point -> panel shows that neuron, 10k run: median / p95    (goal <= 300 ms)
4. 100k-neuron map: time until drawn; pan, zoom and click: longest frame gap (frozen > 1 s)
5. Pictures view, 10k run: its sheet made, Dots -> Pictures, pan / zoom (bench/pictures.py)

The runs are made once (bench/explorer_runs.py) and kept under bench/out/. Run with
`make bench` or `.venv/bin/python -m bench.explorer`; writes bench/out/explorer.json.
"""

import json
import os
import random
import time
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "2")
os.environ.setdefault("OMP_NUM_THREADS", "2")

import httpx
import torch

from bench import browser, pictures
from bench.explorer_runs import HOME, RUN_10K, RUN_100K, ensure_runs, log
from tests.backend.api.conftest import Server

OUT = Path(__file__).parent / "out"
API_ROUNDS = 200
CLICKS_10K = 20
CLICKS_100K = 5


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


def first_page(url: str, run: str) -> float:
    """The first page a fresh server serves may pay one-off costs; it is opened once and
    reported apart, so that the sessions below measure the page as it usually is."""
    chrome = browser.chromium()
    try:
        return browser.open_map(chrome, f"{url}/?run={run}")["drawn_ms"]
    finally:
        chrome.quit()


def browser_session(url: str, run: str, names: list[str], clicks: int, seed: int) -> dict:
    """Open the run's map, then pan, zoom and click neurons, as a person would."""
    chrome = browser.chromium()
    try:
        opened = browser.open_map(chrome, f"{url}/?run={run}")
        log(f"{run}: map drawn {opened['drawn_ms'] / 1e3:.1f} s after navigation")
        browser.settle(chrome)
        left, top, width, height = chrome.execute_script(browser.POSITIONS, browser.GRAPH)["plot"]
        cx, cy = left + width / 2, top + height / 2
        pans, zooms = [], []
        for sign in (1, -1, 1):  # there and back, in and out: the map stays in view
            pans.append(browser.drag(chrome, cx, cy, 120 * sign, 60 * sign))
            zooms.append(browser.wheel(chrome, cx, cy, delta=-120 * sign))
        pan, zoom = browser.summarise_gestures(pans), browser.summarise_gestures(zooms)
        clicked = browser.click_series(chrome, names, clicks, seed)
    finally:
        chrome.quit()
    figure = [c for c in opened["callbacks"] if "explorer-map.figure" in c["output"]]
    if figure and figure[-1]["received_ms"] is not None:
        opened["map_callback_ms"] = figure[-1]["received_ms"] - figure[-1]["sent_ms"]
        opened["map_callback_bytes"] = figure[-1]["bytes"]
    return {"open": opened, "pan": pan, "zoom": zoom, "click_to_panel": clicked}


def main() -> None:
    torch.set_num_threads(2)
    started = time.perf_counter()
    results: dict = {"build_s": ensure_runs(HOME)}
    runs = (RUN_10K, RUN_100K)
    # As `semvec serve` runs: torch with both cores (the tests pin the server to one).
    with (
        Server(HOME, OMP_NUM_THREADS="2") as server,
        httpx.Client(base_url=server.url, timeout=120) as client,
    ):
        results["first_request_ms"] = {run: cold_load_ms(client, run) for run in runs}
        names = {run: client.get(f"/api/runs/{run}/columns").json()["name"] for run in runs}
        results["neurons"] = {run: len(names[run]) for run in runs}
        log("timing the API ...")
        results["api_10k"] = api_latencies(client, RUN_10K, len(names[RUN_10K]), API_ROUNDS)
        results["api_100k"] = api_latencies(client, RUN_100K, len(names[RUN_100K]), API_ROUNDS // 4)
        results["first_page_drawn_ms"] = first_page(server.url, RUN_10K)
        for key, run, clicks in (
            ("browser_10k", RUN_10K, CLICKS_10K),
            ("browser_100k", RUN_100K, CLICKS_100K),
        ):
            log(f"{run} in Chromium ...")
            results[key] = browser_session(server.url, run, names[run], clicks, seed=0)
        log(f"{RUN_10K}: the Pictures view ...")
        results["pictures_10k"] = pictures.bench(server.url, HOME, RUN_10K)
    results["machine"] = {
        "cpus": os.cpu_count(),
        "browser": "headless Chromium, --disable-gpu (WebGL in software, SwiftShader)",
    }
    results["bench_s"] = time.perf_counter() - started
    OUT.mkdir(exist_ok=True)
    (OUT / "explorer.json").write_text(json.dumps(results, indent=2, default=float))
    print_table(results)
    pictures.print_table(results["pictures_10k"])
    print(f"wrote {OUT / 'explorer.json'}")


ENDPOINTS = {
    "neuron": ("GET neurons/{id}", "p95 <= 50 ms"),
    "neighbors_k10": ("GET neurons/{id}/neighbors?k=10", "p95 <= 50 ms"),
    "image_0": ("GET neurons/{id}/images/0.png", "p95 <= 50 ms"),
    "projection_umap": ("GET projection?method=umap (cached)", "<= 300 ms"),
    "columns": ("GET columns", "<= 300 ms"),
}


def _row(what: str, *values: float | None, goal: str = "") -> tuple:
    """A table row: `what`, then median, p95 (or max), longest frame gap, blocked time."""
    values = (*values, *(None,) * (4 - len(values)))
    cells = ["" if v is None else f"{v:,.0f}" if v >= 100 else f"{v:.1f}" for v in values]
    return what, *cells, goal


def print_table(r: dict) -> None:
    rows = []
    for scope, size in (("api_10k", "10k"), ("api_100k", "100k")):
        for key, (what, goal) in ENDPOINTS.items():
            s = r[scope][key]
            rows.append(_row(f"API {size}: {what}", s["p50_ms"], s["p95_ms"], goal=goal))
    for run, ms in r["first_request_ms"].items():
        rows.append(_row(f"API: first request of {run} (loads the run)", ms))
    rows.append(
        _row("Chromium 10k: first page of a fresh server, map drawn", r["first_page_drawn_ms"])
    )
    for scope, size in (("browser_10k", "10k"), ("browser_100k", "100k")):
        b, goal = r[scope], "<= 300 ms" if size == "10k" else ""
        o, c = b["open"], b["click_to_panel"]
        gap, blocked = o["longest_frame_gap_ms"], o["blocked_ms"]
        rows.append(
            _row(f"Chromium {size}: map drawn, from navigation", o["drawn_ms"], None, gap, blocked)
        )
        mb = (o.get("map_callback_bytes") or 0) / 1e6
        what = f"Chromium {size}: of which the map's callback, sent -> answered ({mb:.1f} MB)"
        rows.append(_row(what, o.get("map_callback_ms")))
        for action, gesture in (("pan", "0.5 s drag"), ("zoom", "3 wheel steps in 0.3 s")):
            a = b[action]
            what = f"Chromium {size}: {action} ({gesture}), longest frame gap"
            what += f" ({a['frozen']} of {a['n']} frozen)"
            gap, worst = a["longest_frame_gap_ms"], a["longest_frame_gap_max_ms"]
            rows.append(_row(what, gap, worst, None, a["blocked_ms"]))
        label = f"click -> panel painted ({c['clicks']} clicks, {c['mismatches']} off target"
        label += f", {c['no_panel']} without a panel)" if c["no_panel"] else ")"
        gap = c["longest_frame_gap_ms"]
        rows.append(_row(f"Chromium {size}: {label}", c["median_ms"], c["p95_ms"], gap, goal=goal))
        rows.append(_row(f"Chromium {size}: click -> panel in the DOM", c["dom_median_ms"]))
    head = ("what (ms)", "median", "p95 / max", "longest frame gap", "blocked > 50 ms", "goal")
    widths = [max(len(row[i]) for row in [head, *rows]) for i in range(5)]
    for row in [head, *rows]:
        numbers = [cell.rjust(w) for cell, w in zip(row[1:5], widths[1:5], strict=True)]
        print("  ".join([row[0].ljust(widths[0]), *numbers, row[5]]))


if __name__ == "__main__":
    main()

"""The map's Pictures view (issue 23), timed on a big run: part of bench/explorer.py.

1. the picture sheet made from the run's analysis (in this process, torch on 2 threads):
   seconds and size on disk                                          (goal <= 30 s at 10k)
2. Dots -> Pictures, from the click on the switch until every picture is drawn with the
   sheet decoded: median of 10                                       (goal <= 1 s)
3. a pan or a zoom (Plotly.relayout) until the pictures are redrawn: median
   (goal <= 300 ms), beside the same moves with dots only and the pictures' own layout
   time; and the page's JS heap with Pictures on

    .venv/bin/python -m bench.pictures --home HOME --run RUN   (alone, on any run)
"""

import argparse
import json
import shutil
import statistics
import time
from pathlib import Path

import torch

from bench import browser
from tests.backend.api.conftest import Server

ROUNDS = 10

# Resolves when the layer shows pictures and the sheet they draw from is decoded.
_SHOWN_JS = """
const done = arguments[arguments.length - 1], want = arguments[0];
const look = document.querySelector("#explorer-look input[value='" + want + "']");
const started = performance.now();
look.click();
function check() {
  const layer = document.getElementById('explorer-pictures-layer');
  const shown = Number(layer.dataset.shown || 0);
  if (want === 'dots' ? !layer.children.length : shown > 0) {
    const first = layer.querySelector('.map-picture');
    if (!first) { return done(performance.now() - started); }
    const url = first.style.backgroundImage.slice(5, -2);
    const img = new Image();
    img.onload = () => img.decode().then(() => requestAnimationFrame(
        () => done(performance.now() - started)));
    img.src = url;
    return;
  }
  setTimeout(check, 5);
}
check();
"""

# A relayout of the map (pan: shift by a fifth; zoom: in or out by 1.5) until the pictures
# layer has drawn the frame after it.
_RELAYOUT_JS = """
const done = arguments[arguments.length - 1], kind = arguments[0], k = arguments[1];
const gd = document.querySelector('#explorer-map .js-plotly-plot');
const layer = document.getElementById('explorer-pictures-layer');
const [x0, x1] = gd._fullLayout.xaxis.range, [y0, y1] = gd._fullLayout.yaxis.range;
const w = x1 - x0, h = y1 - y0, f = kind === 'zoom' ? (k % 2 ? 1.5 : 1 / 1.5) : 1;
const dx = kind === 'pan' ? (k % 2 ? -0.2 : 0.2) * w : 0;
const cx = (x0 + x1) / 2 + dx, cy = (y0 + y1) / 2;
const started = performance.now();
Plotly.relayout(gd, {'xaxis.range': [cx - w / f / 2, cx + w / f / 2],
                     'yaxis.range': [cy - h / f / 2, cy + h / f / 2]}).then(() =>
  requestAnimationFrame(() => requestAnimationFrame(() =>
    done([performance.now() - started, Number(layer.dataset.drawMs || 0)]))));
"""


def make_sheet_timed(home: Path, run_id: str) -> dict:
    """The sheet made afresh, as the `pictures` job makes it."""
    from backend.runs.store import RunStore
    from backend.services.pictures import FOLDER, make_sheet

    run = RunStore(home).open(run_id)
    shutil.rmtree(run.folder / FOLDER, ignore_errors=True)
    started = time.perf_counter()
    index = make_sheet(run)
    took = time.perf_counter() - started
    return {
        "seconds": round(took, 2),
        "bytes": index["bytes"],
        "neurons": index["count"],
        "tile_px": index["tile"],
    }


def in_browser(url: str, run_id: str) -> dict:
    chrome = browser.chromium()
    try:
        chrome.set_script_timeout(120)
        browser.open_map(chrome, f"{url}/?run={run_id}")
        browser.settle(chrome)
        shown, cleared, shown_counts = [], [], []
        for _ in range(ROUNDS):
            shown.append(chrome.execute_async_script(_SHOWN_JS, "pictures"))
            shown_counts.append(
                chrome.execute_script("return document.querySelectorAll('.map-picture').length")
            )
            cleared.append(chrome.execute_async_script(_SHOWN_JS, "dots"))
        # The same pans and zooms with dots only: what the map itself takes to redraw.
        plain = {"pan": [], "zoom": []}
        for k in range(ROUNDS):
            for kind in plain:
                plain[kind].append(chrome.execute_async_script(_RELAYOUT_JS, kind, k)[0])
        chrome.execute_async_script(_SHOWN_JS, "pictures")
        browser.settle(chrome)
        moves = {"pan": [], "zoom": []}
        layout = []
        for k in range(ROUNDS):
            for kind in moves:
                ms, draw_ms = chrome.execute_async_script(_RELAYOUT_JS, kind, k)
                moves[kind].append(ms)
                layout.append(draw_ms)
        heap = chrome.execute_script("return performance.memory.usedJSHeapSize")
    finally:
        chrome.quit()
    return {
        "dots_to_pictures_ms": _summary(shown),
        "pictures_to_dots_ms": _summary(cleared),
        "pictures_drawn": statistics.median(shown_counts),
        "pan_ms": _summary(moves["pan"]),
        "zoom_ms": _summary(moves["zoom"]),
        "pictures_layout_ms": _summary(layout),
        "dots_only_pan_ms": _summary(plain["pan"]),
        "dots_only_zoom_ms": _summary(plain["zoom"]),
        "js_heap_mb_with_pictures": round(heap / 2**20, 1),
    }


def _summary(values: list[float]) -> dict:
    return {"median": round(statistics.median(values), 1), "max": round(max(values), 1)}


def bench(url: str, home: Path, run_id: str) -> dict:
    return {"sheet": make_sheet_timed(home, run_id)} | in_browser(url, run_id)


def print_table(r: dict) -> None:
    s = r["sheet"]
    print(
        f"picture sheet of {s['neurons']:,} neurons: {s['seconds']:.1f} s (goal <= 30 s), "
        f"{s['bytes'] / 2**20:.1f} MiB on disk"
    )
    for key, goal in (
        ("dots_to_pictures_ms", "<= 1000 ms"),
        ("pan_ms", "<= 300 ms"),
        ("zoom_ms", "<= 300 ms"),
        ("pictures_layout_ms", "of which laying out the pictures"),
        ("dots_only_pan_ms", "the same pans with dots only"),
        ("dots_only_zoom_ms", "the same zooms with dots only"),
    ):
        print(f"{key}: median {r[key]['median']:.0f} ms, max {r[key]['max']:.0f} ms ({goal})")
    print(
        f"pictures drawn: {r['pictures_drawn']:.0f}; "
        f"JS heap with Pictures on: {r['js_heap_mb_with_pictures']} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--run", required=True)
    args = parser.parse_args()
    torch.set_num_threads(2)
    with Server(args.home, OMP_NUM_THREADS="2") as server:
        result = bench(server.url, args.home, args.run)
    out = Path(__file__).parent / "out"
    out.mkdir(exist_ok=True)
    (out / "pictures.json").write_text(json.dumps(result, indent=2))
    print_table(result)


if __name__ == "__main__":
    main()

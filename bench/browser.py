"""Headless Chromium driving the real explorer page, timed inside the page.

A script injected before the page's own (`page_probe.js`) keeps, in `window.__bench`:
every animation frame's time (a gap between frames is time the main thread was busy:
the page could not paint or react), when the map first held points, the last mousedown,
when `#neuron-name` first showed a different neuron after it, and every Dash callback
request (which outputs; when sent and answered). All times are the page's `performance.now()`
(ms since navigation began).
"""

import itertools
import statistics
import time
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.actions.action_builder import ActionBuilder
from selenium.webdriver.common.actions.wheel_input import ScrollOrigin

from tests.browser.conftest import make_driver

FROZEN_MS = 1000
"""A gap between frames this long is a frozen page."""
GRAPH = "#explorer-map .js-plotly-plot"

INSTRUMENT = (Path(__file__).parent / "page_probe.js").read_text()

# Each callback request with its Resource Timing entry: both lists are in the order the
# requests started (once all have finished), so the i-th entry belongs to the i-th request.
CALLBACKS = """
const entries = performance.getEntriesByType('resource')
  .filter((e) => e.name.includes('_dash-update-component'));
const all = window.__bench.requests;
const paired = entries.length === all.length;
return all
  .map((r, i) => ({output: r.output, start: r.start, end: r.end,
                   received: paired ? entries[i].responseEnd : null,
                   bytes: paired ? entries[i].decodedBodySize : null}))
  .filter((r) => r.start >= arguments[0] && r.start <= arguments[1]);
"""

# Viewport pixel position of every point of the map (highlight traces excluded).
POSITIONS = """
const gd = document.querySelector(arguments[0]);
const L = gd._fullLayout, xa = L.xaxis, ya = L.yaxis, rect = gd.getBoundingClientRect();
const out = {ids: [], px: [], py: [], plot: [rect.left + L._size.l, rect.top + L._size.t,
             L._size.w, L._size.h]};
for (const tr of gd.data.filter((t) => !t.meta)) {
  for (let k = 0; k < tr.x.length; k++) {
    out.ids.push(tr.customdata[k]);
    out.px.push(rect.left + L._size.l + xa.l2p(tr.x[k]));
    out.py.push(rect.top + L._size.t + ya.l2p(tr.y[k]));
  }
}
return out;
"""


def chromium():
    """The browser tests' Chromium, with the timing probe injected into every page."""
    chrome = make_driver()
    chrome.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": INSTRUMENT})
    chrome.set_script_timeout(300)
    return chrome


def now(chrome) -> float:
    return chrome.execute_script("return performance.now()")


def open_map(chrome, url: str, timeout: float = 600) -> dict:
    """Load the page; wait until the map holds points. Times from navigation start."""
    chrome.get(url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        drawn = chrome.execute_script("return window.__bench.drawn")
        if drawn is not None:
            points = chrome.execute_script(
                "return document.querySelector(arguments[0]).data.filter((t) => !t.meta)"
                ".reduce((n, tr) => n + tr.x.length, 0)",
                GRAPH,
            )
            gaps = frame_gaps(chrome, 0, drawn)
            calls = callbacks(chrome, 0, drawn)
            return {"drawn_ms": drawn, "points": points, **gaps, "callbacks": calls}
        time.sleep(0.1)
    raise TimeoutError(f"the map of {url} was not drawn within {timeout:.0f} s")


def frame_gaps(chrome, start: float, end: float) -> dict:
    """Longest gap between frames in [start, end], and the time lost to gaps over 50 ms
    (as in Total Blocking Time)."""
    frames = chrome.execute_script(
        "return window.__bench.frames.filter((t) => t >= arguments[0] && t <= arguments[1])",
        start,
        end,
    )
    edges = [start, *frames, end]
    gaps = [b - a for a, b in itertools.pairwise(edges)]
    return {
        "longest_frame_gap_ms": max(gaps),
        "blocked_ms": sum(g - 50 for g in gaps if g > 50),
        "frozen": max(gaps) > FROZEN_MS,
    }


def callbacks(chrome, start: float, end: float) -> list[dict]:
    """Dash callback requests sent in [start, end]: outputs, and ms from `start` until
    sent, until the response had fully arrived (the network's view, from Resource Timing)
    and until the page's code got it (later when the main thread was busy meanwhile)."""
    found = chrome.execute_script(CALLBACKS, start, end)
    return [
        {
            "output": r["output"][:80],
            "sent_ms": r["start"] - start,
            "received_ms": None if r["received"] is None else r["received"] - start,
            "handled_ms": None if r["end"] is None else r["end"] - start,
            "bytes": r["bytes"],
        }
        for r in found
    ]


def settle(chrome, quiet_ms: float = 500, timeout: float = 120) -> float:
    """Wait until frames flow again for `quiet_ms` with no gap over 100 ms; page time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        t, frames = chrome.execute_script(
            "const f = window.__bench.frames; return [performance.now(), f.slice(-60)]"
        )
        recent = [f for f in frames if f >= t - quiet_ms]
        gaps = np.diff([t - quiet_ms, *recent, t])
        if len(recent) > 3 and gaps.max() < 100:
            return t
        time.sleep(0.1)
    raise TimeoutError("the page did not settle")


def isolated_point(chrome, rng, exclude: set[int], min_px: float = 7, margin: float = 40):
    """A random point of the map, at least `min_px` from any other point and `margin`
    inside the plot area, not in `exclude`: (id, x, y) in viewport pixels, as drawn now.
    Where no point is that isolated (a dense map), one of the most isolated: the click
    then opens whichever point Plotly finds nearest, and the caller counts the misses."""
    pos = chrome.execute_script(POSITIONS, GRAPH)
    px, py, ids = np.array(pos["px"]), np.array(pos["py"]), np.array(pos["ids"])
    left, top, width, height = pos["plot"]
    dist, _ = cKDTree(np.stack([px, py], axis=1)).query(np.stack([px, py], axis=1), k=2)
    usable = (
        (px > left + margin)
        & (px < left + width - margin)
        & (py > top + margin)
        & (py < top + height - margin)
        & ~np.isin(ids, list(exclude))
    )
    candidates = np.flatnonzero(usable & (dist[:, 1] >= min_px))
    if len(candidates) == 0:
        inner = np.flatnonzero(usable)
        candidates = inner[np.argsort(-dist[inner, 1])[:20]]
    c = rng.choice(_uncovered(chrome, candidates, px, py))
    return int(ids[c]), float(px[c]), float(py[c])


_UNCOVERED = """
return arguments[0].map(([x, y]) => {
  const e = document.elementFromPoint(x, y);
  return !!e && e.classList.contains('nsewdrag');
});
"""


def _uncovered(chrome, candidates: np.ndarray, px: np.ndarray, py: np.ndarray) -> np.ndarray:
    """The candidates whose pixel is the plot's own surface, not under a cluster's label or
    another element: a click there opens a neuron (on a label it selects the cluster)."""
    where = [[float(px[c]), float(py[c])] for c in candidates]
    free = np.asarray(chrome.execute_script(_UNCOVERED, where), dtype=bool)
    return candidates[free] if free.any() else candidates


def click_to_panel(chrome, x: float, y: float, timeout: float = 30) -> dict | None:
    """A real mouse click at viewport (x, y); ms from the mousedown until #neuron-name
    showed another neuron (DOM changed) and until the frame after that (painted).
    None when no other neuron showed within `timeout` s (e.g. the click hit the neuron
    already shown)."""
    chrome.execute_script("window.__bench.arm()")
    hover = ActionBuilder(chrome)
    hover.pointer_action.move_to_location(round(x), round(y))
    hover.perform()
    time.sleep(0.2)  # as a person would: hover, then click
    click = ActionBuilder(chrome, duration=0)
    click.pointer_action.click()
    click.perform()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        b = chrome.execute_script(
            "const b = window.__bench; return [b.down, b.panel, b.panelFrame, b.panelName]"
        )
        down, panel, painted, name = b
        if painted is not None:
            gaps = frame_gaps(chrome, down, painted)
            return {
                "dom_ms": panel - down,
                "painted_ms": painted - down,
                "name": name,
                "longest_frame_gap_ms": gaps["longest_frame_gap_ms"],
                "callbacks": callbacks(chrome, down, painted),
            }
        time.sleep(0.02)
    return None


def click_series(chrome, names: list[str], count: int, seed: int) -> dict:
    """Click `count` isolated neurons in turn; the panel must name the neuron aimed at."""
    rows, rng = [], np.random.default_rng(seed)
    for _ in range(count):
        # Positions are read again before every click: the map can move (it narrowed by
        # some pixels when the first panel opened).
        neuron, x, y = isolated_point(chrome, rng, {r["aimed_id"] for r in rows})
        row = click_to_panel(chrome, x, y) or {"painted_ms": None, "name": None}
        rows.append(row | {"aimed": names[neuron], "aimed_id": neuron})
        settle(chrome)
    return summarise_clicks(rows)


def summarise_clicks(all_rows: list[dict]) -> dict:
    rows = [r for r in all_rows if r["painted_ms"] is not None]
    painted = [r["painted_ms"] for r in rows]
    return {
        "clicks": len(all_rows),
        "no_panel": len(all_rows) - len(rows),
        "median_ms": statistics.median(painted),
        "p95_ms": percentile(painted, 95),
        "dom_median_ms": statistics.median(r["dom_ms"] for r in rows),
        "longest_frame_gap_ms": max(r["longest_frame_gap_ms"] for r in rows),
        "mismatches": sum(r["name"] != r["aimed"] for r in rows),
        "rows": all_rows,
    }


def drag(chrome, x: float, y: float, dx: int, dy: int, steps: int = 10) -> dict:
    """Pan: press at (x, y), move by (dx, dy) in `steps` moves, release; then settle."""
    start = now(chrome)
    actions = ActionBuilder(chrome, duration=50)
    actions.pointer_action.move_to_location(round(x), round(y))
    actions.pointer_action.pointer_down()
    for _ in range(steps):
        actions.pointer_action.move_by(dx // steps, dy // steps)
    actions.pointer_action.pointer_up()
    actions.perform()
    return _action_cost(chrome, start)


def wheel(chrome, x: float, y: float, ticks: int = 3, delta: int = -120) -> dict:
    """Zoom: `ticks` scroll-wheel steps over (x, y); then settle."""
    start = now(chrome)
    chain = ActionChains(chrome)
    for _ in range(ticks):
        chain.scroll_from_origin(ScrollOrigin.from_viewport(round(x), round(y)), 0, delta)
        chain.pause(0.1)
    chain.perform()
    return _action_cost(chrome, start)


def _action_cost(chrome, start: float) -> dict:
    """Frame gaps from `start` until the page settled, and when its last gap over 100 ms
    ended (the page answers again)."""
    performed = now(chrome)
    end = settle(chrome)
    frames = chrome.execute_script(
        "return window.__bench.frames.filter((t) => t >= arguments[0])", start
    )
    edges = [start, *frames]
    busy_until = max((b for a, b in itertools.pairwise(edges) if b - a > 100), default=start)
    return {
        "input_ms": performed - start,
        "busy_until_ms": busy_until - start,
        **frame_gaps(chrome, start, end),
    }


def summarise_gestures(rows: list[dict]) -> dict:
    busy = [r["busy_until_ms"] for r in rows]
    return {
        "n": len(rows),
        "busy_until_ms": statistics.median(busy),
        "busy_until_max_ms": max(busy),
        "longest_frame_gap_ms": statistics.median(r["longest_frame_gap_ms"] for r in rows),
        "longest_frame_gap_max_ms": max(r["longest_frame_gap_ms"] for r in rows),
        "blocked_ms": statistics.median(r["blocked_ms"] for r in rows),
        "frozen": sum(r["frozen"] for r in rows),
        "rows": rows,
    }


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))

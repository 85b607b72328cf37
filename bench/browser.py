"""Headless Chromium driving the real explorer page, timed inside the page.

A script injected before the page's own (`INSTRUMENT`) keeps, in `window.__bench`:
every animation frame's time (a gap between frames is time the main thread was busy:
the page could not paint or react), when the map first held points, the last mousedown,
and when `#neuron-name` first showed a different neuron after it. All times are the
page's `performance.now()` (ms since navigation began).
"""

import statistics
import time
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.actions.action_builder import ActionBuilder
from selenium.webdriver.common.actions.wheel_input import ScrollOrigin

CHROME_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,900",
)
FROZEN_MS = 1000
"""A gap between frames this long is a frozen page."""
GRAPH = "#explorer-map .js-plotly-plot"

INSTRUMENT = """
window.__bench = {frames: [], drawn: null, down: null, panel: null, panelFrame: null,
                  panelName: null, before: null};
const B = window.__bench;
const graph = () => document.querySelector('#explorer-map .js-plotly-plot');
const shownName = () => {
  const el = document.getElementById('neuron-name');
  return el && el.firstChild ? el.firstChild.textContent : null;
};
const frame = (t) => {
  B.frames.push(performance.now());
  if (B.drawn === null) {
    const gd = graph();
    if (gd && gd.data && gd._fullLayout &&
        gd.data.some((tr) => tr.x && tr.x.length > 0)) { B.drawn = performance.now(); }
  }
  requestAnimationFrame(frame);
};
requestAnimationFrame(frame);
// The event's own timestamp: when the press happened, even if the page was busy then.
document.addEventListener('mousedown', (e) => { B.down = e.timeStamp; }, true);
new MutationObserver(() => {
  if (B.down === null || B.panel !== null) { return; }
  const name = shownName();
  if (name !== null && name !== B.before) {
    B.panel = performance.now();
    B.panelName = name;
    requestAnimationFrame(() => { B.panelFrame = performance.now(); });
  }
}).observe(document, {childList: true, subtree: true, characterData: true});
B.arm = () => { B.down = null; B.panel = null; B.panelFrame = null; B.panelName = null;
                B.before = shownName(); };
"""

# Viewport pixel position of every point of the map (highlight traces excluded).
POSITIONS = """
const gd = document.querySelector(arguments[0]);
const L = gd._fullLayout, xa = L.xaxis, ya = L.yaxis, rect = gd.getBoundingClientRect();
const out = {ids: [], px: [], py: [], plot: [rect.left + L._size.l, rect.top + L._size.t,
             L._size.w, L._size.h]};
for (const tr of gd.data.slice(0, -2)) {
  for (let k = 0; k < tr.x.length; k++) {
    out.ids.push(tr.customdata[k]);
    out.px.push(rect.left + L._size.l + xa.l2p(tr.x[k]));
    out.py.push(rect.top + L._size.t + ya.l2p(tr.y[k]));
  }
}
return out;
"""


def chromium(binary: str = "/usr/bin/chromium", driver: str = "/usr/bin/chromedriver"):
    if not (Path(binary).exists() and Path(driver).exists()):
        raise SystemExit("bench/explorer.py needs Debian's chromium and chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    chrome = webdriver.Chrome(service=Service(driver), options=options)
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
                "return document.querySelector(arguments[0]).data.slice(0, -2)"
                ".reduce((n, tr) => n + tr.x.length, 0)",
                GRAPH,
            )
            gaps = frame_gaps(chrome, 0, drawn)
            return {"drawn_ms": drawn, "points": points, **gaps}
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
    gaps = [b - a for a, b in zip(edges, edges[1:], strict=False)]
    return {
        "longest_frame_gap_ms": max(gaps),
        "blocked_ms": sum(g - 50 for g in gaps if g > 50),
        "frozen": max(gaps) > FROZEN_MS,
    }


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


def isolated_points(chrome, count: int, seed: int, min_px: float = 7, margin: float = 40):
    """`count` random points of the map at least `min_px` from any other point and
    `margin` inside the plot area: (ids, x, y) in viewport pixels. Where too few are that
    isolated (a dense map), the most isolated ones: a click then opens whichever point
    Plotly finds nearest, and the caller counts when that is not the one aimed at."""
    pos = chrome.execute_script(POSITIONS, GRAPH)
    px, py, ids = np.array(pos["px"]), np.array(pos["py"]), np.array(pos["ids"])
    left, top, width, height = pos["plot"]
    dist, _ = cKDTree(np.stack([px, py], axis=1)).query(np.stack([px, py], axis=1), k=2)
    inside = (
        (px > left + margin)
        & (px < left + width - margin)
        & (py > top + margin)
        & (py < top + height - margin)
    )
    rng = np.random.default_rng(seed)
    candidates = np.flatnonzero(inside & (dist[:, 1] >= min_px))
    if len(candidates) < count:
        inner = np.flatnonzero(inside)
        candidates = inner[np.argsort(-dist[inner, 1])[: 4 * count]]
    chosen = rng.choice(candidates, size=min(count, len(candidates)), replace=False)
    return [(int(ids[c]), float(px[c]), float(py[c])) for c in chosen]


def click_to_panel(chrome, x: float, y: float, timeout: float = 60) -> dict:
    """A real mouse click at viewport (x, y); ms from the mousedown until #neuron-name
    showed another neuron (DOM changed) and until the frame after that (painted)."""
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
            }
        time.sleep(0.02)
    raise TimeoutError(f"no panel within {timeout:.0f} s of clicking ({x:.0f}, {y:.0f})")


def click_series(chrome, names: list[str], count: int, seed: int) -> dict:
    """Click `count` isolated neurons in turn; the panel must name the neuron aimed at."""
    rows = []
    for neuron, x, y in isolated_points(chrome, count, seed):
        row = click_to_panel(chrome, x, y) | {"aimed": names[neuron]}
        rows.append(row)
        settle(chrome)
    return summarise_clicks(rows)


def summarise_clicks(rows: list[dict]) -> dict:
    painted = [r["painted_ms"] for r in rows]
    return {
        "clicks": len(rows),
        "median_ms": statistics.median(painted),
        "p95_ms": percentile(painted, 95),
        "dom_median_ms": statistics.median(r["dom_ms"] for r in rows),
        "longest_frame_gap_ms": max(r["longest_frame_gap_ms"] for r in rows),
        "mismatches": sum(r["name"] != r["aimed"] for r in rows),
        "rows": rows,
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
    busy_until = max(
        (b for a, b in zip(edges, edges[1:], strict=False) if b - a > 100), default=start
    )
    return {
        "input_ms": performed - start,
        "responsive_after_ms": busy_until - start,
        **frame_gaps(chrome, start, end),
    }


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))

"""The neuron map: one WebGL scatter per legend group, all neurons, no sampling.

Every point carries its neuron id in `customdata`, so a click or a lasso names neurons,
not positions. The last two traces are kept for the highlight (the selected neuron and
its neighbours); a clientside callback fills them in without redrawing the map.

Figures are plain dicts, not `go.Figure`: plotly's validation of 100k points costs more
than drawing them. Hover text is kept short (`name · label`) for the same reason.
"""

import math

from app.components.ui import plain

COLOR_MODES = {
    "layer": "layer",
    "label": "dominant class",
    "quality_r": "quality (r)",
    "dead": "dead / alive",
}
PALETTE = [
    "#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2",
    "#EECA3B", "#B279A2", "#FF9DA6", "#9D755D", "#BAB0AC",
]  # fmt: skip
UNKNOWN = "unknown (not analysed)"


def cached_method(summary: dict, default: str) -> str:
    """The map of a run to open first: one already computed (UMAP, PCA, t-SNE in that
    order of preference), else `default`."""
    cached = {p["method"] for p in summary.get("projections", [])}
    return next((m for m in ("umap", "pca", "tsne") if m in cached), default)


def _hover(columns: dict, i: int) -> str:
    label = columns["label"][i]
    return plain(columns["name"][i] if label is None else f"{columns['name'][i]} · {label}")


def _groups(columns: dict, ids: list[int], mode: str) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = {}
    for i in ids:
        value = columns[mode][i]
        if value is None:
            key = UNKNOWN
        elif mode == "dead":
            key = "dead" if value else "alive"
        else:
            key = str(value)
        groups.setdefault(key, []).append(i)
    return dict(sorted(groups.items(), key=lambda kv: _natural(kv[0])))


def _natural(key: str) -> tuple:
    return (0, int(key), "") if key.isdigit() else (1, 0, key)


def _points(coords: dict, columns: dict, ids: list[int], name: str, marker: dict) -> dict:
    """The neurons `ids` as one trace, each carrying its id in customdata."""
    x, y = coords["x"], coords["y"]
    return {
        "type": "scattergl",
        "mode": "markers",
        "name": plain(name),
        "x": [round(x[i], 4) for i in ids],
        "y": [round(y[i], 4) for i in ids],
        "customdata": ids,
        "text": [_hover(columns, i) for i in ids],
        "hovertemplate": "<b>%{text}</b><extra></extra>",
        "marker": marker,
    }


def _highlight(name: str, symbol: str, size: int, color: str) -> dict:
    return {
        "type": "scattergl",
        "mode": "markers",
        "name": name,
        "x": [],
        "y": [],
        "customdata": [],
        "hoverinfo": "skip",
        "marker": {"symbol": symbol, "size": size, "color": color, "line": {"width": 2}},
    }


def map_figure(
    coords: dict, columns: dict, mode: str, layers: list[str] | None, title: str
) -> dict:
    """The map of the neurons in `layers` (all when empty), coloured by `mode`."""
    shown = set(layers or [])
    ids = [i for i in range(len(coords["x"])) if not shown or columns["layer"][i] in shown]
    size = max(3.0, min(10.0, 120 / math.sqrt(max(len(ids), 1))))
    if mode == "quality_r":
        quality = [columns["quality_r"][i] for i in ids]
        marker = {
            "size": size,
            "color": quality,  # None where unknown: drawn without colour
            "colorscale": "Viridis",
            "colorbar": {"title": {"text": "held-out r"}},
        }
        trace = _points(coords, columns, ids, "neurons", marker)
        trace["hovertemplate"] = "<b>%{text}</b><br>r %{marker.color:.3f}<extra></extra>"
        traces = [trace | {"showlegend": False}]
    else:
        traces = [
            _points(coords, columns, members, key, {"size": size, "color": PALETTE[n % 10]})
            for n, (key, members) in enumerate(_groups(columns, ids, mode).items())
        ]
    traces += [
        _highlight("neighbours", "circle-open", 14, "#111"),
        _highlight("selected", "star", 18, "#d62728"),
    ]
    layout = {
        "title": {"text": plain(title), "x": 0.01, "font": {"size": 14}},
        "xaxis": {"visible": False},
        "yaxis": {"visible": False, "scaleanchor": "x"},
        "margin": {"l": 10, "r": 10, "t": 40, "b": 10},
        "legend": {"title": {"text": COLOR_MODES[mode]}, "itemsizing": "constant"},
        "dragmode": "pan",
        "hovermode": "closest",
        "plot_bgcolor": "white",
        "uirevision": title,  # keep zoom while colours or highlights change
    }
    return {"data": traces, "layout": layout}


def empty_figure(message: str) -> dict:
    return {
        "data": [],
        "layout": {
            "xaxis": {"visible": False},
            "yaxis": {"visible": False},
            "annotations": [{"text": message, "showarrow": False, "font": {"size": 15}}],
            "plot_bgcolor": "white",
            "margin": {"l": 10, "r": 10, "t": 10, "b": 10},
        },
    }

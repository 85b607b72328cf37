"""The neuron map: one WebGL scatter per legend group, all neurons, no sampling.

Every point carries its neuron id in `customdata`, so a click or a lasso names neurons,
not positions. Three overlay traces come last, marked by `meta`: search hits, the selected
neuron's neighbours and the selected neuron; a clientside callback fills them in without
redrawing the map. Neurons of layers that are filtered out stay in place, grey and not
clickable (`hoverinfo: skip`), so that a filter never re-zooms the map.

Figures are plain dicts, not `go.Figure`: plotly's validation of 100k points costs more
than drawing them. Hover text is kept short (`conv3:5 · class 7`) for the same reason.
"""

import math
import re

from app.components.ui import plain

COLOR_MODES = {
    "layer": "layer",
    "label": "dominant class",
    "quality_r": "quality (r)",
    "dead": "dead / alive",
    "ablation": "own ablation effect",
}
COLOR_HINTS = {
    "layer": "the layer the neuron belongs to",
    "label": "the class whose images excite the neuron most on average",
    "quality_r": "how well the neuron's vector predicts its correlations on held-out "
    "images (Pearson r, 1 is perfect)",
    "dead": "dead: the neuron's activation never varies over the images, so it carries no signal",
    "ablation": "the change of held-out accuracy (percentage points) when this neuron alone "
    "is knocked out; grey (not swept) until its layer is swept (Ablate, Sweep layer)",
}
CONTINUOUS = {
    # mode: (colour scale, colour bar title, hover line)
    "quality_r": ("Viridis", "held-out r<br>(1 = perfect)", "quality r %{marker.color:.3f}"),
    "ablation": (
        "RdBu",
        "Δ accuracy<br>(points) when<br>knocked out",
        "Δ accuracy %{marker.color:+.2f} points",
    ),
}
PALETTE = [
    "#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2",
    "#EECA3B", "#B279A2", "#FF9DA6", "#9D755D", "#BAB0AC",
]  # fmt: skip
UNKNOWN = "unknown (not analysed)"
OVERLAYS = {
    # meta: (legend name, marker); drawn in this order, the selected neuron on top
    "found": ("search hits", {"symbol": "square-open", "size": 13, "color": "#e8590c"}),
    "neighbours": ("neighbours", {"symbol": "circle-open", "size": 14, "color": "#111"}),
    "selected": ("selected", {"symbol": "star", "size": 18, "color": "#d62728"}),
}
FILTERED = "other layers (filtered out)"
NOT_SWEPT = "not swept"
NEUTRAL = "#98a2b3"
"""Neurons with no value to colour by (not swept yet): a grey no colour scale uses."""
LEGEND_PX = 160
"""Width of the map's right margin, where its legend or colour bar sits."""
LEGEND_CHARS = 17
"""Characters of a legend line that fit in that margin; longer names wrap."""


def cached_method(summary: dict, default: str) -> str:
    """The map of a run to open first: one already computed (UMAP, PCA, t-SNE in that
    order of preference), else `default`."""
    cached = {p["method"] for p in summary.get("projections", [])}
    return next((m for m in ("umap", "pca", "tsne") if m in cached), default)


def _hover(columns: dict, i: int) -> str:
    label = columns["label"][i]
    return plain(columns["name"][i] if label is None else f"{columns['name'][i]} · class {label}")


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
    return dict(sorted(groups.items(), key=lambda kv: _natural(kv[0], mode)))


def _natural(key: str, mode: str) -> tuple:
    if mode == "dead":
        return (("alive", "dead").index(key) if key in ("alive", "dead") else 2, 0, key)
    return (0, int(key), "") if key.isdigit() else (1, 0, key)


def _points(coords: dict, columns: dict, ids: list[int], name: str, marker: dict) -> dict:
    """The neurons `ids` as one trace, each carrying its id in customdata."""
    x, y = coords["x"], coords["y"]
    return {
        "type": "scattergl",
        "mode": "markers",
        "name": legend_name(name),
        "x": [round(x[i], 4) for i in ids],
        "y": [round(y[i], 4) for i in ids],
        "customdata": ids,
        "text": [_hover(columns, i) for i in ids],
        "hovertemplate": "<b>%{text}</b><extra></extra>",
        "marker": marker,
    }


def _overlay(name: str, label: str, marker: dict) -> dict:
    return {
        "type": "scattergl",
        "mode": "markers",
        "name": label,
        "meta": name,
        "x": [],
        "y": [],
        "customdata": [],
        "hoverinfo": "skip",
        "marker": marker,
    }


def _filtered(coords: dict, ids: list[int], size: float) -> dict:
    x, y = coords["x"], coords["y"]
    return {
        "type": "scattergl",
        "mode": "markers",
        "name": legend_name(FILTERED),
        "meta": "filtered",
        "x": [round(x[i], 4) for i in ids],
        "y": [round(y[i], 4) for i in ids],
        "customdata": ids,
        "hoverinfo": "skip",
        "marker": {"size": size, "color": "#dde1e7"},
    }


def map_revision(run: str, method: str, params: dict) -> str:
    """What names a map (its `uirevision`): the clusters drawn on it check it too."""
    return f"{run}/{method}/{sorted(params.items())}"


def shown_ids(columns: dict, layers: list[str] | None) -> list[int]:
    """The neurons of `layers` (all neurons when none are chosen)."""
    chosen = set(layers or [])
    return [i for i, lay in enumerate(columns["layer"]) if not chosen or lay in chosen]


def map_figure(
    coords: dict, columns: dict, mode: str, layers: list[str] | None, revision: str
) -> dict:
    """The map coloured by `mode`; neurons outside `layers` (when given) greyed in place.
    `revision` names the map (run, method, parameters): zoom is kept while it is the same."""
    ids = shown_ids(columns, layers)
    size = max(3.0, min(10.0, 120 / math.sqrt(max(len(coords["x"]), 1))))
    kept = set(ids)
    hidden = [i for i in range(len(coords["x"])) if i not in kept] if layers else []
    traces = [_filtered(coords, hidden, size)] if hidden else []
    if mode in CONTINUOUS:
        traces += _continuous(coords, columns, ids, mode, size)
    else:
        groups = _groups(columns, ids, mode)
        traces += [
            _points(
                coords,
                columns,
                members,
                f"{key} ({len(members)})",
                {"size": size, "color": _group_color(mode, key, n)},
            )
            | {"showlegend": True}
            for n, (key, members) in enumerate(groups.items())
        ]
    traces += [
        _overlay(meta, label, marker | {"line": {"width": 2}})
        for meta, (label, marker) in OVERLAYS.items()
    ]
    layout = {
        "xaxis": {"visible": False},
        "yaxis": {"visible": False, "scaleanchor": "x"},
        # The legend (or colour bar) beside the plot in a margin of fixed width: over the
        # plot it hid points and took their clicks; in a margin that grows with it, a
        # filter or another colouring would resize the plot and move every point.
        # The title is the page's, above the figure: in it, a long run name ran under the
        # tool bar; the top margin keeps the tool bar off the points.
        "margin": {"l": 10, "r": LEGEND_PX, "t": 30, "b": 10, "autoexpand": False},
        "legend": {
            "title": {"text": _legend_title(columns, mode)},
            "itemsizing": "constant",
            "x": 1.01,
            "xanchor": "left",
            "y": 1,
        },
        "showlegend": True,
        "dragmode": "pan",
        "hovermode": "closest",
        "plot_bgcolor": "white",
        "uirevision": revision,  # keep zoom while colours, filters or highlights change
    }
    return {"data": traces, "layout": layout}


def _continuous(coords: dict, columns: dict, ids: list[int], mode: str, size: float) -> list:
    """The neurons coloured on a scale, beside those with no value (their layer is not swept
    yet), which are grey with a legend entry: a missing colour would draw them near-black."""
    scale, bar, hover = CONTINUOUS[mode]
    valued = [i for i in ids if columns[mode][i] is not None]
    missing = [i for i in ids if columns[mode][i] is None]
    traces = []
    if missing:
        name = f"{NOT_SWEPT if mode == 'ablation' else UNKNOWN} ({len(missing):,})"
        traces.append(
            _points(coords, columns, missing, name, {"size": size, "color": NEUTRAL})
            | {"showlegend": True}
        )
    if valued:
        marker = {
            "size": size,
            "color": [columns[mode][i] for i in valued],
            "colorscale": scale,
            # Below the legend in the right margin (over it, the two hid each other).
            "colorbar": {
                "title": {"text": bar, "side": "top"},
                "len": 0.45,
                "y": 0,
                "yanchor": "bottom",
                "thickness": 14,
            },
        }
        if mode == "ablation":  # white at no effect, red where accuracy falls
            marker["cmid"] = 0
        trace = _points(coords, columns, valued, "neurons", marker)
        trace["hovertemplate"] = f"<b>%{{text}}</b><br>{hover}<extra></extra>"
        traces.append(trace | {"showlegend": False})
    return traces


def legend_name(text: str) -> str:
    """`text` as a legend entry: escaped, and wrapped onto lines that fit the legend's
    margin (at spaces, else after a dot or an underscore), so that no entry is cut off."""
    lines, line = [], ""
    for piece in re.split(r"(?<=[ ._])", str(text)):  # each piece ends with its separator
        if line.strip() and len(line + piece.rstrip()) > LEGEND_CHARS:
            lines.append(line.rstrip())
            line = piece
        else:
            line += piece
    lines.append(line.rstrip())
    return "<br>".join(plain(part) for part in lines)


def _legend_title(columns: dict, mode: str) -> str:
    """The colour mode; for dead / alive also when no neuron is dead (its entry would be
    missing, as plotly draws no entry for an empty trace)."""
    if mode == "dead" and not any(columns["dead"]):
        return f"{COLOR_MODES[mode]}<br>(none dead)"
    return COLOR_MODES[mode]


def _group_color(mode: str, key: str, n: int) -> str:
    if mode == "dead":
        return {"alive": "#4C78A8", "dead": "#E45756"}.get(key, "#BAB0AC")
    return PALETTE[n % 10]


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

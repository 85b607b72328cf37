"""The neuron map: one WebGL scatter per legend group, all neurons, no sampling.

Every point carries its neuron id in `customdata`, so a click or a lasso names neurons,
not positions. The last two traces are kept for the highlight (the selected neuron and
its neighbours); a clientside callback fills them in without redrawing the map.
"""

import math

import plotly.graph_objects as go

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
HIGHLIGHT_TRACES = 2


def _round(values: list[float]) -> list[float]:
    return [round(v, 4) for v in values]


def _hover(columns: dict, i: int) -> str:
    label = columns["label"][i]
    quality = columns["quality_r"][i]
    parts = [f"<b>{columns['name'][i]}</b>", f"label {label}" if label is not None else ""]
    if quality is not None:
        parts.append(f"r {quality:.3f}")
    return "<br>".join(p for p in parts if p)


def _groups(columns: dict, ids: list[int], mode: str) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = {}
    for i in ids:
        value = columns[mode][i]
        if mode == "dead":
            key = "unknown (not analysed)" if value is None else ("dead" if value else "alive")
        else:
            key = "unknown (not analysed)" if value is None else str(value)
        groups.setdefault(key, []).append(i)
    return dict(sorted(groups.items(), key=lambda kv: _natural(kv[0])))


def _natural(key: str) -> tuple:
    return (0, int(key), "") if key.isdigit() else (1, 0, key)


def map_figure(
    coords: dict, columns: dict, mode: str, layers: list[str] | None, title: str
) -> go.Figure:
    """The map of the neurons in `layers` (all when empty), coloured by `mode`."""
    shown = set(layers or [])
    ids = [i for i in range(len(coords["x"])) if not shown or columns["layer"][i] in shown]
    marker_size = max(3.0, min(10.0, 120 / math.sqrt(max(len(ids), 1))))
    fig = go.Figure()
    if mode == "quality_r":
        quality = [columns["quality_r"][i] for i in ids]
        marker = {
            "size": marker_size,
            "color": [q if q is not None else float("nan") for q in quality],
            "colorscale": "Viridis",
            "colorbar": {"title": {"text": "held-out r"}},
        }
        fig.add_trace(_points(coords, columns, ids, "neurons", marker, showlegend=False))
    else:
        for n, (key, members) in enumerate(_groups(columns, ids, mode).items()):
            marker = {"size": marker_size, "color": PALETTE[n % len(PALETTE)]}
            fig.add_trace(_points(coords, columns, members, key, marker))
    fig.add_trace(_highlight("neighbours", "circle-open", 14, "#111"))
    fig.add_trace(_highlight("selected", "star", 18, "#d62728"))
    fig.update_layout(
        title={"text": title, "x": 0.01, "font": {"size": 14}},
        xaxis={"visible": False},
        yaxis={"visible": False, "scaleanchor": "x"},
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        legend={"title": {"text": COLOR_MODES[mode]}, "itemsizing": "constant"},
        dragmode="pan",
        hovermode="closest",
        plot_bgcolor="white",
        uirevision=title,  # keep zoom while colours or highlights change
    )
    return fig


def _points(
    coords: dict, columns: dict, ids: list[int], name: str, marker: dict, showlegend: bool = True
) -> go.Scattergl:
    """The neurons `ids` as one trace, each carrying its id in customdata."""
    return go.Scattergl(
        x=_round([coords["x"][i] for i in ids]),
        y=_round([coords["y"][i] for i in ids]),
        customdata=ids,
        text=[_hover(columns, i) for i in ids],
        hovertemplate="%{text}<extra></extra>",
        mode="markers",
        name=name,
        showlegend=showlegend,
        marker=marker,
    )


def _highlight(name: str, symbol: str, size: int, color: str) -> go.Scattergl:
    return go.Scattergl(
        x=[],
        y=[],
        customdata=[],
        mode="markers",
        name=name,
        hoverinfo="skip",
        marker={"symbol": symbol, "size": size, "color": color, "line": {"width": 2}},
    )


def empty_figure(message: str) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(
        xaxis={"visible": False},
        yaxis={"visible": False},
        annotations=[{"text": message, "showarrow": False, "font": {"size": 15}}],
        plot_bgcolor="white",
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
    )
    return fig

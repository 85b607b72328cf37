"""Ablation on the map page: the form that knocks neurons out, and what it found (the
per-class change of accuracy, selection against its random control)."""

import statistics

import plotly.graph_objects as go
from dash import dcc, html

from app.components.ui import CHART_CONFIG, plain
from app.components.words import count

SOURCES = {
    "lasso": "the lasso selection",
    "found": "the search hits",
    "neuron": "the open neuron",
    "neighbours": "the open neuron and its k semantic neighbours",
}
MODES = {"zero": "zeros", "mean": "its mean over the images"}
IDLE = "Choose what to knock out, then press Ablate."


def _choice(id_: str, label: str, choices: dict[str, str], value: str) -> html.Label:
    """A labelled dropdown over `choices` (value -> what the user reads)."""
    options = [{"label": v, "value": k} for k, v in choices.items()]
    return html.Label(
        [html.Span(label), dcc.Dropdown(id=id_, options=options, value=value, clearable=False)]
    )


def ablation_controls() -> html.Fieldset:
    """The sidebar's Ablate box: what, how, how many control draws; and the layer sweep."""
    return html.Fieldset(
        [
            html.Legend("Ablate"),
            _choice("explorer-ablate-source", "Knock out", SOURCES, "lasso"),
            html.Label(
                [
                    html.Span("k neighbours (1 … 100)"),
                    dcc.Input(id="explorer-ablate-k", type="number", min=1, max=100, value=10),
                ]
            ),
            _choice("explorer-ablate-mode", "Replace each channel by", MODES, "zero"),
            html.Label(
                [
                    html.Span("Control: random draws of as many neurons (1 … 50)"),
                    dcc.Input(id="explorer-ablate-draws", type="number", min=1, max=50, value=5),
                ]
            ),
            html.Button("Ablate", id="explorer-ablate-go", className="primary", n_clicks=0),
            html.Div(id="explorer-ablate-cost"),
            html.Div(IDLE, id="explorer-ablate-status", className="muted"),
            html.Label(
                [
                    html.Span("Sweep a layer: each neuron alone, then colour the map by it"),
                    dcc.Dropdown(id="explorer-sweep-layer", placeholder="layer"),
                ]
            ),
            html.Button("Sweep layer", id="explorer-sweep-go", n_clicks=0),
            html.Div(id="explorer-sweep-cost"),
            html.Div(id="explorer-sweep-status", className="muted"),
            dcc.Store(id="explorer-ablate-job"),
            dcc.Store(id="explorer-ablation-result"),
            dcc.Interval(id="explorer-ablate-poll", interval=1000, disabled=True),
            dcc.Store(id="explorer-sweep-job"),
            dcc.Interval(id="explorer-sweep-poll", interval=1000, disabled=True),
        ],
        id="explorer-ablate",
    )


def _spread(values: list[float]) -> tuple[float, float, float]:
    return statistics.fmean(values), min(values), max(values)


def delta_chart(result: dict) -> go.Figure:
    """Per class: the selection's change of accuracy (red) beside the control's mean, with
    whiskers from its lowest to its highest draw (grey)."""
    classes = [plain(c) for c in result["classes"]]
    selection = result["selection"]["delta_accuracy"]
    draws = [d["delta_accuracy"] for d in result["control"]["draws"]]
    spreads = [_spread([d[c] or 0.0 for d in draws]) for c in range(len(classes))]
    means = [s[0] for s in spreads]
    fig = go.Figure(
        [
            go.Bar(
                name=f"selection ({count(len(result['neurons']), 'neuron')})",
                x=classes,
                y=[v or 0.0 for v in selection],
                marker_color="#d62728",
                hovertemplate="class %{x}: %{y:+.1f} points<extra>selection</extra>",
            ),
            go.Bar(
                name=f"control (mean of {count(len(draws), 'random draw')})",
                x=classes,
                y=means,
                marker_color="#9aa4b1",
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": [hi - m for m, _lo, hi in spreads],
                    "arrayminus": [m - lo for m, lo, _hi in spreads],
                    "color": "#444",
                },
                hovertemplate="class %{x}: %{y:+.1f} points (mean)<extra>control</extra>",
            ),
        ]
    )
    fig.update_layout(
        barmode="group",
        title={"text": "Change of accuracy per class", "font": {"size": 13}},
        xaxis={"title": {"text": "class"}, "type": "category"},
        yaxis={"title": {"text": "Δ accuracy (points)"}, "zeroline": True},
        # The legend at the figure's foot, under the axis title (at a share of the plot's
        # height below it, the two overlapped).
        legend={"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom", "x": 0},
        margin={"l": 55, "r": 10, "t": 35, "b": 80},
        height=320,
    )
    return fig


def _sentence(result: dict) -> str:
    n, draws = len(result["neurons"]), len(result["control"]["draws"])
    one = n == 1
    selected = "the selected neuron is" if one else f"the {n:,} selected neurons are"
    mean = "its" if one else "their"
    fill = "zeros" if result["mode"] == "zero" else f"{mean} mean over the images"
    random = (
        "1 random neuron of the same layer is"
        if one
        else (f"{n:,} random neurons of the same layers are")
    )
    return (
        f"Bars: how much each class's accuracy on the {count(result['images'], 'held-out image')} "
        f"changes when {selected} replaced by {fill} (red), and when {random} (grey: the mean "
        f"of {count(draws, 'draw')}, whiskers from the lowest to the highest draw). A red bar "
        "below its grey whisker: the selection matters more for that class than chance."
    )


def _accuracy_line(result: dict) -> str:
    mean, lo, hi = _spread([d["accuracy"] for d in result["control"]["draws"]])
    random = "a random neuron" if len(result["neurons"]) == 1 else "random neurons"
    return (
        f"Accuracy {result['base']['accuracy']:.1%} → {result['selection']['accuracy']:.1%} "
        f"with the selection knocked out; {mean:.1%} with {random} ({lo:.1%} … {hi:.1%})."
    )


def _change(loss: float, digits: int = 1) -> str:
    """A share of activation lost, in words: `lose 3.4%`, or `gain 3.4%` when negative."""
    return f"{'gain' if loss < 0 else 'lose'} {abs(loss):.{digits}%}"


def _top_images_line(result: dict) -> str:
    """How much the remaining neurons lose (or gain) on their own top images."""
    sel = result["selection"]
    if sel["top_image_loss"] is None:
        return "No other neuron varies over the images: nothing to lose on its top images."
    controls = [d["top_image_loss"] for d in result["control"]["draws"] if d["top_image_loss"]]
    control = f" (random neurons: {_change(statistics.fmean(controls))})" if controls else ""
    worst = ", ".join(
        f"{m['name']} ({abs(m['loss']):.0%} {'gained' if m['loss'] < 0 else 'lost'})"
        for m in sel["most_affected"][:5]
    )
    top = "top image" if result["top_k"] == 1 else f"top {result['top_k']} images"
    return (
        f"The other neurons {_change(sel['top_image_loss'])} of their activation on their "
        f"{top}{control}; most affected: {worst or '—'}."
    )


def ablation_results(result: dict) -> html.Div:
    names = ", ".join(result["names"][:12]) + (" …" if len(result["names"]) > 12 else "")
    layers = ", ".join(f"{p} ({c})" for p, c in result["layers"].items())
    return html.Div(
        [
            html.Div(
                [
                    html.H3("Ablation", className="neuron-name"),
                    html.Button(
                        "×",
                        id="explorer-ablation-close",
                        className="panel-close",
                        title="close the ablation result",
                        n_clicks=0,
                    ),
                ],
                className="panel-head",
            ),
            html.Div(
                f"{count(len(result['neurons']), 'neuron')}: {names} · "
                f"{'layer' if len(result['layers']) == 1 else 'layers'} {layers}",
                className="muted",
                id="ablation-neurons",
            ),
            html.Div(_accuracy_line(result), id="ablation-accuracy"),
            dcc.Graph(figure=delta_chart(result), config=CHART_CONFIG, id="ablation-chart"),
            html.P(_sentence(result), className="muted", id="ablation-sentence"),
            html.P(_top_images_line(result), className="muted", id="ablation-top-images"),
            html.Div(
                f"Link to this result: add #ablation={result['key']} to the map's address "
                "(it is in the address bar now).",
                className="muted",
                id="ablation-link",
            ),
        ],
        className="ablation-result",
    )

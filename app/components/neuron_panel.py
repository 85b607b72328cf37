"""The neuron panel: who the neuron is, what excites it, and who it resembles."""

import itertools

import plotly.graph_objects as go
from dash import dcc, html

from app import api_client
from app.components.feature_image import feature_box
from app.components.figure_download import panel_download
from app.components.glossary import hint
from app.components.neuron_images import top_images
from app.components.ui import CHART_CONFIG, fmt, plain
from app.components.words import count

KEYS_HINT = "Keys: n / p next / previous neighbour (Enter opens it), Esc closes the panel."


def _facts(d: dict) -> html.Div:
    badge = (
        html.Span("dead", className="badge badge-dead", title=hint("dead"))
        if d.get("dead")
        else None
    )
    unlabelled = d.get("labelled") is False
    facts = [
        (
            "dominant class",
            "— (the images have no labels)"
            if unlabelled
            else (f"class {d['label']}" if d.get("label") else "—"),
        ),
        ("selectivity", "— (no labels)" if unlabelled else fmt(d.get("selectivity"), ".3f")),
        ("quality r", fmt(d.get("quality_r"), ".3f")),
        ("precision@10", fmt(d.get("precision_at_10"), ".3f")),
    ]
    rows = [
        html.Tr([html.Th(html.Abbr(k, title=hint(k))), html.Td(v)], title=hint(k)) for k, v in facts
    ]
    return html.Div(
        [
            html.Div(
                [
                    html.H3([d["name"], badge], id="neuron-name", className="neuron-name"),
                    panel_download(),
                    html.Button(
                        "×",
                        id={"type": "explorer-close", "panel": "neuron"},
                        className="panel-close",
                        title="close the panel (Esc)",
                        n_clicks=0,
                    ),
                ],
                className="panel-head",
            ),
            html.Div(
                f"layer {d['layer']} · channel {d['channel']} · id {d['id']}",
                className="muted",
                id="neuron-id",
                **{"data-id": str(d["id"])},
            ),
            html.Table(html.Tbody(rows), className="facts", id="neuron-facts"),
            html.Div(
                f"selectivity: {d['selectivity_measure']}",
                className="muted",
                id="neuron-selectivity-measure",
            )
            if d.get("selectivity_measure")
            else None,
            html.Div(
                "Hover a name for what it means. " + KEYS_HINT,
                className="muted",
                id="neuron-keys",
            ),
        ]
    )


def _class_chart(d: dict) -> dcc.Graph | html.P | None:
    if d.get("labelled") is False:
        return html.P(
            "No class selectivity: the images of this run have no labels (a folder without "
            "class subfolders).",
            className="muted",
            id="neuron-no-classes",
        )
    if not d["class_means"]:
        return None
    classes = d["classes"] or [str(i) for i in range(len(d["class_means"]))]
    fig = go.Figure(
        go.Bar(
            x=[plain(c) for c in classes],
            y=[v if v is not None else 0 for v in d["class_means"]],
            marker_color=["#d62728" if c == d.get("label") else "#4C78A8" for c in classes],
            hovertemplate="class %{x}: %{y:.3f}<extra></extra>",
        )
    )
    fig.update_layout(
        title={"text": "Class selectivity: mean activation per class", "font": {"size": 13}},
        xaxis={"title": {"text": "class"}, "type": "category"},
        yaxis={"title": {"text": "mean activation"}},
        margin={"l": 50, "r": 10, "t": 35, "b": 40},
        height=220,
    )
    return dcc.Graph(figure=fig, config=CHART_CONFIG, id="neuron-class-chart")


def _occupied(edges: list[float], counts: list[float]) -> list[float] | None:
    """The x-range of the bins that hold images: the histogram's range grows by doubling
    while it is made, so its last bins can be empty (and a range drawn from all of them
    would show values the neuron never takes)."""
    full = [k for k, c in enumerate(counts) if c]
    if not full:
        return None
    lo, hi = edges[full[0]], edges[full[-1] + 1]
    pad = (hi - lo) * 0.02
    # No negative side for outputs that are never negative (after a ReLU).
    return [lo - pad if lo < 0 or lo - pad >= 0 else 0.0, hi + pad]


def _histogram(d: dict) -> dcc.Graph | None:
    hist = d.get("histogram")
    if not hist:
        return None
    edges, counts = hist["edges"], hist["counts"]
    centres = [(a + b) / 2 for a, b in itertools.pairwise(edges)]
    fig = go.Figure(
        go.Bar(
            x=centres,
            y=counts,
            width=[b - a for a, b in itertools.pairwise(edges)],
            marker_color="#72B7B2",
            hovertemplate="activation %{x:.3f} · images: %{y}<extra></extra>",
        )
    )
    fig.update_layout(
        title={"text": "Activation histogram (pooled, all images)", "font": {"size": 13}},
        xaxis={"title": {"text": "activation"}, "range": _occupied(edges, counts)},
        yaxis={"title": {"text": "images"}},
        margin={"l": 50, "r": 10, "t": 35, "b": 40},
        height=200,
        bargap=0,
    )
    return dcc.Graph(figure=fig, config=CHART_CONFIG, id="neuron-histogram")


def _neighbor_button(
    run: str, n: dict, analysed: bool, number: str, hint: str, where: str, copies=()
):
    """A neighbour to open; `where` (semantic, map) keeps ids unique when a neuron is in
    both lists. `copies`: the names of its residual copies further down the list, shown
    on it instead of as rows of their own."""
    thumb = (
        html.Img(src=api_client.image_url(run, n["id"], 0, 96), className="thumb", alt="")
        if analysed
        else None
    )
    return html.Button(
        [
            thumb,
            html.Span(n["name"], className="nb-name"),
            html.Span(f"class {n['label']}" if n["label"] else "", className="muted"),
            html.Span(number, className="nb-sim"),
            html.Span(
                ("residual copy · " if n.get("copy_of_query") else "")
                + (
                    f"+ {count(len(copies), 'copy', 'copies')}: {', '.join(copies)}"
                    if copies
                    else ""
                ),
                className="nb-copies",
            )
            if copies or n.get("copy_of_query")
            else None,
        ],
        id={"type": "explorer-neighbor", "neuron": n["name"], "list": where},
        className="neighbor",
        title=f"open {n['name']} ({hint})",
        n_clicks=0,
    )


COPIES_HINT = (
    "residual copies: the same channel of the blocks of one stage (same parent module, same "
    "width), which share the residual stream; they are grouped on their nearest member"
)


def semantic_list(run: str, rows: list[dict], analysed: bool) -> html.Div:
    """The semantic neighbours, copies of one another grouped on the nearest of them."""
    members: dict[str, list[str]] = {}
    for n in rows:
        if n.get("copy_group"):
            members.setdefault(n["copy_group"], []).append(n["name"])
    buttons = []
    for n in rows:
        group = members.get(n.get("copy_group"), [n["name"]])
        if group[0] != n["name"]:
            continue  # shown on its group's nearest member
        sim = f"{n['similarity']:.3f}"
        buttons.append(
            _neighbor_button(run, n, analysed, sim, f"cosine {sim}", "semantic", group[1:])
        )
    return html.Div(buttons, id="neuron-neighbors")


def _neighbors(run: str, rows: list[dict], on_map: list[dict] | None, analysed: bool):
    """The semantic neighbours (64-d cosine) beside the map's own nearest points: where the
    two lists differ, the 2-D projection has moved neurons apart or together."""
    semantic = semantic_list(run, rows, analysed)
    parts = [
        html.H4(
            "Semantic neighbours (64-d vectors)",
            title="the 10 neurons whose semantic vectors are most similar (cosine similarity, "
            "1 = same direction); they fire together with this one",
        ),
        html.Div("number: cosine similarity of the vectors", className="muted"),
        dcc.Checklist(
            id={"type": "explorer-copies", "panel": "neuron"},
            options=[
                {"label": html.Span(" hide residual copies", title=COPIES_HINT), "value": "hide"}
            ],
            value=[],
            persistence=True,
            persistence_type="session",
            className="copies-toggle",
            inputStyle={"marginRight": "4px"},
        ),
        html.Div(
            semantic,
            id={"type": "explorer-neighbors-box", "panel": "neuron"},
            className="neighbors",
        ),
    ]
    if on_map is None:
        parts.append(
            html.P("The map's nearest points appear once the map is drawn.", className="muted")
        )
        return html.Div(parts)
    close = {n["id"] for n in rows}
    shared = sum(1 for n in on_map if n["id"] in close)
    nearest = [
        _neighbor_button(
            run,
            n,
            analysed,
            f"{n['similarity']:.3f}",
            f"map distance {n['distance']:.3f}, cosine {n['similarity']:.3f}",
            "map",
        )
        for n in on_map
    ]
    parts += [
        html.H4(
            "Nearest on this map (2-D)",
            title="the 10 points closest to this one on the map as drawn",
        ),
        html.Div(
            f"{shared} of {len(on_map)} are also semantic neighbours (the rest are near only "
            "in the projection); number: cosine similarity of the vectors",
            className="muted",
            id="neuron-map-overlap",
        ),
        html.Div(nearest, id="neuron-map-neighbors", className="neighbors"),
    ]
    return html.Div(parts)


def neuron_panel(
    run: str, detail: dict, neighbor_rows: list[dict], on_map: list[dict] | None = None
) -> html.Div:
    parts = [
        _facts(detail),
        top_images(run, detail),
        feature_box(run, detail),
        _class_chart(detail),
        _histogram(detail),
        _neighbors(run, neighbor_rows, on_map, bool(detail["top"])),
    ]
    return html.Div([p for p in parts if p is not None], className="neuron-panel")

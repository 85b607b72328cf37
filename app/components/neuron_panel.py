"""The neuron panel: who the neuron is, what excites it, and who it resembles."""

import itertools

import plotly.graph_objects as go
from dash import dcc, html

from app import api_client
from app.components.glossary import hint
from app.components.ui import CHART_CONFIG, fmt

KEYS_HINT = "Keys: n / p next / previous neighbour (Enter opens it), Esc closes the panel."


def _facts(d: dict) -> html.Div:
    badge = (
        html.Span("dead", className="badge badge-dead", title=hint("dead"))
        if d.get("dead")
        else None
    )
    facts = [
        ("dominant class", f"class {d['label']}" if d.get("label") else "—"),
        ("selectivity", fmt(d.get("selectivity"), ".3f")),
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
                "Hover a name for what it means. " + KEYS_HINT,
                className="muted",
                id="neuron-keys",
            ),
        ]
    )


def _top_images(run: str, d: dict) -> html.Div:
    if not d["top"]:
        return html.P("No top images: this run has not been analysed.", className="muted")
    tiles = [
        html.Figure(
            [
                html.Img(
                    src=api_client.image_url(run, d["id"], t["rank"], 112),
                    alt=f"top image {t['rank'] + 1}",
                    className="top-image",
                ),
                html.Figcaption(f"{t['value']:.2f}"),
            ],
            className="top-tile",
        )
        for t in d["top"]
    ]
    return html.Div(
        [
            html.H4(f"Top {len(tiles)} images (heatmap: where it fires; value: mean activation)"),
            html.Div(tiles, className="top-grid", id="neuron-top-images"),
        ]
    )


def _class_chart(d: dict) -> dcc.Graph | None:
    if not d["class_means"]:
        return None
    classes = d["classes"] or [str(i) for i in range(len(d["class_means"]))]
    fig = go.Figure(
        go.Bar(
            x=classes,
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
            hovertemplate="%{x:.3f}: %{y} images<extra></extra>",
        )
    )
    fig.update_layout(
        title={"text": "Activation histogram (pooled, all images)", "font": {"size": 13}},
        xaxis={"title": {"text": "activation"}},
        yaxis={"title": {"text": "images"}},
        margin={"l": 50, "r": 10, "t": 35, "b": 40},
        height=200,
        bargap=0,
    )
    return dcc.Graph(figure=fig, config=CHART_CONFIG, id="neuron-histogram")


def _neighbor_button(run: str, n: dict, analysed: bool, number: str, hint: str, where: str):
    """A neighbour to open; `where` (semantic, map) keeps ids unique when a neuron is in
    both lists."""
    thumb = (
        html.Img(src=api_client.image_url(run, n["id"], 0, 48), className="thumb", alt="")
        if analysed
        else None
    )
    return html.Button(
        [
            thumb,
            html.Span(n["name"], className="nb-name"),
            html.Span(f"class {n['label']}" if n["label"] else "", className="muted"),
            html.Span(number, className="nb-sim"),
        ],
        id={"type": "explorer-neighbor", "neuron": n["name"], "list": where},
        className="neighbor",
        title=f"open {n['name']} ({hint})",
        n_clicks=0,
    )


def _neighbors(run: str, rows: list[dict], on_map: list[dict] | None, analysed: bool):
    """The semantic neighbours (64-d cosine) beside the map's own nearest points: where the
    two lists differ, the 2-D projection has moved neurons apart or together."""
    semantic = [
        _neighbor_button(
            run, n, analysed, f"{n['similarity']:.3f}", f"cosine {n['similarity']:.3f}", "semantic"
        )
        for n in rows
    ]
    parts = [
        html.H4(
            "Semantic neighbours (64-d vectors)",
            title="the 10 neurons whose semantic vectors are most similar (cosine similarity, "
            "1 = same direction); they fire together with this one",
        ),
        html.Div("number: cosine similarity of the vectors", className="muted"),
        html.Div(semantic, id="neuron-neighbors", className="neighbors"),
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


def _heat_legend(d: dict) -> html.Div | None:
    if not d["top"]:
        return None
    return html.Div(
        [
            html.Span(className="heat-scale"),
            html.Span(
                "heatmap: clear = no activation, orange-yellow = where the neuron fires most "
                "(scaled to each image's maximum); number under an image: the neuron's mean "
                "activation on it",
                className="muted",
            ),
        ],
        className="heat-legend",
        id="neuron-heat-legend",
    )


def neuron_panel(
    run: str, detail: dict, neighbor_rows: list[dict], on_map: list[dict] | None = None
) -> html.Div:
    parts = [
        _facts(detail),
        _top_images(run, detail),
        _heat_legend(detail),
        _class_chart(detail),
        _histogram(detail),
        _neighbors(run, neighbor_rows, on_map, bool(detail["top"])),
    ]
    return html.Div([p for p in parts if p is not None], className="neuron-panel")

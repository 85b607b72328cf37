"""The neuron panel: who the neuron is, what excites it, and who it resembles."""

import itertools

import plotly.graph_objects as go
from dash import dcc, html

from app import api_client
from app.components.ui import CHART_CONFIG, fmt, plain


def _facts(d: dict) -> html.Div:
    badge = html.Span("dead", className="badge badge-dead") if d.get("dead") else None
    facts = [
        ("dominant class", d.get("label") or "—"),
        ("selectivity", fmt(d.get("selectivity"), ".3f")),
        ("quality r", fmt(d.get("quality_r"), ".3f")),
        ("precision@10", fmt(d.get("precision_at_10"), ".3f")),
    ]
    return html.Div(
        [
            html.H3([d["name"], badge], id="neuron-name", className="neuron-name"),
            html.Div(
                f"layer {d['layer']} · channel {d['channel']} · id {d['id']}",
                className="muted",
            ),
            html.Table(
                html.Tbody([html.Tr([html.Th(k), html.Td(v)]) for k, v in facts]),
                className="facts",
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


def _neighbors(run: str, rows: list[dict], analysed: bool) -> html.Div:
    items = []
    for n in rows:
        thumb = (
            html.Img(src=api_client.image_url(run, n["id"], 0, 48), className="thumb", alt="")
            if analysed
            else None
        )
        items.append(
            html.Button(
                [
                    thumb,
                    html.Span(n["name"], className="nb-name"),
                    html.Span(f"label {n['label']}" if n["label"] else "", className="muted"),
                    html.Span(f"{n['similarity']:.3f}", className="nb-sim"),
                ],
                id={"type": "explorer-neighbor", "neuron": n["id"]},
                className="neighbor",
                title=f"open {n['name']} (cosine similarity {n['similarity']:.3f})",
                n_clicks=0,
            )
        )
    return html.Div(
        [
            html.H4("Nearest semantic neighbours (cosine similarity of vectors)"),
            html.Div(items, id="neuron-neighbors", className="neighbors"),
        ]
    )


def neuron_panel(run: str, detail: dict, neighbor_rows: list[dict]) -> html.Div:
    parts = [
        _facts(detail),
        _top_images(run, detail),
        _class_chart(detail),
        _histogram(detail),
        _neighbors(run, neighbor_rows, bool(detail["top"])),
    ]
    return html.Div([p for p in parts if p is not None], className="neuron-panel")

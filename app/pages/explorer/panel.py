"""Choosing a neuron (map click, neighbour, search hit), its panel, and its highlight.
Neurons travel by name (`conv3:5`): that is what the URL shows and people paste."""

import asyncio

from dash import ALL, Input, Output, State, callback, clientside_callback, ctx, no_update

from app import api_client
from app.api_client import ApiError
from app.components.neuron_images import zoom_url, zoomed
from app.components.neuron_panel import neuron_panel, semantic_list
from app.components.ui import message

PLACEHOLDER = "Click a neuron on the map to see what it responds to."


def _clicked_name(click: dict | None) -> str | None:
    """The name of the point clicked on the map: its hover text starts with it
    (`conv3:5 · class 7`; names never hold " · ")."""
    points = (click or {}).get("points") or []
    if not points or points[0].get("customdata") is None:
        return None
    text = points[0].get("text")
    return text.split(" · ")[0] if text else str(points[0]["customdata"])


@callback(
    Output("explorer-pick", "data"),
    Input("explorer-map", "clickData"),
    Input({"type": "explorer-neighbor", "neuron": ALL, "list": ALL}, "n_clicks"),
    Input({"type": "explorer-hit", "neuron": ALL}, "n_clicks"),
    Input({"type": "explorer-close", "panel": ALL}, "n_clicks"),
    prevent_initial_call=True,
)
def explorer_pick(click, _neighbor_clicks, _hit_clicks, _close_clicks):
    """A neuron chosen by a click on the map, on a neighbour or on a search hit; None when
    the panel is closed."""
    trigger = ctx.triggered_id
    if trigger == "explorer-map":
        name = _clicked_name(click)
        return {"neuron": name} if name is not None else no_update
    if not ctx.triggered or not ctx.triggered[0]["value"]:
        return no_update  # buttons appearing, not clicked
    if trigger["type"] == "explorer-close":
        return {"neuron": None}
    return {"neuron": str(trigger["neuron"])}


@callback(
    Output("explorer-panel", "children"),
    Output("explorer-focus", "data"),
    Input("explorer-selected", "data"),
    State("explorer-view", "data"),
)
async def explorer_panel(neuron, view):
    if not view or neuron is None:
        return message(PLACEHOLDER), {"ids": []}
    run, ref = view["run"], str(neuron)
    calls = (
        api_client.neuron(run, ref),
        api_client.neighbors(run, ref, k=10),
        api_client.map_neighbors(run, ref, view["method"], view["params"], k=10),
    )
    detail, rows, on_map = await asyncio.gather(*calls, return_exceptions=True)
    for answer in (detail, rows):
        if isinstance(answer, ApiError):
            return message(answer.detail, "error"), {"ids": []}  # it names the neuron
        if isinstance(answer, BaseException):
            raise answer
    if isinstance(on_map, ApiError):
        on_map = None  # the map is still being computed: the panel says so
    elif isinstance(on_map, BaseException):
        raise on_map
    ids = [detail["id"], *(r["id"] for r in rows)]
    return neuron_panel(run, detail, rows, on_map), {"ids": ids}


clientside_callback(
    """function(focus, found, fig, clusters, picked) {
        const outlined = window.semvecClusters.apply(fig, clusters, picked);
        const lit = window.semvec.highlight(focus, found, outlined);
        return lit === window.dash_clientside.no_update && outlined !== fig ? outlined : lit;
    }""",  # one pass draws every overlay: two callbacks writing the figure would race
    Output("explorer-map", "figure", allow_duplicate=True),
    Input("explorer-focus", "data"),
    Input("explorer-found", "data"),
    Input("explorer-map", "figure"),
    Input("explorer-clusters", "data"),
    Input("explorer-cluster-picked", "data"),
    prevent_initial_call=True,
)


@callback(
    Output({"type": "explorer-zoom", "panel": ALL}, "children"),
    Input(
        {"type": "explorer-zoom-open", "kind": ALL, "neuron": ALL, "rank": ALL, "image": ALL},
        "n_clicks",
    ),
    Input({"type": "explorer-zoom-close", "panel": ALL}, "n_clicks"),
    State(
        {"type": "explorer-zoom-open", "kind": ALL, "neuron": ALL, "rank": ALL, "image": ALL},
        "title",
    ),
    State({"type": "explorer-zoom", "panel": ALL}, "id"),
    State("explorer-view", "data"),
    prevent_initial_call=True,
)
def explorer_zoom(_open_clicks, _close_clicks, titles, boxes, view):
    """A clicked image, enlarged over the panel; a click on it closes it."""
    trigger = ctx.triggered_id
    if not ctx.triggered or not ctx.triggered[0]["value"] or not boxes or not view:
        return [no_update] * len(boxes)
    if trigger["type"] == "explorer-zoom-close":
        return [None] * len(boxes)
    tiles = ctx.inputs_list[0]
    caption = next(
        (title for tile, title in zip(tiles, titles, strict=True) if tile["id"] == trigger), ""
    )
    return [zoomed(zoom_url(view["run"], trigger), caption)] * len(boxes)


@callback(
    Output({"type": "explorer-neighbors-box", "panel": ALL}, "children"),
    Input({"type": "explorer-copies", "panel": ALL}, "value"),
    State("explorer-selected", "data"),
    State("explorer-view", "data"),
    State({"type": "explorer-neighbors-box", "panel": ALL}, "id"),
    prevent_initial_call=True,
)
async def explorer_copies(values, neuron, view, boxes):
    """The semantic neighbours again, with or without the neuron's residual copies."""
    if not boxes or not view or neuron is None:
        return [no_update] * len(boxes)
    hide = "hide" in (values[0] or [])
    try:
        rows = await api_client.neighbors(view["run"], str(neuron), k=10, hide_copies=hide)
    except ApiError as err:
        return [message(err.detail, "error")] * len(boxes)
    return [semantic_list(view["run"], rows, analysed=True)] * len(boxes)

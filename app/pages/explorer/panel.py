"""Choosing a neuron (map click, neighbour, search hit), its panel, and its highlight."""

from dash import ALL, Input, Output, State, callback, clientside_callback, ctx, no_update

from app import api_client
from app.api_client import ApiError
from app.components.neuron_panel import neuron_panel
from app.components.ui import message


@callback(
    Output("explorer-pick", "data"),
    Input("explorer-map", "clickData"),
    Input({"type": "explorer-neighbor", "neuron": ALL}, "n_clicks"),
    Input({"type": "explorer-hit", "neuron": ALL}, "n_clicks"),
    prevent_initial_call=True,
)
def explorer_pick(click, _neighbor_clicks, _hit_clicks):
    """A neuron chosen by a click on the map, on a neighbour, or on a search hit."""
    trigger = ctx.triggered_id
    if trigger == "explorer-map":
        points = (click or {}).get("points") or []
        if not points or points[0].get("customdata") is None:
            return no_update
        neuron = points[0]["customdata"]
    else:
        if not ctx.triggered or not ctx.triggered[0]["value"]:
            return no_update  # buttons appearing, not clicked
        neuron = trigger["neuron"]
    return {"neuron": str(neuron)}


@callback(
    Output("explorer-panel", "children"),
    Output("explorer-focus", "data"),
    Input("explorer-selected", "data"),
    State("explorer-view", "data"),
)
async def explorer_panel(neuron, view):
    if not view or neuron is None:
        return message("Click a neuron on the map to see what it responds to."), {"ids": []}
    try:
        detail = await api_client.neuron(view["run"], str(neuron))
        rows = await api_client.neighbors(view["run"], str(detail["id"]), k=10)
    except ApiError as err:
        return message(f"Cannot open neuron {neuron!r}: {err.detail}", "error"), {"ids": []}
    ids = [detail["id"], *(r["id"] for r in rows)]
    return neuron_panel(view["run"], detail, rows), {"ids": ids}


clientside_callback(
    "function(focus, fig) { return window.semvec.highlight(focus, fig); }",
    Output("explorer-map", "figure", allow_duplicate=True),
    Input("explorer-focus", "data"),
    Input("explorer-map", "figure"),
    prevent_initial_call=True,
)

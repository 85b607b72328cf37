"""The map's clusters: fetched for the view (a `project` job makes them when missing),
shown or hidden, and a click on one (its outline, or its row in the list) puts
its neurons in the page's selection, the one the lasso fills (list, CSV, Ablate)."""

from dash import ALL, Input, Output, Patch, State, callback, ctx, no_update

from app import api_client
from app.api_client import ApiError
from app.components.clusters import (
    cluster_buttons,
    cluster_number,
    drawing,
    selection_note,
    summary,
)
from app.components.job_controls import FAILED
from app.components.map_figure import map_revision
from app.components.ui import message
from app.pages.explorer.selection import MAX_LISTED


@callback(
    Output("explorer-clusters", "data"),
    Output("explorer-clusters-info", "children"),
    Output("explorer-clusters-list", "children"),
    Output("explorer-clusters-poll", "disabled"),
    Input("explorer-view", "data"),
    Input("explorer-clusters-poll", "n_intervals"),
    Input("explorer-map-retry", "n_clicks"),
    State("explorer-clusters-show", "value"),
)
async def explorer_clusters(view, _tick, _retry, show):
    """The map's clusters; after a failed `project` job, why, until the map's Try again
    (which starts the job: the clusters only follow it, so that one click is one job)."""
    if not view:
        return None, None, None, True
    if ctx.triggered_id == "explorer-map-retry":
        return no_update, "Finding clusters…", None, False
    run, method, params = view["run"], view["method"], view["params"]
    try:
        try:
            status, body = await api_client.clusters(run, method, params)
        except ApiError as err:
            if err.status != 422 or not params:
                raise
            params = {}  # as the map does: settings this run cannot take fall back
            status, body = await api_client.clusters(run, method, params)
        if status == 202:
            job = await api_client.job(body["job_id"])
            if job["state"] in FAILED:
                text = f"The clustering job {job['id']} {job['state']}: {job['error'] or ''}"
                return None, message(text, "error"), None, True
            return no_update, f"Finding clusters (job {job['id']}, {job['state']})…", None, False
    except ApiError as err:
        if failed := api_client.failure(err):
            text = f"The clusters could not be found: {failed['error']}"
            return None, message(text, "error"), None, True
        return None, message(err.detail, "error"), None, True
    shown = "show" in (show or [])
    found = drawing(body, map_revision(run, method, params), shown)
    return found, summary(body), cluster_buttons(body), True


@callback(
    Output("explorer-clusters", "data", allow_duplicate=True),
    Input("explorer-clusters-show", "value"),
    State("explorer-clusters", "data"),
    prevent_initial_call=True,
)
def explorer_clusters_show(show, found):
    if not found:
        return no_update
    patch = Patch()
    patch["shown"] = "show" in (show or [])
    return patch


@callback(
    Output("explorer-lasso", "children", allow_duplicate=True),
    Output("explorer-lasso-ids", "data", allow_duplicate=True),
    Output("explorer-lasso-csv", "disabled", allow_duplicate=True),
    Output("explorer-cluster-picked", "data"),
    Input("explorer-map", "clickData"),
    Input({"type": "explorer-cluster", "cluster": ALL}, "n_clicks"),
    State("explorer-clusters", "data"),
    State("explorer-view", "data"),
    prevent_initial_call=True,
)
async def explorer_cluster_pick(map_click, _list_clicks, found, view):
    """A cluster's neurons become the selection (a click on its outline or its row); a click
    on a neuron leaves it as it is. Its tag on the map takes no clicks: see clusters.py."""
    trigger = ctx.triggered_id
    picked = None
    if trigger == "explorer-map":
        points = (map_click or {}).get("points") or []
        if points and points[0].get("customdata") is None:
            picked = cluster_number(points[0].get("text"))
    elif isinstance(trigger, dict) and ctx.triggered and ctx.triggered[0]["value"]:
        picked = int(trigger["cluster"])
    if picked is None or not found or not view or str(picked) not in found["members"]:
        return no_update, no_update, no_update, no_update
    ids = found["members"][str(picked)]
    columns = await api_client.columns(view["run"])
    names = [columns["name"][i] for i in ids[:MAX_LISTED]]
    note = selection_note(found["labels"][str(picked)], names, len(ids))
    return note, ids, False, {"id": picked, "revision": found["revision"]}


@callback(
    Output("explorer-cluster-picked", "data", allow_duplicate=True),
    Input("explorer-map", "selectedData"),
    Input("explorer-view", "data"),
    prevent_initial_call=True,
)
def explorer_cluster_unpick(_selected, _view):
    """A lasso, or another map, makes the picked cluster's outline ordinary again."""
    return None

"""Finding neurons: search by name or label, and the lasso selection with its CSV."""

import csv
import io

from dash import Input, Output, State, callback, dcc, html, no_update

from app import api_client
from app.api_client import ApiError
from app.components.ui import message

MAX_LISTED = 200
"""At most this many lasso-selected names are listed on the page (the CSV has all)."""


@callback(
    Output("explorer-search-results", "children"),
    Input("explorer-search-go", "n_clicks"),
    Input("explorer-search", "n_submit"),
    State("explorer-search", "value"),
    State("explorer-view", "data"),
    prevent_initial_call=True,
)
async def explorer_search(_go, _submit, text, view):
    if not view or not (text or "").strip():
        return message("Type part of a name (conv2:5) or a class label (7).")
    try:
        found = await api_client.neurons(view["run"], q=text.strip(), limit=50)
    except ApiError as err:
        return message(err.detail, "error")
    if not found["total"]:
        return message(f"No neuron matches {text!r}.")
    hits = [
        html.Button(
            f"{n['name']}" + (f" · {n['label']}" if n["label"] else ""),
            id={"type": "explorer-hit", "neuron": n["id"]},
            className="hit",
            n_clicks=0,
        )
        for n in found["data"]
    ]
    more = found["total"] - len(hits)
    tail = [html.Div(f"… and {more} more", className="muted")] if more > 0 else []
    return [html.Div(f"{found['total']} found", className="muted"), *hits, *tail]


@callback(
    Output("explorer-lasso", "children"),
    Output("explorer-lasso-ids", "data"),
    Output("explorer-lasso-csv", "disabled"),
    Input("explorer-map", "selectedData"),
    State("explorer-view", "data"),
    prevent_initial_call=True,
)
async def explorer_lasso(selected, view):
    ids = sorted(
        {
            p["customdata"]
            for p in (selected or {}).get("points", [])
            if isinstance(p.get("customdata"), int)
        }
    )
    if not ids or not view:
        return "Use the lasso tool on the map to select neurons.", [], True
    columns = await api_client.columns(view["run"])
    names = [columns["name"][i] for i in ids[:MAX_LISTED]]
    more = f" (first {MAX_LISTED} listed)" if len(ids) > MAX_LISTED else ""
    listing = [
        html.Div(f"{len(ids)} neurons selected{more}", id="lasso-count"),
        html.Div(", ".join(names), id="lasso-list"),
    ]
    return listing, ids, False


@callback(
    Output("explorer-download", "data"),
    Input("explorer-lasso-csv", "n_clicks"),
    State("explorer-lasso-ids", "data"),
    State("explorer-view", "data"),
    prevent_initial_call=True,
)
async def explorer_lasso_csv(_clicks, ids, view):
    if not ids or not view:
        return no_update
    columns = await api_client.columns(view["run"])
    out = io.StringIO()
    writer = csv.writer(out)
    fields = ["name", "layer", "label", "selectivity", "dead", "quality_r"]
    writer.writerow(["id", *fields])
    for i in ids:
        writer.writerow([i, *(columns[f][i] for f in fields)])
    return dcc.send_string(out.getvalue(), f"{view['run']}-selection.csv")

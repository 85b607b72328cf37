"""Finding neurons: search by name or label, and the lasso selection with its CSV."""

import csv
import io

from dash import Input, Output, State, callback, ctx, dcc, html, no_update

from app import api_client
from app.api_client import ApiError
from app.components.ui import message
from app.components.words import count

MAX_LISTED = 200
"""At most this many lasso-selected names are listed on the page (the CSV has all)."""
MAX_MARKED = 5000
"""At most this many search hits are marked on the map (the count says how many more)."""
PAGE = 20
"""Search hits listed per page."""


@callback(
    Output("explorer-search-results", "children"),
    Output("explorer-found", "data"),
    Output("explorer-search-prev", "disabled"),
    Output("explorer-search-next", "disabled"),
    Input("explorer-search-go", "n_clicks"),
    Input("explorer-search", "n_submit"),
    Input("explorer-search-prev", "n_clicks"),
    Input("explorer-search-next", "n_clicks"),
    State("explorer-search", "value"),
    State("explorer-view", "data"),
    State("explorer-found", "data"),
    prevent_initial_call=True,
)
async def explorer_search(_go, _submit, _prev, _next, text, view, found):
    """Search by name (`conv2:5`) or dominant class (`class:7`): every hit is marked on
    the map; the list pages through them."""
    trigger = ctx.triggered_id
    if trigger in ("explorer-search-prev", "explorer-search-next") and found:
        step = 1 if trigger == "explorer-search-next" else -1
        found = found | {"page": found["page"] + step}
        return _hit_list(found), found, *_paging(found)
    text = (text or "").strip()
    if not view or not text:
        hint = message("Type part of a name (conv2:5), or class:7 for the neurons of a class.")
        return hint, {"ids": []}, True, True
    try:
        result = await api_client.neurons(view["run"], q=text, limit=MAX_MARKED)
    except ApiError as err:
        return message(err.detail, "error"), {"ids": []}, True, True
    if not result["total"]:
        if text.lower().startswith("class:"):
            said = await _no_class(view["run"], text.split(":", 1)[1].strip())
        else:
            said = f"No neuron matches {text!r}.{_class_hint(text)}"
        return message(said), {"ids": []}, True, True
    hits = [[n["id"], n["name"], n["label"]] for n in result["data"]]
    found = {"query": text, "total": result["total"], "hits": hits, "page": 0}
    found["ids"] = [h[0] for h in hits]
    return _hit_list(found), found, *_paging(found)


def _class_hint(text: str) -> str:
    return f" For the neurons of class {text}, search class:{text}." if text.isdigit() else ""


async def _no_class(run: str, label: str) -> str:
    """Why `class:LABEL` found nothing, naming the classes there are."""
    try:
        classes = (await api_client.run(run)).get("classes") or []
    except ApiError:
        classes = []
    if not classes:
        return f"No neuron has dominant class {label!r}: this run's images have no classes."
    if label in classes:
        return f"No neuron has class {label} as its dominant class."
    return f"No neuron has dominant class {label!r}; the classes are {class_range(classes)}."


def class_range(classes: list[str]) -> str:
    """The class names in few words: `0–9` when they are 0, 1, …, n-1; else the first
    names and how many there are."""
    if len(classes) > 2 and classes == [str(i) for i in range(len(classes))]:
        return f"0–{len(classes) - 1}"
    if len(classes) <= 12:
        return ", ".join(classes)
    return f"{', '.join(classes[:8])}, … ({len(classes):,} classes)"


def _paging(found: dict) -> tuple[bool, bool]:
    pages = -(-len(found["hits"]) // PAGE)
    return found["page"] <= 0, found["page"] >= pages - 1


def _hit_list(found: dict) -> list:
    page, hits = found["page"], found["hits"]
    shown = hits[page * PAGE : (page + 1) * PAGE]
    what = "by class" if found["query"].lower().startswith("class:") else "by name"
    marked = f"all {len(hits)}" if len(hits) == found["total"] else f"the first {len(hits)}"
    head = html.Div(
        f"{found['total']} found {what}, {marked} marked on the map (orange squares); "
        f"{page * PAGE + 1}–{page * PAGE + len(shown)} listed",
        className="muted",
        id="explorer-search-count",
    )
    buttons = [
        html.Button(
            name + (f" · class {label}" if label else ""),
            id={"type": "explorer-hit", "neuron": name},
            className="hit",
            n_clicks=0,
        )
        for _id, name, label in shown
    ]
    return [head, *buttons]


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
        html.Div(f"{count(len(ids), 'neuron')} selected{more}", id="lasso-count"),
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

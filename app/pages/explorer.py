"""The Map tab: every neuron of a run on a 2-D map; click one to open its panel.

State flows one way: the URL's query holds the view (run, map, neuron), `explorer_state`
is the only callback that reads or writes it, and everything else reacts to the two
stores it fills (`explorer-view`: which map; `explorer-selected`: which neuron).
"""

import csv
import io

from dash import ALL, Input, Output, State, callback, clientside_callback, ctx, dcc, html, no_update

from app import api_client
from app.api_client import ApiError
from app.components.map_figure import COLOR_MODES, empty_figure, map_figure
from app.components.neuron_panel import message, neuron_panel
from app.urls import format_view, parse_view

METHOD_PARAMS = {"umap": ("n_neighbors", "min_dist"), "tsne": ("perplexity",), "pca": ()}
PARAM_INPUTS = {
    "n_neighbors": ("neighbours (UMAP)", 15, 2, 500, 1),
    "min_dist": ("min. distance (UMAP)", 0.1, 0, 1, 0.05),
    "perplexity": ("perplexity (t-SNE)", 30, 1, 1000, 1),
}
MAX_LISTED = 200


def _param_input(key: str) -> html.Label:
    label, default, low, high, step = PARAM_INPUTS[key]
    return html.Label(
        [
            html.Span(label),
            dcc.Input(
                id=f"explorer-{key.replace('_', '-')}",
                type="number",
                min=low,
                max=high,
                step=step,
                placeholder=f"default {default}",
                debounce=True,
            ),
        ],
        className="field",
    )


def layout() -> html.Div:
    controls = html.Div(
        [
            html.Label([html.Span("Run"), dcc.Dropdown(id="explorer-run", clearable=False)]),
            html.Fieldset(
                [
                    html.Legend("Map"),
                    dcc.RadioItems(
                        id="explorer-method",
                        options=[
                            {"label": "UMAP", "value": "umap"},
                            {"label": "t-SNE", "value": "tsne"},
                            {"label": "PCA", "value": "pca"},
                        ],
                        value="umap",
                        inline=True,
                    ),
                    *(_param_input(key) for key in PARAM_INPUTS),
                    html.Button("Apply", id="explorer-apply", className="primary", n_clicks=0),
                ]
            ),
            html.Label(
                [
                    html.Span("Layers shown"),
                    dcc.Dropdown(id="explorer-layer", multi=True, placeholder="all layers"),
                ]
            ),
            html.Label(
                [
                    html.Span("Colour by"),
                    dcc.RadioItems(
                        id="explorer-color",
                        options=[{"label": v, "value": k} for k, v in COLOR_MODES.items()],
                        value="layer",
                    ),
                ]
            ),
            html.Fieldset(
                [
                    html.Legend("Find a neuron"),
                    dcc.Input(
                        id="explorer-search",
                        type="search",
                        placeholder="name (conv2:5) or label (7)",
                        debounce=False,
                    ),
                    html.Button("Search", id="explorer-search-go", n_clicks=0),
                    html.Div(id="explorer-search-results", className="search-results"),
                ]
            ),
            html.Fieldset(
                [
                    html.Legend("Lasso selection"),
                    html.Div(
                        "Use the lasso tool on the map to select neurons.",
                        id="explorer-lasso",
                        className="muted",
                    ),
                    html.Button("Download CSV", id="explorer-lasso-csv", disabled=True),
                    dcc.Download(id="explorer-download"),
                ]
            ),
        ],
        className="sidebar",
    )
    graph = dcc.Graph(
        id="explorer-map",
        figure=empty_figure("Loading…"),
        config={"scrollZoom": True, "displaylogo": False, "modeBarButtonsToRemove": ["select2d"]},
        className="map-graph",
    )
    return html.Div(
        [
            controls,
            html.Div(
                [
                    html.Div(id="explorer-note"),
                    html.Div(id="explorer-status"),
                    dcc.Loading(graph, type="circle", delay_show=400),
                ],
                className="map-area",
            ),
            html.Div(
                message("Click a neuron on the map to see what it responds to."),
                id="explorer-panel",
                className="panel-area",
            ),
            dcc.Store(id="explorer-view"),
            dcc.Store(id="explorer-selected"),
            dcc.Store(id="explorer-pick"),
            dcc.Store(id="explorer-focus"),
            dcc.Store(id="explorer-lasso-ids"),
            dcc.Interval(id="explorer-poll", interval=1000, disabled=True),
        ],
        className="explorer",
    )


def _default_method(summary: dict) -> str:
    cached = [p["method"] for p in summary.get("projections", [])]
    return next((m for m in ("umap", "pca", "tsne") if m in cached), "umap")


def _default_run(runs: list[dict]) -> str | None:
    ids = [r["id"] for r in runs]
    if "digits-default" in ids:
        return "digits-default"
    return max(runs, key=lambda r: r["created"])["id"] if runs else None


def _params_from_inputs(method: str, values: dict) -> dict:
    return {k: values[k] for k in METHOD_PARAMS[method] if values.get(k) is not None}


@callback(
    Output("shell-url", "search"),
    Output("explorer-run", "value"),
    Output("explorer-run", "options"),
    Output("explorer-method", "value"),
    Output("explorer-n-neighbors", "value"),
    Output("explorer-min-dist", "value"),
    Output("explorer-perplexity", "value"),
    Output("explorer-view", "data"),
    Output("explorer-selected", "data"),
    Output("explorer-note", "children"),
    Input("shell-url", "search"),
    Input("explorer-run", "value"),
    Input("explorer-apply", "n_clicks"),
    Input("explorer-pick", "data"),
    Input("shell-url", "pathname"),
    State("explorer-method", "value"),
    State("explorer-n-neighbors", "value"),
    State("explorer-min-dist", "value"),
    State("explorer-perplexity", "value"),
    State("explorer-view", "data"),
    State("explorer-selected", "data"),
)
async def explorer_state(
    search, run_value, _apply, pick, pathname, method, nn, md, perp, view, selected
):
    """The URL ⇄ view synchronisation (the one callback that touches the URL query)."""
    trigger = ctx.triggered_id
    inputs = {"n_neighbors": nn, "min_dist": md, "perplexity": perp}
    keep = [no_update] * 7
    if trigger == "explorer-pick" and view:
        neuron = pick["neuron"]
        url = format_view(view["run"], view["method"], view["params"], neuron)
        return url, *keep, neuron, no_update
    if trigger == "explorer-apply" and view:
        params = _params_from_inputs(method, inputs)
        new_view = {"run": view["run"], "method": method, "params": params}
        url = format_view(view["run"], method, params, selected)
        return url, *keep[:6], new_view, no_update, None
    if trigger == "explorer-run" and view and run_value != view["run"]:
        return await _open_run(run_value, None, {}, None, [], update_url=True)
    if trigger == "explorer-run" or (pathname or "/").rstrip("/") not in ("", "/map"):
        return (no_update,) * 10
    asked = parse_view(search)
    return await _open_run(
        asked["run"], asked["method"], asked["params"], asked["neuron"], asked["bad"], False
    )


async def _open_run(run, method, params, neuron, bad, update_url):
    """Outputs of `explorer_state` for a view opened from the URL or the run selector."""
    try:
        runs = await api_client.runs()
    except ApiError as err:
        return (no_update,) * 9 + (message(f"Cannot list runs: {err.detail}", "error"),)
    options = [
        {
            "label": f"{r['id']} — {r['arch']} on {r['dataset']} ({r['neurons']} neurons)",
            "value": r["id"],
        }
        for r in runs
    ]
    notes = [f"ignored {b}" for b in bad]
    if run is None:
        run = _default_run(runs)
    elif run not in {r["id"] for r in runs}:
        notes.insert(0, f"There is no run named {run!r}; showing the default instead.")
        run, neuron = _default_run(runs), None
    if run is None:
        note = message(
            "No runs yet. Start one in the Runs tab, or run `semvec quickstart`.", "info"
        )
        return no_update, None, options, *(no_update,) * 4, None, None, note
    summary = next(r for r in runs if r["id"] == run)
    method = method or _default_method(summary)
    view = {"run": run, "method": method, "params": params}
    values = [params.get(k) for k in PARAM_INPUTS]
    url = format_view(run, method, params, neuron) if update_url else no_update
    note = message("; ".join(notes), "warning") if notes else None
    return url, run, options, method, *values, view, neuron, note


@callback(
    Output("explorer-n-neighbors", "disabled"),
    Output("explorer-min-dist", "disabled"),
    Output("explorer-perplexity", "disabled"),
    Input("explorer-method", "value"),
)
def explorer_param_fields(method):
    return [key not in METHOD_PARAMS.get(method, ()) for key in PARAM_INPUTS]


@callback(
    Output("explorer-layer", "options"),
    Output("explorer-layer", "value"),
    Output("shell-run-info", "children"),
    Input("explorer-view", "data"),
    State("explorer-layer", "options"),
)
async def explorer_run_header(view, layer_options):
    if not view:
        return [], [], ""
    try:
        summary = await api_client.run(view["run"])
    except ApiError as err:
        return [], [], message(err.detail, "error")
    options = [
        {"label": f"{lay['path']} ({lay['width']})", "value": lay["path"]}
        for lay in summary["layers"]
    ]
    same_run = layer_options == options
    return options, no_update if same_run else [], _run_info(summary)


def _run_info(s: dict) -> list:
    q = s.get("quality") or {}
    acc = s.get("test_accuracy")
    facts = [
        ("model", s["arch"]),
        ("dataset", s["dataset"] or "—"),
        ("neurons", f"{s['neurons']:,}"),
        ("held-out r", f"{q['r']:.3f}" if "r" in q else "—"),
        ("P@10", f"{q['precision_at_10']:.3f}" if "precision_at_10" in q else "—"),
        ("test accuracy", f"{acc:.1%}" if acc is not None else "—"),
    ]
    return [html.Span([html.B(k), " ", v], className="fact") for k, v in facts]


@callback(
    Output("explorer-map", "figure"),
    Output("explorer-status", "children"),
    Output("explorer-poll", "disabled"),
    Input("explorer-view", "data"),
    Input("explorer-poll", "n_intervals"),
    Input("explorer-color", "value"),
    Input("explorer-layer", "value"),
)
async def explorer_map(view, _tick, color, layers):
    """The map for the view; while its projection job runs, a progress bar and a poll."""
    if not view:
        return empty_figure("No run to show."), None, True
    try:
        status, body = await api_client.projection(view["run"], view["method"], view["params"])
        if status == 202:
            return await _pending(body["job_id"], view, ctx.triggered_id == "explorer-poll")
        columns = await api_client.columns(view["run"])
    except ApiError as err:
        return empty_figure("No map"), message(err.detail, "error"), True
    title = f"{view['run']} · {view['method'].upper()} · {len(body['x']):,} neurons"
    return map_figure(body, columns, color or "layer", layers, title), None, True


async def _pending(job_id: int, view: dict, polling: bool):
    job = await api_client.job(job_id)
    if job["state"] in ("failed", "cancelled", "interrupted"):
        text = f"The {view['method']} map job {job_id} {job['state']}: {job['error'] or ''}"
        return empty_figure("No map"), message(text, "error"), True
    percent = round(100 * job["progress"])
    bar = html.Div(
        [
            html.Span(
                f"Computing the {view['method'].upper()} map (job {job_id}, {job['state']})"
                f" — {job['progress_text'] or 'waiting'} {percent}%"
            ),
            html.Progress(value=str(percent), max="100"),
        ],
        className="progress",
    )
    figure = no_update if polling else empty_figure("The map is being computed…")
    return figure, bar, False


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

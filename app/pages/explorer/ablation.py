"""Ablate: knock out what is selected (the lasso's neurons, the search hits, the open
neuron, or it with its semantic neighbours), follow the `ablate` job, show the result
beside the panel; the URL's hash keeps the result's key (`#ablation=…`), so a link
restores it. Sweep: every neuron of a layer alone, then the map coloured by it."""

from urllib.parse import parse_qs

from dash import ALL, Input, Output, State, callback, clientside_callback, ctx, html, no_update

from app import api_client
from app.api_client import ApiError
from app.components.ablation import IDLE, ablation_results
from app.components.access import error_text
from app.components.job_controls import FAILED, job_progress
from app.components.job_cost import cost_line, estimate, second_click
from app.components.ui import message

DONE = "Done: the result is at the top of the right-hand column."
NOTHING = {
    "lasso": "Nothing to ablate: draw a lasso around neurons on the map first.",
    "found": "Nothing to ablate: search for neurons first (Find a neuron).",
    "neuron": "Nothing to ablate: click a neuron on the map first.",
    "neighbours": "Nothing to ablate: click a neuron on the map first.",
}


def key_of(url_hash: str | None) -> str | None:
    return {k: v[-1] for k, v in parse_qs((url_hash or "").lstrip("#")).items()}.get("ablation")


async def chosen(source, k, view, lasso, found, selected) -> list:
    """The neurons `source` names now (ids or names; the API checks them)."""
    if source == "lasso":
        return list(lasso or [])
    if source == "found":
        return list((found or {}).get("ids") or [])
    if selected is None:
        return []
    if source == "neuron":
        return [str(selected)]
    rows = await api_client.neighbors(view["run"], str(selected), k=int(k or 10))
    return [str(selected), *(r["id"] for r in rows)]


async def _restore(view, url_hash, current):
    """The result a link's hash names, for the run shown (outputs of `explorer_ablate`)."""
    key = key_of(url_hash)
    if key is None:
        stale = current and view and current.get("run") != view["run"]
        return (None if stale else no_update), no_update, no_update, no_update, no_update
    if current and current.get("key") == key and current.get("run") == view["run"]:
        return (no_update,) * 5
    try:
        found = await api_client.get(api_client.run_path(view["run"], "ablations", key))
    except ApiError as err:
        return None, None, True, message(err.detail, "warning"), ""
    return found, None, True, IDLE, no_update


@callback(
    Output("explorer-ablation-result", "data"),
    Output("explorer-ablate-job", "data"),
    Output("explorer-ablate-poll", "disabled"),
    Output("explorer-ablate-status", "children"),
    Output("shell-url", "hash", allow_duplicate=True),
    Input("explorer-ablate-go", "n_clicks"),
    Input("explorer-ablate-poll", "n_intervals"),
    Input("explorer-view", "data"),
    Input({"type": "explorer-ablation-close", "panel": ALL}, "n_clicks"),
    State("explorer-ablate-source", "value"),
    State("explorer-ablate-k", "value"),
    State("explorer-ablate-mode", "value"),
    State("explorer-ablate-draws", "value"),
    State("explorer-lasso-ids", "data"),
    State("explorer-found", "data"),
    State("explorer-selected", "data"),
    State("explorer-ablate-job", "data"),
    State("explorer-ablation-result", "data"),
    State("shell-url", "hash"),
    prevent_initial_call=True,
)
async def explorer_ablate(
    _go, _tick, view, _close, source, k, mode, draws, lasso, found, selected, job, current, h
):
    trigger = ctx.triggered_id
    if not view:
        return (no_update,) * 5
    if trigger == "explorer-view":
        return await _restore(view, h, current)
    if isinstance(trigger, dict):  # the result's ×
        if not ctx.triggered[0]["value"]:
            return (no_update,) * 5
        return None, no_update, no_update, IDLE, ""
    if trigger == "explorer-ablate-poll":
        return await _follow(view, job)
    try:
        neurons = await chosen(source, k, view, lasso, found, selected)
    except ApiError as err:
        return no_update, None, True, message(err.detail, "error"), no_update
    if not neurons:
        return no_update, None, True, message(NOTHING[source], "warning"), no_update
    body = {"neurons": neurons, "mode": mode or "zero", "draws": int(draws or 5)}
    asked = (job or {}).get("asked")  # a job above an hour waits for a second click
    ask, asked = await second_click("ablate", {"run": view["run"], **body}, asked, "Ablate")
    if ask:
        return no_update, {"asked": asked}, True, message(ask, "warning"), no_update
    try:
        status, answer = await api_client.request(
            "POST", api_client.run_path(view["run"], "ablations"), json=body
        )
    except ApiError as err:
        text = await error_text(err, "Ablating", {"draws": "Control draws"})
        return no_update, None, True, message(text, "error"), no_update
    if status == 202:
        job = {"job_id": answer["job_id"], "key": answer["key"]}
        return no_update, job, False, _progress(answer["job_id"], None), no_update
    return answer, None, True, DONE, f"#ablation={answer['key']}"


def _progress(job_id: int, job: dict | None) -> html.Div:
    bar = job_progress(job) if job else None
    return html.Div([html.Span(f"Ablating (job {job_id})"), bar], id="ablation-progress")


async def _follow(view, job):
    if not job or "job_id" not in job:  # none, or one waiting for its second click
        return no_update, None, True, no_update, no_update
    state = await api_client.job(job["job_id"])
    if state["state"] in FAILED:
        text = f"The ablation job {job['job_id']} {state['state']}: {state['error'] or ''}"
        return no_update, None, True, message(text, "error"), no_update
    if state["state"] != "succeeded":
        return no_update, job, False, _progress(job["job_id"], state), no_update
    path = api_client.run_path(view["run"], "ablations", job["key"])
    try:
        found = await api_client.get(path)
    except ApiError as err:
        return no_update, None, True, message(err.detail, "error"), no_update
    return found, None, True, DONE, f"#ablation={job['key']}"


@callback(Output("explorer-ablation", "children"), Input("explorer-ablation-result", "data"))
def explorer_ablation_view(result):
    return ablation_results(result) if result else None


clientside_callback(
    """function(children) {
        if (children) { window.semvec.reveal('explorer-ablation'); }
        return window.dash_clientside.no_update;
    }""",  # the column may be scrolled down to a neuron's neighbours: show the result
    Output("explorer-ablation", "title"),
    Input("explorer-ablation", "children"),
    prevent_initial_call=True,
)


@callback(
    Output("explorer-ablate-cost", "children"),
    Output("explorer-sweep-cost", "children"),
    Input("explorer-view", "data"),
    Input("explorer-ablate-draws", "value"),
    Input("explorer-sweep-layer", "value"),
)
async def explorer_ablation_costs(view, draws, layer):
    """What an ablation and a layer's sweep would take, before their buttons are pressed
    (an ablation's time depends on the draws, not on which neurons are chosen)."""
    if not view:
        return None, None
    run = view["run"]
    ablate = None
    if isinstance(draws, int) and 1 <= draws <= 50:
        ablate = await estimate("ablate", {"run": run, "neurons": [0], "draws": draws})
    sweep = await estimate("ablate", {"run": run, "layer": layer}) if layer else None
    return cost_line(ablate), cost_line(sweep)


@callback(Output("explorer-sweep-layer", "options"), Input("explorer-layer", "options"))
def explorer_sweep_layers(options):
    return options or []


@callback(
    Output("explorer-sweep-status", "children"),
    Output("explorer-sweep-job", "data"),
    Output("explorer-sweep-poll", "disabled"),
    Output("explorer-color", "value"),
    Input("explorer-sweep-go", "n_clicks"),
    Input("explorer-sweep-poll", "n_intervals"),
    State("explorer-sweep-layer", "value"),
    State("explorer-ablate-mode", "value"),
    State("explorer-sweep-job", "data"),
    State("explorer-view", "data"),
    prevent_initial_call=True,
)
async def explorer_sweep(_go, _tick, layer, mode, job, view):
    """Sweep a layer; when its job is done, colour the map by every neuron's own effect."""
    if not view:
        return (no_update,) * 4
    if ctx.triggered_id == "explorer-sweep-poll":
        if not job:
            return no_update, None, True, no_update
        state = await api_client.job(job)
        if state["state"] in FAILED:
            text = f"The sweep job {job} {state['state']}: {state['error'] or ''}"
            return message(text, "error"), None, True, no_update
        if state["state"] != "succeeded":
            return job_progress(state), job, False, no_update
        return _swept(), None, True, "ablation"
    if not layer:
        return message("Choose the layer to sweep first.", "warning"), None, True, no_update
    body = {"layer": layer, "mode": mode or "zero"}
    try:
        status, answer = await api_client.request(
            "POST", api_client.run_path(view["run"], "ablation-sweeps"), json=body
        )
    except ApiError as err:
        return message(await error_text(err, "Sweeping"), "error"), None, True, no_update
    if status == 202:
        return f"Sweeping {layer} (job {answer['job_id']})", answer["job_id"], False, no_update
    return _swept(), None, True, "ablation"


def _swept() -> str:
    return "Swept: the map is coloured by each neuron's own effect (Colour by)."

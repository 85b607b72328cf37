"""The panel's optimised images: shown when a `visualize` job has made them, otherwise a
button starts one (this neuron, or its layer), followed until it ends."""

from dash import ALL, Input, Output, State, callback, ctx, html, no_update

from app import api_client
from app.api_client import ApiError
from app.components.access import error_text
from app.components.feature_image import feature_images, start_buttons
from app.components.job_controls import ACTIVE, FAILED, job_progress
from app.components.job_cost import estimate, second_click
from app.components.ui import message

BOX = {"type": "explorer-feature", "panel": ALL}
NEURON = {"type": "explorer-feature-neuron", "panel": ALL}
JOB = {"type": "explorer-feature-job", "panel": ALL}
POLL = {"type": "explorer-feature-poll", "panel": ALL}


@callback(
    Output(BOX, "children"),
    Output(POLL, "disabled"),
    Input(NEURON, "data"),
    Input(JOB, "data"),
    Input(POLL, "n_intervals"),
)
async def explorer_feature(neurons, jobs, _ticks):
    if not neurons or not neurons[0]:
        return [no_update] * len(neurons), [True] * len(neurons)
    box, polling = await _box(neurons[0], (jobs or [None])[0])
    return [box], [not polling]


async def _box(neuron: dict, started: dict | None) -> tuple:
    """(what the box shows, whether to poll again)."""
    note = None
    if started and (started.get("error") or started.get("ask")):
        note = started.get("error") or started["ask"]
    elif started and started.get("job"):
        try:
            job = await api_client.job(started["job"])
        except ApiError as err:
            return message(err.detail, "error"), False
        if job["state"] in ACTIVE:
            head = html.Span(f"Optimising images (visualize job {job['id']}, {job['state']})")
            return html.Div([head, job_progress(job)], className="progress"), True
        if job["state"] in FAILED:
            note = f"The visualize job {job['id']} {job['state']}: {job['error'] or ''}"
    try:
        info = await api_client.feature(neuron["run"], str(neuron["id"]))
    except ApiError as err:
        return message(err.detail, "error"), False
    if info["made"]:
        return feature_images(neuron["run"], info), False
    return start_buttons(neuron, note, await _costs(neuron)), False


def _config(neuron: dict, what: str) -> dict:
    """The `visualize` job of one button: this neuron, or every neuron of its layer."""
    if what == "layer":
        return {"run": neuron["run"], "layer": neuron["layer"]}
    return {"run": neuron["run"], "neurons": [neuron["name"]]}


async def _costs(neuron: dict) -> html.Div | None:
    """What each button's job would take, as the server estimates it."""
    one = await estimate("visualize", _config(neuron, "neuron"))
    layer = await estimate("visualize", _config(neuron, "layer"))
    if not one or not layer or one["seconds"] is None or layer["seconds"] is None:
        return None
    text = (
        f"Estimated time: this neuron {one['words']}; every neuron of {neuron['layer']} "
        f"{layer['words']} ({layer['basis']})."
    )
    if layer["seconds"] > layer["ceiling_s"]:
        text += f" The layer is above this server's ceiling of {layer['ceiling_s'] / 3600:g} h."
    return html.Div(text, className="muted", id="neuron-feature-cost")


@callback(
    Output(JOB, "data"),
    Input({"type": "explorer-feature-start", "what": ALL}, "n_clicks"),
    State(NEURON, "data"),
    State(JOB, "data"),
    prevent_initial_call=True,
)
async def explorer_feature_start(_clicks, neurons, jobs):
    """Submit the `visualize` job the button asks for (a write: signed in, when needed);
    one estimated above an hour on the second click."""
    if not ctx.triggered or not ctx.triggered[0]["value"] or not neurons or not neurons[0]:
        return [no_update] * len(neurons or [])
    neuron = neurons[0]
    config = _config(neuron, ctx.triggered_id["what"])
    asked = ((jobs or [None])[0] or {}).get("asked")
    ask, asked = await second_click("visualize", config, asked, "the button")
    if ask:
        return [{"ask": ask, "asked": asked}]
    try:
        job = await api_client.submit_job("visualize", config)
    except ApiError as err:
        return [{"error": await error_text(err, "Optimising images")}]
    return [{"job": job["id"]}]

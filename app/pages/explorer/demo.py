"""An empty data home (a fresh `pip install`): instead of an empty map, an offer to make
the digits demo run from the shipped checkpoint, with its progress; the map opens when it
is there."""

from dash import ALL, Input, Output, State, callback, ctx, html, no_update

from app import api_client
from app.api_client import ApiError
from app.components.access import error_text
from app.components.job_controls import FAILED, job_progress
from app.components.ui import message

DEMO_RUN = "digits-default"


def empty_home() -> html.Div:
    return html.Div(
        [
            html.H2("No runs yet"),
            html.P(
                "semvec ships a small digits CNN and its semantic vectors. Make the demo run "
                "from them (no training: about 20 s) and its map opens here; or train a model "
                "in the Runs tab."
            ),
            html.Button(
                "Make the digits demo run",
                id={"type": "explorer-demo", "action": "go"},
                className="primary",
                n_clicks=0,
            ),
        ],
        className="demo",
        id="explorer-demo",
    )


@callback(
    Output("explorer-demo-job", "data"),
    Output("explorer-demo-poll", "disabled"),
    Output("explorer-status", "children", allow_duplicate=True),
    Input({"type": "explorer-demo", "action": ALL}, "n_clicks"),
    prevent_initial_call=True,
)
async def explorer_demo_start(_clicks):
    if not ctx.triggered or not ctx.triggered[0]["value"]:
        return no_update, no_update, no_update
    try:
        job = await api_client.submit_job("demo", {})
    except ApiError as err:
        return None, True, message(await error_text(err, "Making the demo run"), "error")
    return job["id"], False, _progress(job)


def _progress(job: dict) -> html.Div:
    return html.Div(
        [html.Span(f"Making the digits demo run (job {job['id']})"), job_progress(job)],
        className="progress",
        id="explorer-demo-progress",
    )


@callback(
    Output("explorer-status", "children", allow_duplicate=True),
    Output("explorer-demo-poll", "disabled", allow_duplicate=True),
    Output("shell-url", "search", allow_duplicate=True),
    Input("explorer-demo-poll", "n_intervals"),
    State("explorer-demo-job", "data"),
    prevent_initial_call=True,
)
async def explorer_demo_wait(_tick, job_id):
    if job_id is None:
        return no_update, True, no_update
    try:
        job = await api_client.job(job_id)
    except ApiError as err:
        return message(err.detail, "error"), True, no_update
    if job["state"] in FAILED:
        return message(f"The demo job {job['state']}: {job['error']}", "error"), True, no_update
    if job["state"] == "succeeded":
        return None, True, f"?run={DEMO_RUN}"
    return _progress(job), False, no_update

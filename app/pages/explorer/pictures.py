"""The Pictures view: the run's picture sheet fetched once (made by a job the first time,
with its progress on screen), then laid out over the map in the browser: a pan or a zoom
asks the server for nothing."""

from dash import Input, Output, State, callback, clientside_callback, html, no_update

from app import api_client
from app.api_client import ApiError
from app.components.access import error_text
from app.components.job_controls import FAILED, job_progress
from app.components.ui import message


@callback(
    Output("explorer-pictures", "data"),
    Output("explorer-pictures-status", "children"),
    Output("explorer-pictures-poll", "disabled"),
    Input("explorer-look", "value"),
    Input("explorer-view", "data"),
    Input("explorer-pictures-poll", "n_intervals"),
    State("explorer-pictures", "data"),
)
async def explorer_pictures(look, view, _tick, shown):
    """The sheet's index for the run shown (kept while Dots are on, so that switching
    back is instant), or the progress of the job making it."""
    if look != "pictures" or not view:
        return no_update, None, True
    run = view["run"]
    if shown and shown.get("run") == run:
        return no_update, None, True
    try:
        status, body = await api_client.made_or_started(api_client.run_path(run, "pictures"), {})
    except ApiError as err:
        if failed := api_client.failure(err):
            text = f"The pictures could not be made: {failed['error'].rstrip('.')}."
            return None, message(text, "error"), True
        return None, message(await error_text(err, "Making the pictures"), "error"), True
    if status == 200:
        return body | {"run": run}, None, True
    job = await api_client.job(body["job_id"])
    if job["state"] in FAILED:
        text = f"The pictures job {job['id']} {job['state']}: {job['error'] or 'no reason'}"
        return None, message(text, "error"), True
    bar = html.Div(
        [
            html.Span(f"Making a picture of each neuron (job {job['id']}, {job['state']})"),
            job_progress(job),
        ],
        className="progress",
    )
    return None, bar, False


clientside_callback(
    """function(look, index, fig, focus, found, lasso) {
        return window.semvecPictures.update(look, index, fig, focus, found, lasso);
    }""",
    Output("explorer-pictures-layer", "className"),
    Input("explorer-look", "value"),
    Input("explorer-pictures", "data"),
    Input("explorer-map", "figure"),
    Input("explorer-focus", "data"),
    Input("explorer-found", "data"),
    Input("explorer-lasso-ids", "data"),
)

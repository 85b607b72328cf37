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
    Output("explorer-picture-source", "style"),
    Input("explorer-look", "value"),
    Input("explorer-view", "data"),
    Input("explorer-pictures-poll", "n_intervals"),
    Input("explorer-picture-source", "value"),
    State("explorer-pictures", "data"),
)
async def explorer_pictures(look, view, _tick, source, shown):
    """The sheet's index for the run shown, or the progress of the job making it. The
    index is kept while Dots are on: switching back draws at once, from the browser."""
    if look != "pictures" or not view:
        return no_update, None, True, HIDDEN
    return *(await _sheet(view["run"], source or "top", shown)), SHOWN


HIDDEN, SHOWN = {"display": "none"}, {}


async def _sheet(run: str, source: str, shown: dict | None) -> tuple:
    """(index, status, poll disabled); the index is asked for again on each switch (one
    small GET): optimised images made since remake the `optimised` sheet."""
    path = api_client.run_path(run, "pictures")
    try:
        status, body = await api_client.made_or_started(path, {"source": source})
    except ApiError as err:
        if failed := api_client.failure(err):
            text = f"The pictures could not be made: {failed['error'].rstrip('.')}."
            return None, message(text, "error"), True
        return None, message(await error_text(err, "Making the pictures"), "error"), True
    if status == 200:
        index = body | {"run": run}
        return no_update if index == shown else index, None, True
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

"""Teacher vs student: which student to draw, and its neurons on the teacher's map."""

from dash import Input, Output, State, callback, ctx, html, no_update

from app import api_client
from app.api_client import ApiError
from app.components.access import error_text
from app.components.job_controls import FAILED, job_progress
from app.components.map_figure import cached_method, empty_figure
from app.components.pair_map import pair_figure
from app.components.ui import message


@callback(
    Output("distill-pair-student", "options"),
    Output("distill-pair-student", "value"),
    Input("distill-teacher", "value"),
    Input("distill-jobs", "children"),
    State("distill-pair-student", "value"),
)
async def distill_pair_choices(teacher, _jobs_table, chosen):
    if not teacher:
        return [], None
    try:
        runs = await api_client.runs()
    except ApiError:
        return no_update, no_update
    by_id = {r["id"]: r for r in runs}
    dataset = by_id.get(teacher, {}).get("dataset")
    students = sorted(
        (r for r in runs if r["id"] != teacher and r["dataset"] == dataset),
        key=lambda r: (r["kind"] != "distill", -r["created"]),
    )
    options = [{"label": f"{r['id']} ({r['arch']}, {r['kind']})", "value": r["id"]}
               for r in students]  # fmt: skip
    if chosen not in by_id or chosen == teacher:
        chosen = students[0]["id"] if students else None
    return options, chosen


@callback(
    Output("distill-pair-map", "figure"),
    Output("distill-pair-status", "children"),
    Output("distill-pair-go", "style"),
    Input("distill-pair-student", "value"),
    Input("distill-poll", "n_intervals"),
    Input("distill-pair-go", "n_clicks"),
    State("distill-teacher", "value"),
    State("distill-pair-map", "figure"),
)
async def distill_pair_map(student, _tick, _go, teacher, shown):
    """The student on the teacher's map. Matching the neurons is a job: it starts only on
    a click of the button, never because the section is on screen."""
    polling, clicked = ctx.triggered_id == "distill-poll", ctx.triggered_id == "distill-pair-go"
    hidden, offered = {"display": "none"}, {}
    if not student or not teacher:
        if polling:
            return no_update, no_update, no_update  # the note below is on screen already
        text = "Choose a student run to draw it on the teacher's map."
        return empty_figure(text), None, hidden
    drawn = ((shown or {}).get("layout") or {}).get("uirevision") == f"{student}/{teacher}"
    if drawn and polling:
        return no_update, no_update, no_update  # already on screen; polling waits for jobs
    try:
        summary = await api_client.run(teacher)
        method = cached_method(summary, "pca")
        try:  # a job already making it is followed; only a click starts one
            status, body = await api_client.placement(student, teacher, method, start=clicked)
        except ApiError as err:
            if err.status != 409:
                raise
            if failed := api_client.failure(err):  # the button tries again
                text = f"Drawing {student} on {teacher}'s map failed: {failed['error']}"
                return empty_figure("No map"), message(text, "error"), offered
            text = "Not matched yet: the button runs both models on held-out images (a job)."
            return empty_figure("Not drawn yet"), html.Div(text, className="muted"), offered
        if status == 202:
            job = await api_client.job(body["job_id"])
            doing = _doing(job, student, teacher, method)
            if job["state"] in FAILED:
                text = f"{doing}: {job['error']}"
                return empty_figure("No map"), message(text, "error"), offered
            return (
                empty_figure("Matching the student's neurons…"),
                html.Div([doing, job_progress(job)], className="muted"),
                hidden,
            )
    except ApiError as err:
        text = await error_text(err, "Placing the student on the teacher's map")
        return empty_figure("No map"), message(text, "error"), hidden
    return pair_figure(body, student, teacher, method), None, hidden


def _doing(job: dict, student: str, teacher: str, method: str) -> str:
    """What the job drawing the pair does, in words (its map, or the matching)."""
    if job["kind"] == "project":
        return f"computing {teacher}'s {method} map (job {job['id']})"
    return f"matching {student}'s neurons to {teacher}'s (job {job['id']})"

"""Teacher vs student: which student to draw, and its neurons on the teacher's map."""

from dash import Input, Output, State, callback, ctx, html, no_update

from app import api_client
from app.api_client import ApiError
from app.components.access import error_text
from app.components.job_controls import FAILED
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
    Input("distill-pair-student", "value"),
    Input("distill-poll", "n_intervals"),
    State("distill-teacher", "value"),
    State("distill-pair-map", "figure"),
)
async def distill_pair_map(student, _tick, teacher, shown):
    polling = ctx.triggered_id == "distill-poll"
    if not student or not teacher:
        if polling:
            return no_update, no_update  # the note below is on screen already
        return empty_figure("Choose a student run to draw it on the teacher's map."), None
    drawn = ((shown or {}).get("layout") or {}).get("uirevision") == f"{student}/{teacher}"
    if drawn and polling:
        return no_update, no_update  # already on screen; polling only waits for jobs
    try:
        summary = await api_client.run(teacher)
        method = cached_method(summary, "pca")
        status, body = await api_client.placement(student, teacher, method)
        if status == 202:
            job = await api_client.job(body["job_id"])
            if job["state"] in FAILED:
                return empty_figure("No map"), message(f"{body['detail']}: {job['error']}", "error")
            text = f"{body['detail']} — {round(100 * job['progress'])}%"
            return empty_figure("Matching the student's neurons…"), html.Div(
                text, className="muted"
            )
    except ApiError as err:
        text = await error_text(err, "Placing the student on the teacher's map")
        return empty_figure("No map"), message(text, "error")
    return pair_figure(body, student, teacher, method), None

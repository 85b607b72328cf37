"""Live progress: the charts and the jobs table, polled while the tab is open."""

from dash import ALL, Input, Output, callback, dcc, html, no_update

from app import api_client
from app.api_client import ApiError
from app.components.job_controls import (
    cancel_button,
    cancel_clicked,
    elapsed,
    job_progress,
    state_badge,
)
from app.components.kd_charts import (
    accuracy_curves,
    epoch_seconds,
    final_accuracy,
    method_label,
    series,
)
from app.components.kd_summary import paired_summary
from app.components.ui import fmt, message, table
from app.components.words import count


def _row(job: dict, rows: list[dict]) -> html.Tr:
    cfg = job["config"]
    last = rows[-1].get("test_accuracy") if rows else None
    return html.Tr(
        [
            html.Td(job["id"]),
            html.Td(method_label(series(cfg))),
            html.Td(cfg.get("seed", 0)),
            html.Td(state_badge(job)),
            html.Td(job_progress(job)),
            html.Td(elapsed(job)),
            html.Td(fmt(last, ".1%")),
            html.Td(_outcome(job)),
            html.Td(cancel_button("distill-cancel", job)),
        ],
        id=f"distill-job-{job['id']}",
    )


def _outcome(job: dict):
    if job["state"] == "succeeded" and job["run_id"]:
        return dcc.Link(
            "open the student on the map",
            href=f"/?run={job['run_id']}",
            id={"type": "distill-open", "job": job["id"]},
            title=job["run_id"],
        )
    return html.Span(job["error"] or "", className="error-text")


def _filter_note(jobs: list, every: list, teacher, student, train_size) -> str:
    images = f"{train_size} training images" if train_size else "the whole training split"
    hidden = len(every) - len(jobs)
    others = (
        f"; {count(hidden, 'other distillation job')} {'is' if hidden == 1 else 'are'} hidden "
        "(change the form to see them)"
    )
    return (
        f"Showing the {count(len(jobs), 'job')} of teacher {teacher} → student {student} "
        f"on {images}" + (others if hidden else "") + "."
    )


def _table(jobs: list[dict], metrics: dict[int, list[dict]]):
    if not jobs:
        return message("No distillation jobs for this teacher, student and training set yet.")
    head = ["job", "method", "seed", "state", "progress", "elapsed", "test acc.", "result", ""]
    return table(head, [_row(j, metrics.get(j["id"], [])) for j in jobs])


@callback(
    Output("distill-curves", "figure"),
    Output("distill-summary", "figure"),
    Output("distill-final", "figure"),
    Output("distill-seconds", "figure"),
    Output("distill-jobs", "children"),
    Output("distill-filter", "children"),
    Input("distill-poll", "n_intervals"),
    Input("distill-poll", "disabled"),
    Input("distill-teacher", "value"),
    Input("distill-student", "value"),
    Input("distill-train-size", "value"),
    Input("distill-method-info", "data"),
)
async def distill_progress(_tick, disabled, teacher, student, train_size, infos):
    """Jobs of the experiment the form shows (teacher, student, training set): only like is
    compared with like."""
    if disabled or not teacher or not student:  # the student comes once the teacher is read
        return (no_update,) * 6
    try:
        every = await api_client.jobs(kind="distill", limit=200)
        jobs = [
            j
            for j in every
            if j["config"].get("teacher") == teacher
            and j["config"].get("student") == student
            and (j["config"].get("train_size") or 0) == (train_size or 0)
        ]
        metrics = await api_client.metrics_of([j["id"] for j in jobs])
    except ApiError as err:
        return (*(no_update,) * 4, message(err.detail, "error"), no_update)
    return (
        accuracy_curves(jobs, metrics),
        paired_summary(jobs, metrics, infos or {}),
        final_accuracy(jobs, metrics),
        epoch_seconds(jobs, metrics),
        _table(jobs, metrics),
        _filter_note(jobs, every, teacher, student, train_size),
    )


@callback(
    Output("distill-message", "children", allow_duplicate=True),
    Input({"type": "distill-cancel", "job": ALL}, "n_clicks"),
    prevent_initial_call=True,
)
async def distill_cancel(_clicks):
    return await cancel_clicked()

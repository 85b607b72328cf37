"""Bits every jobs table shares: elapsed time, progress cell, cancel button and its action."""

import time

from dash import ctx, html, no_update

from app import api_client
from app.api_client import ApiError
from app.components.access import error_text
from app.components.ui import message
from app.components.words import duration

ACTIVE = ("queued", "running")
FAILED = ("failed", "cancelled", "interrupted")
"""The states of a job that ended without its result."""


def elapsed(job: dict) -> str:
    if not job["started"]:
        return "—"
    seconds = (job["finished"] or time.time()) - job["started"]
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def time_left(job: dict, now: float | None = None) -> str | None:
    """`about 40 s left`, from the time so far and the share done (the job's one fraction
    over all its phases); None until there is enough to go on."""
    if job["state"] != "running" or not job["started"]:
        return None
    spent, done = (now or time.time()) - job["started"], job["progress"]
    if done < 0.03 or spent < 3 or done >= 1:
        return "estimating the time left…"
    return f"about {duration(spent * (1 - done) / done)} left"


def job_progress(job: dict) -> html.Div:
    """One bar over all of the job's phases, the phase it is in, and the time left."""
    percent = round(100 * job["progress"])
    phase = job["progress_text"] if job["state"] in ACTIVE else ""
    if job["state"] == "queued":
        phase = "waiting for a free slot"
    left = time_left(job)
    return html.Div(
        [
            html.Div(
                [html.Progress(value=str(percent), max="100"), f" {percent}%"],
                className="job-bar",
            ),
            html.Div(
                " · ".join(t for t in (phase, left) if t),
                className="job-phase muted",
            ),
        ],
        className="job-progress",
        title="one bar for the whole job, over all its phases",
    )


def state_badge(job: dict) -> html.Span:
    return html.Span(job["state"], className=f"state state-{job['state']}")


def cancel_button(id_type: str, job: dict) -> html.Button | None:
    """A Cancel button with id {"type": id_type, "job": id}, while the job can be cancelled."""
    if job["state"] not in ACTIVE or job["cancel_requested"]:
        return None
    return html.Button("Cancel", id={"type": id_type, "job": job["id"]}, n_clicks=0)


async def cancel_clicked():
    """The message for a click on one of the cancel buttons that triggered this callback."""
    if not ctx.triggered or not ctx.triggered[0]["value"]:
        return no_update  # buttons appearing with the table, not clicked
    job_id = ctx.triggered_id["job"]
    try:
        await api_client.cancel_job(job_id)
    except ApiError as err:
        return message(await error_text(err, "Cancelling jobs"), "error")
    return message(f"Cancelling job {job_id}…")

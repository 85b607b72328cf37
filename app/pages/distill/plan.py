"""What the form's settings amount to before anything starts: the jobs, the training steps
each gets and the time it takes. It makes no claim about how well so few steps train a
student: that depends on the teacher's data and the student, and the results say it."""

from dash import Input, Output, callback, html

from app import api_client
from app.api_client import ApiError
from app.components.job_cost import CONFIRM_S, estimate
from app.components.ranges import problems
from app.components.words import count, duration
from app.pages.distill import EPOCHS, SEEDS

BATCH = 64
"""The distill job's default batch size (DistillConfig.batch_size); the last partial batch
of an epoch is dropped."""
STEP_SECONDS = {"kd": 0.023, "sp": 0.023, "rkd": 0.039}
"""Seconds per training step (bench-kd, digits student, 2 shared cores); the methods that
run the teacher are slower, the others take CE's 0.012 s."""
JOB_OVERHEAD_S = 25
"""Per job, besides its steps: the worker's start, the student's vectors (eigen-start and
200 steps), its analysis and map. Measured through a real server on 2 cores under load
average 6 (2-epoch jobs of ce, static and kd): 28–50 s of wall time beyond the epochs with
the vectors' 200 steps, 46–66 s with the 600 they had before."""
CONFIRM_JOBS, CONFIRM_SECONDS = 4, 120
"""More jobs than this, taking longer than this, need a second click."""


def plan(methods, seeds, epochs, images: int | None, slots: int) -> dict | None:
    """{jobs, steps, per_epoch, seconds}: seconds is the wall time with `slots` jobs at once."""
    if images is None or problems([(SEEDS, seeds), (EPOCHS, epochs)]) or not methods:
        return None
    per_epoch = max(1, images // BATCH)
    steps = per_epoch * int(epochs)
    jobs = len(methods) * int(seeds)
    each = [steps * STEP_SECONDS.get(m, 0.012) + JOB_OVERHEAD_S for m in methods]
    total = sum(each) * int(seeds) / max(1, slots)
    return {"jobs": jobs, "steps": steps, "per_epoch": per_epoch, "seconds": total}


async def costed(p: dict, configs: list[dict], seeds, slots: int) -> dict:
    """The plan with the server's estimates (POST /api/jobs/estimate) of one job per method
    in `configs` in place of the page's own: {..., seconds, longest} (longest: the words of
    the longest job's estimate). The page's figures stay when the server cannot say."""
    found = [await estimate("distill", config) for config in configs]
    if not found or any(f is None or f["seconds"] is None for f in found):
        return p
    longest = max(found, key=lambda f: f["seconds"])
    total = sum(f["seconds"] for f in found) * int(seeds) / max(1, slots)
    return p | {"seconds": total, "longest": longest}


def one_job(teacher: str, student: str, method: str, epochs, train_size) -> dict:
    """What costs a job's time (its λ, β and ρ do not)."""
    config = {"teacher": teacher, "student": student, "method": method, "epochs": int(epochs)}
    return config | ({"train_size": int(train_size)} if train_size else {})


def needs_confirm(p: dict) -> bool:
    """Many long jobs, or above an hour: one job, or all of them."""
    long_one = p.get("longest") and p["longest"]["seconds"] > CONFIRM_S
    if long_one or p["seconds"] > CONFIRM_S:
        return True
    return p["jobs"] > CONFIRM_JOBS and p["seconds"] > CONFIRM_SECONDS


@callback(
    Output("distill-plan", "children"),
    Input("distill-teacher-info", "data"),
    Input("distill-methods", "value"),
    Input("distill-seeds", "value"),
    Input("distill-epochs", "value"),
    Input("distill-train-size", "value"),
    Input("distill-teacher", "value"),
    Input("distill-student", "value"),
)
async def distill_plan(facts, methods, seeds, epochs, train_size, teacher, student):
    """`facts`: the teacher's (teacher.py), whose training split the students learn from."""
    if not facts:
        return None
    try:
        health = await api_client.get("/api/health")
    except ApiError:
        return None
    images = int(train_size) if train_size else facts.get("train_images")
    p = plan(methods, seeds, epochs, images, health["job_slots"])
    if p is None:
        return None
    student = student or facts.get("student")
    if teacher and student:
        configs = [one_job(teacher, student, m, epochs, train_size) for m in methods]
        p = await costed(p, configs, seeds, health["job_slots"])
    return html.Div(
        f"{count(p['jobs'], 'job')} · {count(p['steps'], 'training step')} each "
        f"({p['per_epoch']} per epoch of {count(images, 'image')} × {count(int(epochs), 'epoch')})"
        " · about "
        f"{duration(p['seconds'])} in all ({health['job_slots']} at a time)",
        id="distill-plan-text",
    )

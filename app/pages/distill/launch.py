"""The form: which teachers and students there are, and one job per (method, seed)."""

from dash import Input, Output, State, callback, no_update

from app import api_client
from app.api_client import ApiError
from app.components.access import error_text
from app.components.ui import message
from app.pages.distill import LAMBDA_RANGE


@callback(
    Output("distill-teacher", "options"),
    Output("distill-teacher", "value"),
    Output("distill-student", "options"),
    Input("distill-poll", "disabled"),
    State("distill-teacher", "value"),
)
async def distill_choices(disabled, teacher):
    if disabled:
        return no_update, no_update, no_update
    try:
        runs, models = await api_client.runs(), await api_client.models()
    except ApiError:
        return no_update, no_update, no_update
    teachers = [r for r in runs if r["kind"] != "distill"]
    options = [
        {"label": f"{r['id']} ({r['arch']}, {r['dataset']})", "value": r["id"]} for r in teachers
    ]
    ids = [r["id"] for r in teachers]
    if teacher not in ids:
        teacher = "digits-default" if "digits-default" in ids else (ids[0] if ids else None)
    return options, teacher, models


def job_configs(teacher, student, methods, seeds, epochs, lam, train_size) -> list[dict]:
    """One `distill` job config per (method, seed)."""
    configs = []
    for method in methods:
        for seed in range(int(seeds)):
            config = {
                "teacher": teacher,
                "student": student,
                "method": method,
                "seed": seed,
                "epochs": int(epochs),
            }
            if method == "static":
                config["lam"] = float(lam)
            if train_size:
                config["train_size"] = int(train_size)
            configs.append(config)
    return configs


@callback(
    Output("distill-message", "children"),
    Input("distill-go", "n_clicks"),
    State("distill-teacher", "value"),
    State("distill-student", "value"),
    State("distill-methods", "value"),
    State("distill-seeds", "value"),
    State("distill-epochs", "value"),
    State("distill-lam", "value"),
    State("distill-train-size", "value"),
    prevent_initial_call=True,
)
async def distill_start(_go, teacher, student, methods, seeds, epochs, lam, train_size):
    if not teacher:
        return message("Choose a teacher run (make one in the Runs tab).", "error")
    if not methods:
        return message("Choose at least one method.", "error")
    if not seeds or not epochs:
        return message("Give the number of seeds and of epochs.", "error")
    if "static" in methods and lam is None:
        low, high = LAMBDA_RANGE
        return message(f"Give λ for static ({low:g} … {high:g}).", "error")
    started = []
    for config in job_configs(teacher, student, methods, seeds, epochs, lam, train_size):
        try:
            started.append((await api_client.submit_job("distill", config))["id"])
        except ApiError as err:
            done = f" ({len(started)} started before)" if started else ""
            text = await error_text(err, "Starting jobs")
            return message(f"Not started{done}: {text}", "error")
    return message(f"Started {len(started)} jobs: {', '.join(map(str, started))}.")

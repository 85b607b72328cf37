"""The Runs tab: the runs there are, and jobs that make new ones (train, or load a model
and align it: app.pages.load_model), with live progress. A finished job links to its run
on the map."""

from dash import ALL, Input, Output, State, callback, dcc, html, no_update

from app import api_client
from app.api_client import ApiError
from app.components.access import error_text
from app.components.folder_picker import folder_picker, picker_callback
from app.components.job_controls import (
    cancel_button,
    cancel_clicked,
    elapsed,
    job_progress,
    state_badge,
)
from app.components.job_cost import cost_line, estimate, second_click
from app.components.ranges import Range, number_field
from app.components.ui import choice, field, fmt, message, table
from app.pages import load_model

EPOCHS = Range("number of epochs", 1, 1000)
LABELS = {"arch": "Architecture", "epochs": "Epochs", "name": "Run name", "root": "Folder"}
"""The job config's fields as the forms call them (for refusals in words)."""


def layout() -> html.Div:
    train = html.Fieldset(
        [
            html.Legend("Train a model with alignment"),
            field("Architecture", choice("runs-train-arch", "digits_cnn")),
            folder_picker("runs-train"),
            number_field("runs-train-epochs", "Epochs", EPOCHS, value=10),
            field(
                "Run name (optional)",
                dcc.Input(id="runs-train-name", type="text", placeholder="e.g. my-digits-cnn"),
            ),
            dcc.Store(id="runs-train-confirm"),
            html.Button("Start training", id="runs-train-go", className="primary", n_clicks=0),
            html.Div(id="runs-train-cost"),
        ],
        className="form",
    )
    return html.Div(
        [
            html.Div(
                [
                    html.H2("Runs"),
                    html.Div(id="runs-table"),
                    html.H2("Jobs"),
                    html.Div(id="runs-jobs"),
                ],
                className="runs-main",
            ),
            # The message first: at 1280x800 the bottom of the forms is below the fold.
            html.Div(
                [html.Div(id="runs-message"), train, load_model.form()], className="runs-forms"
            ),
            dcc.Interval(id="runs-poll", interval=1000, disabled=True),
            dcc.Store(id="load-architectures"),
        ],
        className="runs",
    )


@callback(
    Output("runs-train-arch", "options"),
    Input("runs-poll", "disabled"),
)
async def runs_choices(disabled):
    if disabled:  # the tab is not shown
        return no_update
    try:
        models = await api_client.models()
    except ApiError:
        return no_update
    return models


picker_callback("runs-train", ("runs-poll", "disabled"))


def _runs_table(runs: list[dict], damaged: list[dict] = ()) -> html.Table | html.Div:
    if not runs and not damaged:
        return message("No runs yet: train one, or align a checkpoint, with the forms here.")
    head = ["run", "how", "model", "dataset", "neurons", "held-out r", "P@10", "test acc."]
    rows = [
        row
        for r in sorted(runs, key=lambda r: -r["created"])
        for row in [_run_row(r), *_warning_rows(r)]
    ]
    rows += [
        html.Tr(
            [
                html.Td(d["id"]),
                html.Td(f"damaged: {d['reason']}", colSpan=7, className="error-text"),
            ],
            className="run-damaged",
        )
        for d in damaged
    ]
    return table(head, rows)


def _run_row(r: dict) -> html.Tr:
    return html.Tr(
        [
            html.Td(dcc.Link(r["id"], href=f"/?run={r['id']}", className="run-link")),
            html.Td(r["kind"]),
            html.Td(r["arch"]),
            html.Td(r["dataset"] or "—"),
            html.Td(f"{r['neurons']:,}"),
            html.Td(fmt(r["quality"].get("r"), ".3f")),
            html.Td(fmt(r["quality"].get("precision_at_10"), ".3f")),
            html.Td(fmt(r["test_accuracy"], ".1%")),
        ]
    )


def _warning_rows(r: dict) -> list[html.Tr]:
    """The run's warnings (a loaded model near chance...), each a line under its row."""
    return [
        html.Tr(
            [html.Td(""), html.Td(text, colSpan=7, className="run-warning")],
            className="run-warning-row",
        )
        for text in r.get("warnings") or []
    ]


def _job_row(job: dict) -> html.Tr:
    if job["state"] == "succeeded" and job["run_id"]:
        outcome = dcc.Link(
            f"open {job['run_id']} on the map",
            href=f"/?run={job['run_id']}",
            id={"type": "runs-open", "job": job["id"]},
        )
    elif job["error"]:
        outcome = html.Span(job["error"], className="error-text")
    else:
        outcome = ""  # the phase is under the bar
    return html.Tr(
        [
            html.Td(job["id"]),
            html.Td(job["kind"]),
            html.Td(state_badge(job)),
            html.Td(job_progress(job)),
            html.Td(elapsed(job)),
            html.Td(outcome),
            html.Td(cancel_button("runs-cancel", job)),
        ],
        id=f"runs-job-{job['id']}",
    )


def _jobs_table(jobs: list[dict]) -> html.Table | html.Div:
    if not jobs:
        return message("No jobs yet.")
    head = ["job", "kind", "state", "progress", "elapsed", "result", ""]
    return table(head, [_job_row(j) for j in jobs])


@callback(
    Output("runs-table", "children"),
    Output("runs-jobs", "children"),
    Input("runs-poll", "n_intervals"),
    Input("runs-poll", "disabled"),
)
async def runs_refresh(_tick, disabled):
    if disabled:
        return no_update, no_update
    try:
        runs, damaged = await api_client.runs_and_damaged()
    except ApiError as err:
        return message(err.detail, "error"), no_update
    try:  # runs live in their folders: they are listed even when jobs.db cannot be read
        jobs = await api_client.jobs(limit=20)
    except ApiError as err:
        return _runs_table(runs, damaged), message(f"Jobs cannot be shown: {err.detail}", "error")
    return _runs_table(runs, damaged), _jobs_table(jobs)


def _train_config(arch, dataset, root, epochs, name) -> dict:
    config = {"arch": arch, "data": _data(dataset, root), "epochs": EPOCHS.value(epochs)}
    if (name or "").strip():
        config["name"] = name.strip()
    return config


@callback(
    Output("runs-train-cost", "children"),
    Input("runs-train-arch", "value"),
    Input("runs-train-dataset", "value"),
    Input("runs-train-root", "value"),
    Input("runs-train-epochs", "value"),
)
async def train_cost(arch, dataset, root, epochs):
    """What the training job would take, before Start training is pressed."""
    if not arch or EPOCHS.problem(epochs):
        return None
    return cost_line(await estimate("train", _train_config(arch, dataset, root, epochs, None)))


@callback(
    Output("runs-message", "children"),
    Output("runs-train-confirm", "data"),
    Input("runs-train-go", "n_clicks"),
    State("runs-train-arch", "value"),
    State("runs-train-dataset", "value"),
    State("runs-train-root", "value"),
    State("runs-train-epochs", "value"),
    State("runs-train-name", "value"),
    State("runs-train-confirm", "data"),
    prevent_initial_call=True,
)
async def runs_train(_go, arch, dataset, root, epochs, name, asked):
    """Start a `train` job; one estimated above an hour on the second click."""
    if problem := EPOCHS.problem(epochs):
        return message(f"Not started: {problem}", "error"), None
    config = _train_config(arch, dataset, root, epochs, name)
    ask, asked = await second_click("train", config, asked, "Start training")
    if ask:
        return message(ask, "warning"), asked
    try:
        job = await api_client.submit_job("train", config)
    except ApiError as err:
        text = await error_text(err, "Starting jobs", LABELS)
        return message(f"Not started: {text}", "error"), None
    return message(f"Training job {job['id']} started: follow it in the jobs table."), None


def _data(dataset: str, root: str | None) -> dict:
    return {"name": dataset, "root": root} if root else {"name": dataset}


@callback(
    Output("runs-message", "children", allow_duplicate=True),
    Input({"type": "runs-cancel", "job": ALL}, "n_clicks"),
    prevent_initial_call=True,
)
async def runs_cancel(_clicks):
    return await cancel_clicked()

"""The map itself: its figure (or the progress of the job computing it), the header
facts of the run, and which parameter fields apply to the chosen method."""

from dash import Input, Output, State, callback, ctx, html, no_update

from app import api_client
from app.api_client import ApiError
from app.components.access import error_text, in_words
from app.components.glossary import hint
from app.components.job_controls import FAILED, job_progress
from app.components.map_figure import empty_figure, map_figure, map_revision, shown_ids
from app.components.ui import fmt, message
from app.components.words import count
from app.pages.explorer.params import METHOD_NAMES, METHOD_PARAMS, PARAM_INPUTS


@callback(
    Output("explorer-n-neighbors", "disabled"),
    Output("explorer-min-dist", "disabled"),
    Output("explorer-perplexity", "disabled"),
    Input("explorer-method", "value"),
)
def explorer_param_fields(method):
    return [key not in METHOD_PARAMS.get(method, ()) for key in PARAM_INPUTS]


@callback(
    Output("explorer-layer", "options"),
    Output("explorer-layer", "value"),
    Output("shell-run-info", "children"),
    Input("explorer-view", "data"),
    State("explorer-layer", "options"),
)
async def explorer_run_header(view, layer_options):
    if not view:
        return [], [], ""
    try:
        summary = await api_client.run(view["run"])
    except ApiError as err:
        return [], [], message(err.detail, "error")
    options = [
        {"label": f"{lay['path']} ({lay['width']})", "value": lay["path"]}
        for lay in summary["layers"]
    ]
    same_run = layer_options == options
    return options, no_update if same_run else [], _run_info(summary)


def _run_info(s: dict) -> list:
    q = s.get("quality") or {}
    facts = [
        ("model", s["arch"]),
        ("dataset", s["dataset"] or "—"),
        ("neurons", f"{s['neurons']:,}"),
    ]
    if q.get("result") == "no live neurons":
        facts.append(("no live neurons", f"(0 of {s['neurons']:,} vary)"))
    else:
        facts += [
            ("held-out r", fmt(q.get("r"), ".3f")),
            ("P@10", fmt(q.get("precision_at_10"), ".3f")),
        ]
        if _has_copies(q):
            facts.append(("P@10 without copies", fmt(q.get(APART), ".3f")))
    facts.append(("test accuracy", fmt(s.get("test_accuracy"), ".1%")))
    spans = [
        html.Span([html.B(k), " ", v], className="fact", title=hint(k), id=_fact_id(k))
        for k, v in facts
    ]
    return spans + _references(q) + _warnings(s)


APART = "precision_at_10_without_copies"
"""P@10 with residual copies left out of both lists (docs/method.md)."""


def _has_copies(q: dict) -> bool:
    return bool((q.get("residual_copies") or {}).get("neurons"))


def _fact_id(label: str) -> str:
    return "explorer-fact-" + label.lower().replace("@", "").replace(" ", "-")


def _warnings(s: dict) -> list:
    """What went wrong when the run was made (a loaded model near chance...), in words,
    one line each beside the figures it puts in doubt."""
    return [
        html.Span(text, className="run-warning", role="alert", id=f"explorer-warning-{i}")
        for i, text in enumerate(s.get("warnings") or [])
    ]


def _references(q: dict) -> list:
    """The ceiling and the rank-d bound beside r and P@10, each saying what it is."""
    out = []
    held = q.get("held_out")
    if held:
        classes = count(held["classes"], "class", "classes")
        out.append(
            html.Span(
                [html.B("held out"), f" {count(held['images'], 'image')}, {classes}"],
                className="fact",
                title="the class-balanced test images these figures are measured on",
            )
        )
    notes = {
        "ceiling": (
            "ceiling",
            "the training images' own correlation, measured the same way: "
            "no embedding can do better on these images",
        ),
        "bound": (
            f"rank-{(q.get('bound') or {}).get('dim', 'd')} bound",
            "the best fit with vectors of this length (the training correlation's "
            "top eigenvectors): what the vectors can reach",
        ),
    }
    for key, (label, note) in notes.items():
        ref = q.get(key)
        if ref and q.get("result") != "no live neurons":  # figures of nothing: left out
            text = f" r {fmt(ref.get('r'), '.3f')} / P@10 {fmt(ref.get('precision_at_10'), '.3f')}"
            if _has_copies(q):
                text += f" ({fmt(ref.get(APART), '.3f')} without copies)"
                note += "; in brackets, P@10 with residual copies left out"
            out.append(
                html.Span([html.B(label), text], className="fact", title=note, id=f"explorer-{key}")
            )
    return out


HIDDEN, SHOWN = {"display": "none"}, {}


@callback(
    Output("explorer-map", "figure"),
    Output("explorer-map-title", "children"),
    Output("explorer-status", "children"),
    Output("explorer-poll", "disabled"),
    Output("explorer-map-retry", "style"),
    Input("explorer-view", "data"),
    Input("explorer-poll", "n_intervals"),
    Input("explorer-color", "value"),
    Input("explorer-layer", "value"),
    Input("explorer-map-retry", "n_clicks"),
    State("explorer-ablate-mode", "value"),
)
async def explorer_map(view, _tick, color, layers, _retry, ablate_mode):
    """The map for the view; while its projection job runs, a progress bar and a poll.
    Parameters this run cannot take (n_neighbors above its neuron count...) fall back to
    the method's defaults, with a note saying why. A map whose job failed is not started
    again until the user presses Try again: the reason stays on screen instead."""
    if not view:
        return empty_figure("No run to show."), "", None, True, HIDDEN
    run, method, params = view["run"], view["method"], view["params"]
    retry = ctx.triggered_id == "explorer-map-retry"
    note = None
    try:
        try:
            status, body = await api_client.projection(run, method, params, retry)
        except ApiError as err:
            if err.status != 422 or not params:
                raise
            reason = in_words(err, {k: label for k, (label, _d, _r) in PARAM_INPUTS.items()})
            note = message(
                f"These map settings cannot be used for this run ({reason}); "
                f"showing the default {METHOD_NAMES[method]} map.",
                "warning",
            )
            params = {}
            status, body = await api_client.projection(run, method, params, retry)
        if status == 202:
            return await _pending(body["job_id"], view, ctx.triggered_id == "explorer-poll")
        columns = await api_client.columns(run)
        if color == "ablation":
            columns = columns | {"ablation": await api_client.ablation_effects(run, ablate_mode)}
            if all(v is None for v in columns["ablation"]):
                note = [note, message(NO_SWEEP, "info")]
    except ApiError as err:
        if failed := api_client.failure(err):
            return _failed(view["method"], failed["error"])
        text = await error_text(err, "Computing a new map")
        return empty_figure("No map"), "", message(text, "error"), True, HIDDEN
    total, shown = len(body["x"]), len(shown_ids(columns, layers))
    what = (
        count(total, "neuron") if shown == total else f"{shown:,} of {count(total, 'neuron')} shown"
    )
    title = f"{run} · {METHOD_NAMES[method]} · {what}"
    revision = map_revision(run, method, params)
    figure = map_figure(body, columns, color or "layer", layers, revision)
    return figure, title, note, True, HIDDEN


NO_SWEEP = (
    "No layer has been swept yet, so no neuron has an ablation effect to colour by (all are "
    "grey). To make one: under Ablate, choose a layer in “Sweep a layer” and press Sweep "
    "layer; each of its neurons is then knocked out alone."
)


def _failed(method: str, reason: str) -> tuple:
    """The map's place says why its job failed, with Try again; the poll stops."""
    text = (
        f"The {METHOD_NAMES[method]} map could not be made: {reason.rstrip('.')}. "
        "Try other parameters, or Try again."
    )
    return empty_figure("No map"), "", message(text, "error"), True, SHOWN


async def _pending(job_id: int, view: dict, polling: bool):
    job = await api_client.job(job_id)
    name = METHOD_NAMES[view["method"]]
    if job["state"] == "failed":  # in one line, as the GET's 409 gives it
        return _failed(view["method"], (job["error"] or "no reason").strip().splitlines()[-1])
    if job["state"] in FAILED:
        text = f"The {name} map job {job_id} {job['state']}: {job['error'] or ''}"
        return empty_figure("No map"), "", message(text, "error"), True, SHOWN
    bar = html.Div(
        [html.Span(f"Computing the {name} map (job {job_id}, {job['state']})"), job_progress(job)],
        className="progress",
    )
    if polling:
        return no_update, no_update, bar, False, HIDDEN
    return empty_figure("The map is being computed…"), "", bar, False, HIDDEN

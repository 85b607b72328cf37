"""URL ⇄ view: the one callback that reads and writes the URL's query."""

from dash import Input, Output, State, callback, ctx, no_update

from app import api_client
from app.api_client import ApiError
from app.components.map_figure import cached_method
from app.components.ui import message
from app.components.words import count
from app.pages.explorer.demo import empty_home
from app.pages.explorer.params import (
    METHOD_NAMES,
    PARAM_INPUTS,
    param_problems,
    params_from_inputs,
)
from app.urls import format_view, parse_view


def _default_run(runs: list[dict]) -> str | None:
    ids = [r["id"] for r in runs]
    if "digits-default" in ids:
        return "digits-default"
    return max(runs, key=lambda r: r["created"])["id"] if runs else None


@callback(
    Output("shell-url", "search"),
    Output("explorer-run", "value"),
    Output("explorer-run", "options"),
    Output("explorer-method", "value"),
    Output("explorer-n-neighbors", "value"),
    Output("explorer-min-dist", "value"),
    Output("explorer-perplexity", "value"),
    Output("explorer-view", "data"),
    Output("explorer-selected", "data"),
    Output("explorer-note", "children"),
    Output("explorer-look", "value"),
    Input("shell-url", "search"),
    Input("explorer-run", "value"),
    Input("explorer-apply", "n_clicks"),
    Input("explorer-pick", "data"),
    Input("shell-url", "pathname"),
    Input("explorer-look", "value"),
    State("explorer-method", "value"),
    State("explorer-n-neighbors", "value"),
    State("explorer-min-dist", "value"),
    State("explorer-perplexity", "value"),
    State("explorer-view", "data"),
    State("explorer-selected", "data"),
)
async def explorer_state(
    search, run_value, _apply, pick, _path, look, method, nn, md, perp, view, selected
):
    """The URL ⇄ view synchronisation (the one callback that touches the URL query). How
    the map draws its neurons (`look`: dots or pictures) is in the URL too, but apart from
    the view: switching it redraws no map."""
    if ctx.triggered_id == "explorer-look" and view:
        url = format_view(view["run"], view["method"], view["params"], selected, look)
        return url, *(no_update,) * 10
    opened = "shell-url.search" in ctx.triggered_prop_ids or not view
    if opened:
        look = parse_view(search)["look"]  # the address opened (a link, Back) says how
    answer = await _explorer_state(
        search, run_value, pick, method, nn, md, perp, view, selected, look or "dots"
    )
    return *answer, look if opened else no_update


async def _explorer_state(search, run_value, pick, method, nn, md, perp, view, selected, look):
    trigger = ctx.triggered_id
    inputs = {"n_neighbors": nn, "min_dist": md, "perplexity": perp}
    keep = [no_update] * 7
    if trigger == "explorer-pick" and view:
        neuron = pick["neuron"]
        url = format_view(view["run"], view["method"], view["params"], neuron, look)
        return url, *keep, neuron, no_update
    if trigger == "explorer-apply" and view:
        if problems := param_problems(method, inputs):
            note = message(" ".join(problems) + " The map is unchanged.", "error")
            return (no_update,) * 9 + (note,)
        params = params_from_inputs(method, inputs)
        new_view = {"run": view["run"], "method": method, "params": params}
        url = format_view(view["run"], method, params, selected, look)
        return url, *keep[:6], new_view, no_update, None
    if trigger == "explorer-run" and view and run_value != view["run"]:
        return await _open_run(run_value, None, {}, None, [], look, update_url=True)
    searched = "shell-url.search" in ctx.triggered_prop_ids
    if trigger == "explorer-run" or (view and not searched):
        return (no_update,) * 10  # the selector echoing a change, or only the tab changed
    asked = parse_view(search)
    return await _open_run(
        asked["run"], asked["method"], asked["params"], asked["neuron"], asked["bad"], look, False
    )


async def _open_run(run, method, params, neuron, bad, look, update_url):
    """Outputs of `explorer_state` for a view opened from the URL or the run selector."""
    try:
        runs = await api_client.runs()
    except ApiError as err:
        return (no_update,) * 9 + (message(f"Cannot list runs: {err.detail}", "error"),)
    options = [
        {
            "label": f"{r['id']} — {r['arch']} on {r['dataset']} ({count(r['neurons'], 'neuron')})",
            "value": r["id"],
        }
        for r in runs
    ]
    notes = [f"ignored {b}" for b in bad]
    if run is None:
        run = _default_run(runs)
    elif run not in {r["id"] for r in runs}:
        asked, run = run, _default_run(runs)
        neuron, said = await _same_neuron(run, neuron) if run else (None, "")
        notes.insert(0, f"There is no run named {asked!r}; showing {run!r} instead{said}.")
        update_url = True  # the address names the run shown, not the missing one
    if run is None:
        return no_update, None, options, *(no_update,) * 4, None, None, empty_home()
    summary = next(r for r in runs if r["id"] == run)
    infos = []
    if method is None:
        method = cached_method(summary, "umap")
        if method != "umap":
            infos.append(_not_computed(method))
    view = {"run": run, "method": method, "params": params}
    values = [params.get(k) for k in PARAM_INPUTS]
    url = format_view(run, method, params, neuron, look) if update_url else no_update
    note = [message("; ".join(notes), "warning")] if notes else []
    note = note + [message(text, "info") for text in infos]
    return url, run, options, method, *values, view, neuron, note or None


async def _same_neuron(run: str, neuron: str | None) -> tuple[str | None, str]:
    """`neuron` when the run shown in place of a missing one has it, with words saying so."""
    if not neuron:
        return None, ""
    try:
        await api_client.neuron(run, neuron)
    except ApiError:
        return None, f" (it has no neuron {neuron})"
    return neuron, f", with its neuron {neuron}"


def _not_computed(shown: str) -> str:
    """Why a run opens on another map than UMAP, and how to make the UMAP one."""
    name = METHOD_NAMES[shown]
    return (
        f"This is the {name} map, the one this run has computed. The UMAP map (the default) "
        "is not computed yet: choose UMAP under Map and press Apply to make it."
    )

"""Charts of the Distillation tab: accuracy per epoch per job, final accuracy per method
(mean ± std over seeds), and seconds per epoch per method."""

import statistics

import plotly.graph_objects as go

from app.components.words import count

METHODS = {
    "ce": ("CE", "#7f7f7f"),
    "ls": ("label smoothing", "#BAB0AC"),
    "tfkd": ("Tf-KD", "#9D755D"),
    "kd": ("KD", "#4C78A8"),
    "rkd": ("RKD", "#72B7B2"),
    "sp": ("SP", "#54A24B"),
    "static": ("static (ours)", "#E45756"),
    "static_free": ("static, teacher-free S", "#F58518"),
    "static_corr": ("static, correlation form", "#B279A2"),
}
LAYOUT = {"margin": {"l": 55, "r": 10, "t": 40, "b": 45}, "plot_bgcolor": "white"}
_GRID = {"showgrid": True, "gridcolor": "#eceff3"}


def empty_note(fig: go.Figure, has_data: bool, text: str = "No results yet") -> go.Figure:
    """An empty chart says so, without made-up axes."""
    if not has_data:
        fig.update_layout(xaxis={"visible": False}, yaxis={"visible": False}, showlegend=False)
        fig.add_annotation(
            text=text, showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5,
            font={"size": 14, "color": "#667085"},
        )  # fmt: skip
    return fig


PALETTE = ("#FF9DA6", "#EECA3B", "#17BECF", "#8C564B", "#BCBD22", "#1F77B4")
"""Colours of methods the table above does not name (new ones from the registry)."""


SETTINGS = (("lam", "λ"), ("beta", "β"), ("rho", "ρ"))
"""The settings a job may give its method; jobs that give different ones are different
series in every chart (static at ρ 1 is not pooled with static at ρ 10)."""


def series(config: dict) -> str:
    """A job's series: its method, and the settings it gave (`static λ=3 ρ=1`)."""
    given = [f"{sign}={config[key]:g}" for key, sign in SETTINGS if config.get(key) is not None]
    return " ".join([config["method"], *given])


def base_method(key: str) -> str:
    """The method of a series key."""
    return key.split(" ", 1)[0]


def method_label(key: str) -> str:
    """The name the page gives a method (or a series: its settings after it); a method new
    to the page goes by its own name."""
    method, _, given = key.partition(" ")
    label = METHODS.get(method, (method, None))[0]
    return f"{label} {given}" if given else label


def _color(key: str) -> str:
    method = base_method(key)
    if method in METHODS:
        return METHODS[method][1]
    return PALETTE[sum(map(ord, method)) % len(PALETTE)]


def accuracy_curves(jobs: list[dict], metrics: dict[int, list[dict]]) -> go.Figure:
    """One line per job: test accuracy after each epoch, coloured by method."""
    fig = go.Figure()
    shown: set[str] = set()
    for job in sorted(jobs, key=lambda j: (series(j["config"]), j["id"])):
        method, seed = series(job["config"]), job["config"].get("seed", 0)
        rows = [r for r in metrics.get(job["id"], []) if r.get("test_accuracy") is not None]
        if not rows:  # plotly hides an empty trace's legend entry, the method's if it is first
            continue
        fig.add_trace(
            go.Scatter(
                x=[r["epoch"] for r in rows],
                y=[100 * r["test_accuracy"] for r in rows],
                mode="lines+markers" if len(rows) < 30 else "lines",
                name=method_label(method),
                legendgroup=method,
                showlegend=method not in shown,
                line={"color": _color(method), "width": 1.5},
                marker={"size": 4},
                hovertemplate=(
                    f"job {job['id']} · {method_label(method)} · seed {seed}"
                    "<br>epoch %{x}: %{y:.1f}%<extra></extra>"
                ),
            )
        )
        shown.add(method)
    last = max((len(metrics.get(j["id"], [])) for j in jobs), default=1)
    fig.update_layout(
        title={"text": "Student test accuracy per epoch (one line per job)", "font": {"size": 14}},
        xaxis={"title": {"text": "epoch"}, "tick0": 0, "dtick": max(1, -(-last // 10)), **_GRID},
        yaxis={"title": {"text": "test accuracy (%)"}, **_GRID},
        legend={"title": {"text": "method"}},
        **LAYOUT,
    )
    text = "No results yet: start jobs with the form"
    return empty_note(fig, any(metrics.get(j["id"]) for j in jobs), text)


def final_by_seed(jobs: list[dict], metrics: dict[int, list[dict]]) -> dict[str, dict]:
    """series -> {seed: final test accuracy (%)} of the jobs that succeeded."""
    finals: dict[str, dict] = {}
    for job in jobs:
        rows = metrics.get(job["id"], [])
        if job["state"] == "succeeded" and rows and rows[-1].get("test_accuracy") is not None:
            seed = job["config"].get("seed", 0)
            finals.setdefault(series(job["config"]), {})[seed] = 100 * rows[-1]["test_accuracy"]
    return finals


def ordered(keys) -> list[str]:
    """The table's order first, new methods after it by name; a method's series together."""
    order = list(METHODS)

    def rank(key):
        method = base_method(key)
        return (order.index(method) if method in order else len(order), method, key)

    return sorted(keys, key=rank)


def final_accuracy(jobs: list[dict], metrics: dict[int, list[dict]]) -> go.Figure:
    """Mean ± std per method on an axis fitted to the results (the differences are a few
    tenths; the summary chart pairs them with CE by seed)."""
    by_seed = final_by_seed(jobs, metrics)
    finals = {m: list(v.values()) for m, v in by_seed.items()}
    methods = ordered(finals)
    means = [statistics.fmean(finals[m]) for m in methods]
    stds = [statistics.stdev(finals[m]) if len(finals[m]) > 1 else 0.0 for m in methods]
    fig = go.Figure(
        go.Bar(
            x=[method_label(m) for m in methods],
            y=means,
            error_y={"type": "data", "array": stds, "visible": True},
            marker_color=[_color(m) for m in methods],
            customdata=[_seeds_note(finals[m]) for m in methods],
            hovertemplate="%{x}: %{y:.2f}%%{customdata}<extra></extra>",
        )
    )
    low = min((m - s for m, s in zip(means, stds, strict=True)), default=0)
    high = max((m + s for m, s in zip(means, stds, strict=True)), default=100)
    pad = max(0.5, (high - low) * 0.35)
    fig.update_layout(
        title={
            "text": "Final test accuracy, mean ± std over seeds",
            "font": {"size": 13},
        },
        xaxis={"title": {"text": "method"}},
        yaxis={
            "title": {"text": "test accuracy (%)"},
            "range": [max(0, low - pad), min(100, high + pad)],
            **_GRID,
        },
        **LAYOUT,
    )
    return empty_note(fig, bool(methods), "No finished jobs yet")


def _seeds_note(finals: list[float]) -> str:
    """` ± std (n seeds)`, or ` (1 seed: no spread)`."""
    if len(finals) == 1:
        return " (1 seed: no spread)"
    return f" ± {statistics.stdev(finals):.2f} ({count(len(finals), 'seed')})"


def epoch_seconds(jobs: list[dict], metrics: dict[int, list[dict]]) -> go.Figure:
    """Mean seconds per epoch per method: static needs no teacher pass, KD/RKD/SP do."""
    seconds: dict[str, list[float]] = {}
    for job in jobs:
        for row in metrics.get(job["id"], []):
            if row.get("seconds") is not None:
                seconds.setdefault(series(job["config"]), []).append(row["seconds"])
    methods = ordered(seconds)
    fig = go.Figure(
        go.Bar(
            x=[method_label(m) for m in methods],
            y=[statistics.median(seconds[m]) for m in methods],
            marker_color=[_color(m) for m in methods],
            hovertemplate="%{x}: %{y:.2f} s per epoch (median)<extra></extra>",
        )
    )
    fig.update_layout(
        title={"text": "Time per epoch (median)", "font": {"size": 14}},
        xaxis={"title": {"text": "method"}},
        yaxis={"title": {"text": "seconds per epoch"}, **_GRID},
        **LAYOUT,
    )
    return empty_note(fig, bool(methods), "No epochs timed yet")

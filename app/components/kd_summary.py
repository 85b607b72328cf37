"""The Distillation tab's summary: each method's test accuracy minus CE's on the same seed,
with its spread over seeds, marked by what the method took of the teacher, and greyed where
the difference lies within that spread (a tie with CE)."""

import math
import statistics
from dataclasses import dataclass

import plotly.graph_objects as go

from app.components.kd_charts import (
    LAYOUT,
    base_method,
    empty_note,
    final_by_seed,
    method_label,
    ordered,
)

ROLES = {
    "teacher": ("ran the teacher", "circle", "#4C78A8"),
    "knowledge": ("knowledge file only", "diamond", "#E45756"),
    "free": ("no teacher", "square", "#9D755D"),
}
"""What a method took of the teacher: legend text, marker symbol, colour."""
OFFERS = {
    "teacher": "runs the teacher",
    "knowledge": "reads the knowledge file only",
    "free": "no teacher",
}
"""The same, as the form says it of a method not run yet."""
TIE_COLOR = "#98A2B3"


def role(info: dict | None) -> str:
    """`teacher`, `knowledge` or `free`, from a method's registry flags."""
    if info and info.get("needs_teacher"):
        return "teacher"
    return "knowledge" if info and info.get("reads_knowledge") else "free"


@dataclass(frozen=True)
class Paired:
    """One method (a series: its settings too) against CE over the seeds both finished
    (points of test accuracy)."""

    method: str
    diffs: list[float]
    own: list[float]
    ce: list[float]

    @property
    def mean(self) -> float:
        return statistics.fmean(self.diffs)

    @property
    def std(self) -> float | None:
        return statistics.stdev(self.diffs) if len(self.diffs) > 1 else None

    @property
    def se(self) -> float | None:
        return None if self.std is None else self.std / math.sqrt(len(self.diffs))

    @property
    def wins(self) -> int:
        return sum(d > 0 for d in self.diffs)

    @property
    def tie(self) -> bool:
        """Within the seed spread of CE: |mean difference| ≤ its std over seeds."""
        return self.std is not None and abs(self.mean) <= self.std


def paired(by_seed: dict[str, dict]) -> list[Paired]:
    """Every method but CE that shares at least one finished seed with CE."""
    ce = by_seed.get("ce", {})
    rows = []
    for method in ordered(by_seed):
        seeds = sorted(set(ce) & set(by_seed[method]))
        if method == "ce" or not seeds:
            continue
        own = [by_seed[method][s] for s in seeds]
        base = [ce[s] for s in seeds]
        rows.append(Paired(method, [a - b for a, b in zip(own, base, strict=True)], own, base))
    return rows


def _spread(values: list[float]) -> str:
    mean = statistics.fmean(values)
    return f"{mean:.2f} % ± {statistics.stdev(values):.2f}" if len(values) > 1 else f"{mean:.2f} %"


def _hover(p: Paired, infos: dict[str, dict]) -> str:
    n = len(p.diffs)
    spread = (
        f" (± {p.std:.2f} std, standard error {p.se:.2f}, over {n} seeds)"
        if p.std is not None
        else " (1 seed: no spread yet)"
    )
    verdict = "<br><b>within the seed spread of CE: a tie</b>" if p.tie else ""
    what = (infos.get(base_method(p.method)) or {}).get("description", "")
    return (
        f"<b>{method_label(p.method)}</b> · {ROLES[role(infos.get(base_method(p.method)))][0]}"
        f"<br>test accuracy − CE's on the same seed: {p.mean:+.2f} points{spread}"
        f"<br>better than CE on {p.wins} of {n} seeds"
        f"<br>its test accuracy {_spread(p.own)}; CE's {_spread(p.ce)}"
        f"{verdict}<br><i>{what}</i><extra></extra>"
    )


def _label(p: Paired) -> str:
    return f"{p.mean:+.2f}" if p.std is None else f"{p.mean:+.2f} ± {p.std:.2f}"


def _trace(rows: list[Paired], infos: dict, kind: str, tie: bool, legend: bool) -> go.Scatter:
    name, symbol, color = ROLES[kind]
    return go.Scatter(
        x=[p.mean for p in rows],
        y=[method_label(p.method) for p in rows],
        error_x={
            "type": "data",
            "array": [p.std or 0 for p in rows],
            "visible": True,
            "color": TIE_COLOR if tie else color,
        },
        mode="markers+text",
        text=[_label(p) for p in rows],
        textposition="top center",
        textfont={"size": 11, "color": TIE_COLOR if tie else "#344054"},
        marker={
            "symbol": f"{symbol}-open" if tie else symbol,
            "size": 11,
            "color": TIE_COLOR if tie else color,
            "line": {"width": 2},
        },
        name=name,
        legendgroup=kind,
        showlegend=legend,
        hovertemplate=[_hover(p, infos) for p in rows],
    )


def _tie_key() -> go.Scatter:
    """A legend entry only: what grey, open markers mean."""
    return go.Scatter(
        x=[None],
        y=[None],
        mode="markers",
        marker={"symbol": "circle-open", "size": 11, "color": TIE_COLOR, "line": {"width": 2}},
        name="grey, open: within the seed spread of CE (a tie)",
        hoverinfo="skip",
    )


def paired_summary(jobs: list[dict], metrics: dict[int, list[dict]], infos: dict) -> go.Figure:
    """Mean paired difference to CE per method, ± 1 std over seeds; `infos` are the methods'
    registry rows by name (what each takes of the teacher)."""
    by_seed = final_by_seed(jobs, metrics)
    rows = paired(by_seed)
    fig = go.Figure()
    for kind in ROLES:
        mine = [p for p in rows if role(infos.get(base_method(p.method))) == kind]
        plain, ties = [p for p in mine if not p.tie], [p for p in mine if p.tie]
        if plain:
            fig.add_trace(_trace(plain, infos, kind, False, True))
        if ties:
            fig.add_trace(_trace(ties, infos, kind, True, not plain))
    if any(p.tie for p in rows):
        fig.add_trace(_tie_key())
    ce = list(by_seed.get("ce", {}).values())
    if ce:
        fig.add_vline(x=0, line={"color": "#7f7f7f", "dash": "dot"})
        fig.add_annotation(
            x=0, y=1, xref="x", yref="paper", yanchor="bottom", showarrow=False,
            text=f"CE: {_spread(ce)} ({len(ce)} seeds)", font={"size": 11, "color": "#667085"},
        )  # fmt: skip
    labels = [method_label(p.method) for p in rows]
    fig.update_layout(
        title={
            "text": "Each method against CE on the same seeds (final test accuracy)",
            "font": {"size": 13},
        },
        xaxis={
            "title": {
                "text": "test accuracy − CE's (points; bar: ± 1 std of the difference over seeds)"
            },
            "zeroline": False,
            "showgrid": True,
            "gridcolor": "#eceff3",
        },
        yaxis={
            "title": {"text": "method"},
            "categoryorder": "array",
            "categoryarray": labels[::-1],
            # headroom above the top row, whose value label sits above its marker: without
            # it that label ran into the CE annotation
            "range": [-0.5, len(labels) - 0.5 + 0.5],
        },
        legend={"title": {"text": "what it took of the teacher"}, "orientation": "h", "y": -0.3},
        **LAYOUT,
    )
    fig.update_layout(margin={**LAYOUT["margin"], "b": 90, "t": 55})
    if not rows:
        text = (
            "No finished jobs to compare yet"
            if ce or not by_seed
            else "Add CE to the methods: each is compared with CE on the same seeds"
        )
        return empty_note(fig, False, text)
    return fig

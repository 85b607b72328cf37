"""The Distillation tab's summary: each method's test accuracy minus CE's on the same seed,
with its spread over seeds, marked by what the method took of the teacher, greyed where
the difference lies within that spread (a tie with CE), and open where one seed gives no
spread at all (not a result yet)."""

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
from app.components.words import count

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
    def single(self) -> bool:
        """One seed: a difference with no spread to judge it by, so not a result yet."""
        return len(self.diffs) == 1

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
        else "<br><b>1 seed: no spread, so not a result yet</b> (run more seeds)"
    )
    verdict = "<br><b>within the seed spread of CE: a tie</b>" if p.tie else ""
    what = (infos.get(base_method(p.method)) or {}).get("description", "")
    return (
        f"<b>{method_label(p.method)}</b> · {ROLES[role(infos.get(base_method(p.method)))][0]}"
        f"<br>test accuracy − CE's on the same seed: {p.mean:+.2f} points{spread}"
        f"<br>better than CE on {p.wins} of {count(n, 'seed')}"
        f"<br>its test accuracy {_spread(p.own)}; CE's {_spread(p.ce)}"
        f"{verdict}<br><i>{what}</i><extra></extra>"
    )


def _label(p: Paired) -> str:
    return f"{p.mean:+.2f} (1 seed)" if p.std is None else f"{p.mean:+.2f} ± {p.std:.2f}"


def _trace(rows: list[Paired], infos: dict, kind: str, look: str, legend: bool) -> go.Scatter:
    """`look`: "plain", "tie" (grey, open) or "single" (open: one seed, no spread)."""
    name, symbol, color = ROLES[kind]
    tie = look == "tie"
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
            "symbol": symbol if look == "plain" else f"{symbol}-open",
            "size": 11,
            "color": TIE_COLOR if tie else color,
            "line": {"width": 2},
        },
        name=name,
        legendgroup=kind,
        showlegend=legend,
        hovertemplate=[_hover(p, infos) for p in rows],
    )


KEYS = {
    "tie": ("grey, open: within the seed spread of CE (a tie)", TIE_COLOR),
    "single": ("open: 1 seed, no spread (not a result yet)", "#475467"),
}
"""Legend entries only: what the open markers mean (text, marker colour)."""


def _look(p: Paired) -> str:
    return "single" if p.single else "tie" if p.tie else "plain"


def _key(look: str) -> go.Scatter:
    name, color = KEYS[look]
    return go.Scatter(
        x=[None],
        y=[None],
        mode="markers",
        marker={"symbol": "circle-open", "size": 11, "color": color, "line": {"width": 2}},
        name=name,
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
        legend = True  # the role's legend entry once, on its first trace
        for look in ("plain", "single", "tie"):
            drawn = [p for p in mine if _look(p) == look]
            if drawn:
                fig.add_trace(_trace(drawn, infos, kind, look, legend))
                legend = False
    for look in KEYS:
        if any(_look(p) == look for p in rows):
            fig.add_trace(_key(look))
    ce = list(by_seed.get("ce", {}).values())
    if ce:
        fig.add_vline(x=0, line={"color": "#7f7f7f", "dash": "dot"})
        fig.add_annotation(
            x=0, y=1, xref="x", yref="paper", yanchor="bottom", showarrow=False,
            text=f"CE: {_spread(ce)} ({count(len(ce), 'seed')})",
            font={"size": 11, "color": "#667085"},
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

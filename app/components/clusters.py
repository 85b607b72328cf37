"""The map's clusters: their outlines and labels as figure pieces, the sidebar box with
the toggle and the list, and what a picked cluster puts in the selection.

Outlines are SVG line traces marked `meta: "cluster"` (the map's point lookups skip
traces with a `meta`) and carry no `customdata`, so a click on one never opens a neuron;
each point's `text` is the cluster's label, which starts with `#<number>`. On the map a
cluster is tagged by its number alone (its full label is in the list, in the outline's
hover, and on the tag of the picked cluster): full labels overlapped one another and hid
much of a small map. Tags are annotations named `cluster-<id>` that never take the mouse
(no `captureevents`, no `hovertext`), so a click on a point under one opens that point.
"""

import re

from dash import dcc, html

from app.components.ui import plain
from app.components.words import count

OUTLINE = "#495057"
HELP = (
    "HDBSCAN groups neurons whose semantic vectors (the full 64-d ones, not the map) are "
    "dense together; neurons in no group are left out. A label names the dominant classes "
    "of its neurons (weighted by selectivity) and their layers; the map tags each cluster with "
    "its number. Click an outline (hover one for its label) or a row of the list to select "
    "its neurons (for the list, the CSV and Ablate)."
)
_NUMBER = re.compile(r"^#(\d+) ")


def clusters_box() -> html.Fieldset:
    """The sidebar's Clusters box: show / hide, what they are, and the list to pick from."""
    return html.Fieldset(
        [
            html.Legend("Clusters", title=HELP),
            dcc.Checklist(
                id="explorer-clusters-show",
                options=[{"label": " outlines and labels on the map", "value": "show"}],
                value=["show"],
                persistence=True,
                persistence_type="session",
                inputStyle={"marginRight": "4px"},
            ),
            html.Div(id="explorer-clusters-info", className="muted", title=HELP),
            html.Div(id="explorer-clusters-list", className="cluster-list"),
        ]
    )


def cluster_number(text: str | None) -> int | None:
    """The cluster id a label or an outline's point text names (`#3 …` is id 2)."""
    found = _NUMBER.match(text or "")
    return int(found.group(1)) - 1 if found else None


def _trace(cluster: dict, first: bool) -> dict:
    label = plain(cluster["label"])
    outline = cluster["outline"]
    return {
        "type": "scatter",
        "mode": "lines",
        "meta": "cluster",
        "name": "cluster outlines" if first else label,
        "legendgroup": "clusters",
        "showlegend": first,
        "x": outline["x"],
        "y": outline["y"],
        "text": [cluster["label"]] * len(outline["x"]),
        "hovertemplate": f"<b>{label}</b><br>{count(cluster['size'], 'neuron')} · click to "
        "select<extra></extra>",
        "line": {"color": OUTLINE, "width": 1.2, "dash": "dot"},
        "uid": f"cluster-{cluster['id']}",
    }


def _note(cluster: dict) -> dict:
    """The cluster's tag (`#3`) at the top of its outline."""
    x, y = cluster["anchor"]
    return {
        "x": x,
        "y": y,
        "xref": "x",
        "yref": "y",
        "text": cluster["label"].split(" ", 1)[0],  # its number, `#3`
        "showarrow": False,
        "yanchor": "bottom",
        "font": {"size": 10, "color": "#212529"},
        "bgcolor": "rgba(255,255,255,0.6)",
        "bordercolor": OUTLINE,
        "borderwidth": 1,
        "borderpad": 1,
        "captureevents": False,
        "name": f"cluster-{cluster['id']}",
    }


def drawing(body: dict, revision: str, shown: bool) -> dict:
    """What the clientside code draws on the map named `revision` (explorer-clusters)."""
    found = body["clusters"]
    return {
        "revision": revision,
        "shown": shown,
        "traces": [_trace(c, k == 0) for k, c in enumerate(found)],
        "notes": [_note(c) for c in found],
        "members": {str(c["id"]): c["members"] for c in found},
        "labels": {str(c["id"]): c["label"] for c in found},
        "titles": {str(c["id"]): plain(c["label"]) for c in found},  # the picked one's tag
    }


def summary(body: dict) -> str:
    found = body["clusters"]
    if not found:
        return (
            f"No clusters: the {body['neurons']:,} vectors hold no dense group of "
            f"{body['min_size']} or more."
        )
    verb = "is" if body["unclustered"] == 1 else "are"
    return (
        f"{count(len(found), 'cluster')} of at least {body['min_size']} neurons; "
        f"{body['unclustered']:,} of {count(body['neurons'], 'neuron')} {verb} in none."
    )


def cluster_buttons(body: dict) -> list[html.Button]:
    return [
        html.Button(
            [html.Span(c["label"], className="cluster-label"), html.Span(f" {c['size']}")],
            id={"type": "explorer-cluster", "cluster": c["id"]},
            className="hit cluster-hit",
            title=f"select the {count(c['size'], 'neuron')} of this cluster"
            + (f" ({c['outside']} lie away from its outline on this map)" if c["outside"] else ""),
            n_clicks=0,
        )
        for c in body["clusters"]
    ]


def selection_note(label: str, names: list[str], size: int) -> list:
    """The selection box once a cluster is picked: as after a lasso, with its label."""
    more = f" (first {len(names)} listed)" if size > len(names) else ""
    return [
        html.Div(f"{count(size, 'neuron')} selected{more}", id="lasso-count"),
        html.Div(f"cluster {label}", id="lasso-cluster", className="cluster-picked"),
        html.Div(", ".join(names), id="lasso-list"),
    ]

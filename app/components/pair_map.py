"""A student's neurons drawn on its teacher's map."""

import plotly.graph_objects as go

from app.components.map_figure import PALETTE


def pair_figure(placed: dict, student: str, teacher: str, method: str) -> go.Figure:
    t, s = placed["teacher"], placed["student"]
    fig = go.Figure(
        go.Scattergl(
            x=t["x"],
            y=t["y"],
            text=t["name"],
            hovertemplate=f"teacher {teacher}<br><b>%{{text}}</b><extra></extra>",
            mode="markers",
            name=f"teacher ({teacher})",
            marker={"size": 6, "color": "#c9ced6"},
        )
    )
    layers = list(dict.fromkeys(s["layer"]))
    for n, layer in enumerate(layers):
        ids = [i for i, lay in enumerate(s["layer"]) if lay == layer]
        fig.add_trace(
            go.Scattergl(
                x=[s["x"][i] for i in ids],
                y=[s["y"][i] for i in ids],
                text=[
                    f"<b>{s['name'][i]}</b> → {s['match'][i]} (r {s['corr'][i]:.2f})" for i in ids
                ],
                hovertemplate="student %{text}<extra></extra>",
                mode="markers",
                name=f"student {layer}",
                marker={
                    "size": 9,
                    "symbol": "diamond",
                    "color": PALETTE[n % len(PALETTE)],
                    "line": {"width": 1, "color": "#222"},
                },
            )
        )
    fig.update_layout(
        title={
            "text": f"{student} on {teacher}'s {method.upper()} map "
            f"(matched on {placed['images']} held-out images)",
            "font": {"size": 14},
        },
        xaxis={"visible": False},
        yaxis={"visible": False, "scaleanchor": "x"},
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        plot_bgcolor="white",
        legend={"itemsizing": "constant"},
        uirevision=f"{student}/{teacher}",
    )
    return fig

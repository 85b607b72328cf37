"""The neuron panel's optimised images: what excites the neuron most and what suppresses
it, made by a `visualize` job (one neuron or its whole layer) and then read from the run.

The box is a placeholder with pattern ids (`panel: neuron`), filled by the callbacks of
app/pages/explorer/features.py, so opening a panel never waits for it."""

from dash import dcc, html

from app import api_client

IMAGE_PX = 192
HELP = (
    "Images optimised from noise by gradient ascent to raise (or lower) this neuron's "
    "activation, the same spatial mean the top images are ranked by. They are made in a "
    "decorrelated space (Fourier spectrum, decorrelated colours) and must work under random "
    "shifts, zooms and rotations, which keeps them from being pixel noise."
)


def feature_box(run: str, detail: dict) -> html.Div:
    """The panel's place for the optimised images (filled once the panel is shown)."""
    neuron = {"run": run, "id": detail["id"], "name": detail["name"], "layer": detail["layer"]}
    return html.Div(
        [
            html.H4("Optimised images", title=HELP),
            html.Div(
                "Looking for optimised images…",
                id={"type": "explorer-feature", "panel": "neuron"},
                className="feature-box",
            ),
            dcc.Store(id={"type": "explorer-feature-neuron", "panel": "neuron"}, data=neuron),
            dcc.Store(id={"type": "explorer-feature-job", "panel": "neuron"}),
            dcc.Interval(
                id={"type": "explorer-feature-poll", "panel": "neuron"},
                interval=1000,
                disabled=True,
            ),
        ],
        className="features",
    )


def image_url(run: str, neuron: int, kind: str, stamp: str = "") -> str:
    path = api_client.run_path(run, "neurons", str(neuron), "feature", f"{kind}.png")
    return f"{path}?size={IMAGE_PX}" + (f"&v={stamp}" if stamp else "")


def _tile(run: str, info: dict, kind: str) -> html.Figure:
    value = info[f"{kind}_activation"]
    if kind == "max":
        what, ref = "excites it most", info.get("dataset_max")
        compare = f"its highest on the images: {ref:.2f}" if ref is not None else ""
        times = f" ({value / ref:.1f}×)" if ref and ref > 0 else ""
    else:
        what, ref = "suppresses it most", info.get("dataset_min")
        compare = f"its lowest on the images: {ref:.2f}" if ref is not None else ""
        times = ""
    stamp = f"{info.get('max_activation', 0):.6g}"
    return html.Figure(
        [
            html.Img(
                src=image_url(run, info["neuron"], kind, stamp),
                alt=f"optimised image that {what}",
                className="tile-image feature-image",
            ),
            html.Figcaption(
                [
                    html.B(what),
                    html.Br(),
                    html.Span(f"activation {value:.2f}{times}", className="tile-value"),
                    html.Br(),
                    html.Span(compare),
                ]
            ),
        ],
        className=f"feature-tile feature-{kind}",
        id=f"neuron-feature-{kind}",
    )


def feature_images(run: str, info: dict) -> html.Div:
    """The two images with what they reach beside the dataset's extremes."""
    size = info["size"]
    notes = []
    if info.get("coarse"):
        notes.append(
            html.Div(
                f"This model sees {size}×{size}-pixel images, so its optimised images are "
                f"coarse: {size}×{size} pixels, shown enlarged. Read them as rough patterns "
                "of light and dark, not as pictures.",
                className="message message-info",
                id="neuron-feature-coarse",
            )
        )
    return html.Div(
        [
            html.Div(
                [_tile(run, info, "max"), _tile(run, info, "min")],
                className="feature-grid",
                id="neuron-feature-images",
            ),
            *notes,
            html.Div(HELP, className="muted"),
        ]
    )


def start_buttons(detail: dict, note: str | None = None, cost=None) -> html.Div:
    """Not made yet: optimise this neuron, or every neuron of its layer in one batch;
    `cost`: what they would take (app.components.job_cost.cost_line), below them."""
    return html.Div(
        [
            html.Div(
                note or "No optimised images of this neuron yet.",
                className="muted",
                id="neuron-feature-none",
            ),
            html.Div(
                [
                    html.Button(
                        "Optimise images for this neuron",
                        id={"type": "explorer-feature-start", "what": "neuron"},
                        n_clicks=0,
                    ),
                    html.Button(
                        f"… for every neuron of {detail['layer']}",
                        id={"type": "explorer-feature-start", "what": "layer"},
                        n_clicks=0,
                        title="one `visualize` job, all the layer's neurons optimised as batches",
                    ),
                ],
                className="search-buttons",
            ),
            cost,
        ]
    )

"""The Map tab: every neuron of a run on a 2-D map; click one to open its panel.

State flows one way: the URL's query holds the view (run, map, neuron), `state.py` is the
only place that reads or writes it, and everything else reacts to the two stores it fills
(`explorer-view`: which map; `explorer-selected`: which neuron). The callbacks live in
the submodules, imported here so that they register with the layout.
"""

from dash import dcc, html

from app.components.ablation import ablation_controls
from app.components.clusters import clusters_box
from app.components.figure_download import map_downloads
from app.components.map_figure import COLOR_MODES, empty_figure
from app.components.pictures import looks
from app.components.ranges import number_field
from app.components.ui import message
from app.pages.explorer.params import PARAM_INPUTS


def _param_input(key: str) -> html.Label:
    label, default, rng = PARAM_INPUTS[key]
    component_id = f"explorer-{key.replace('_', '-')}"
    return number_field(component_id, label, rng, placeholder=f"default {default}", debounce=True)


def layout() -> html.Div:
    controls = html.Div(
        [
            html.Label([html.Span("Run"), dcc.Dropdown(id="explorer-run", clearable=False)]),
            html.Fieldset(
                [
                    html.Legend("Map"),
                    dcc.RadioItems(
                        id="explorer-method",
                        options=[
                            {"label": "UMAP", "value": "umap"},
                            {"label": "t-SNE", "value": "tsne"},
                            {"label": "PCA", "value": "pca"},
                        ],
                        value="umap",
                        inline=True,
                    ),
                    *(_param_input(key) for key in PARAM_INPUTS),
                    html.Button("Apply", id="explorer-apply", className="primary", n_clicks=0),
                ]
            ),
            html.Label(
                [
                    html.Span("Layers shown"),
                    dcc.Dropdown(id="explorer-layer", multi=True, placeholder="all layers"),
                ]
            ),
            html.Label(
                [
                    html.Span("Colour by"),
                    dcc.RadioItems(
                        id="explorer-color",
                        options=[{"label": v, "value": k} for k, v in COLOR_MODES.items()],
                        value="layer",
                    ),
                ]
            ),
            html.Fieldset(
                [
                    html.Legend("Find a neuron"),
                    dcc.Input(
                        id="explorer-search",
                        type="search",
                        placeholder="conv2:5, or class:7",
                        debounce=False,
                    ),
                    html.Div(
                        "part of a name, or class:LABEL for the neurons of a class",
                        className="muted",
                    ),
                    html.Div(
                        [
                            html.Button("Search", id="explorer-search-go", n_clicks=0),
                            html.Button(
                                "‹ Previous", id="explorer-search-prev", n_clicks=0, disabled=True
                            ),
                            html.Button(
                                "Next ›", id="explorer-search-next", n_clicks=0, disabled=True
                            ),
                        ],
                        className="search-buttons",
                    ),
                    html.Div(id="explorer-search-results", className="search-results"),
                ]
            ),
            html.Fieldset(
                [
                    html.Legend("Lasso selection"),
                    html.Div(
                        "Use the lasso tool on the map to select neurons.",
                        id="explorer-lasso",
                        className="muted",
                    ),
                    html.Button("Download CSV", id="explorer-lasso-csv", disabled=True),
                    dcc.Download(id="explorer-download"),
                ]
            ),
            ablation_controls(),
            clusters_box(),
        ],
        className="sidebar",
    )
    graph = dcc.Graph(
        id="explorer-map",
        figure=empty_figure("Loading…"),
        config={"scrollZoom": True, "displaylogo": False, "modeBarButtonsToRemove": ["select2d"]},
        className="map-graph",
    )
    return html.Div(
        [
            controls,
            html.Div(
                [
                    html.Div(id="explorer-note"),
                    html.Div(id="explorer-status"),
                    html.Button(
                        "Try again", id="explorer-map-retry", n_clicks=0, style={"display": "none"}
                    ),
                    html.Div(id="explorer-map-title", className="map-title"),
                    looks(),
                    map_downloads(),
                    html.Div(
                        [
                            dcc.Loading(graph, type="circle", delay_show=400),
                            html.Div(id="explorer-pictures-layer", className="pictures-layer"),
                        ],
                        className="map-stack",
                    ),
                ],
                className="map-area",
            ),
            html.Div(
                [
                    html.Div(id="explorer-ablation"),
                    html.Div(
                        message("Click a neuron on the map to see what it responds to."),
                        id="explorer-panel",
                    ),
                ],
                className="panel-area",
            ),
            dcc.Store(id="explorer-view"),
            dcc.Store(id="explorer-selected"),
            dcc.Store(id="explorer-pick"),
            dcc.Store(id="explorer-focus"),
            dcc.Store(id="explorer-found"),
            dcc.Store(id="explorer-lasso-ids"),
            dcc.Store(id="explorer-clusters"),
            dcc.Store(id="explorer-cluster-picked"),
            dcc.Interval(id="explorer-clusters-poll", interval=1500, disabled=True),
            dcc.Interval(id="explorer-poll", interval=1000, disabled=True),
            dcc.Store(id="explorer-demo-job"),
            dcc.Store(id="explorer-pictures"),
            dcc.Interval(id="explorer-pictures-poll", interval=1000, disabled=True),
            dcc.Interval(id="explorer-demo-poll", interval=1000, disabled=True),
        ],
        className="explorer",
    )


from app.pages.explorer import (  # noqa: E402, F401
    ablation,
    clusters,
    demo,
    features,
    figures,
    map_view,
    panel,
    pictures,
    selection,
    state,
)

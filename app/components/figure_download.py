"""The buttons that save figures for papers (assets/figure.js draws them in the browser):
the map as it is shown, as PNG or SVG, and the open neuron's panel as PNG."""

from dash import html

MAP_HINT = (
    "the map as shown (zoom, layers, colours, legend, cluster outlines and tags; the "
    "pictures in the Pictures view): PNG at twice the screen's resolution, or SVG to edit"
)
PANEL_HINT = "this neuron's name, top images with their heatmaps and class bars, as one PNG"


def map_downloads() -> html.Div:
    return html.Div(
        [
            html.Span("Download figure", className="muted", title=MAP_HINT),
            html.Button("PNG", id="explorer-figure-png", n_clicks=0, title=MAP_HINT),
            html.Button("SVG", id="explorer-figure-svg", n_clicks=0, title=MAP_HINT),
            html.Span(id="explorer-figure-note", className="muted", role="status"),
        ],
        className="figure-downloads",
    )


def panel_download() -> html.Button:
    return html.Button(
        "Download PNG",
        id={"type": "explorer-figure", "panel": "neuron"},
        className="panel-figure",
        title="Download figure: " + PANEL_HINT,
        n_clicks=0,
    )

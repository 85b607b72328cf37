"""The map's Dots / Pictures switch. In Pictures, each neuron is drawn as a crop of its
top image (assets/pictures.js lays them out over the map from the run's picture sheet)."""

from dash import dcc, html

PICTURES_HINT = (
    "Pictures: each neuron as its top image, cropped around where it fires most. Where "
    "pictures would overlap, the map is cut into cells: each shows the neuron nearest its "
    "centre (the selected neuron or a search hit first) and how many neurons it holds. "
    "Zoom in to see every neuron. Optimised image: a neuron with an optimised image (made "
    "with Visualize in its panel) shows it instead of its crop."
)


def looks() -> html.Div:
    return html.Div(
        [
            dcc.RadioItems(
                id="explorer-look",
                options=[
                    {"label": "Dots", "value": "dots"},
                    {"label": "Pictures", "value": "pictures"},
                ],
                value="dots",
                inline=True,
                className="look-switch",
            ),
            dcc.RadioItems(
                id="explorer-picture-source",
                options=[
                    {"label": "top image", "value": "top"},
                    {"label": "optimised image", "value": "optimised"},
                ],
                value="top",
                inline=True,
                className="look-switch",
                style={"display": "none"},
            ),
            html.Div(id="explorer-pictures-status", className="pictures-status"),
        ],
        className="map-looks",
        title=PICTURES_HINT,
    )

"""The map's figure: neurons with no value to colour by are grey with a legend entry, and
legend entries wrap to fit beside the map."""

from app.components.map_figure import LEGEND_CHARS, NEUTRAL, legend_name, map_figure

COORDS = {"x": [0.0, 1.0, 2.0, 3.0], "y": [0.0, 1.0, 0.0, 1.0]}
COLUMNS = {
    "name": ["conv3:0", "conv3:1", "fc:0", "fc:1"],
    "label": ["1", "2", None, "3"],
    "layer": ["conv3", "conv3", "fc", "fc"],
}


def _points(figure: dict) -> list[dict]:
    return [t for t in figure["data"] if "meta" not in t]


def test_unswept_neurons_are_grey_with_a_legend_entry_beside_the_swept_ones():
    columns = COLUMNS | {"ablation": [None, None, -3.5, 0.25]}  # only fc is swept
    grey, scaled = _points(map_figure(COORDS, columns, "ablation", None, "r"))
    assert grey["name"] == "not swept (2)" and grey["showlegend"]
    assert grey["customdata"] == [0, 1] and grey["marker"]["color"] == NEUTRAL
    assert scaled["customdata"] == [2, 3] and scaled["marker"]["color"] == [-3.5, 0.25]
    assert "colorbar" in scaled["marker"] and not scaled["showlegend"]


def test_before_any_sweep_every_neuron_is_grey_and_there_is_no_colour_bar():
    columns = COLUMNS | {"ablation": [None] * 4}
    (grey,) = _points(map_figure(COORDS, columns, "ablation", None, "r"))
    assert grey["name"] == "not swept (4)" and "colorbar" not in grey["marker"]


def test_legend_names_wrap_to_fit_the_margin():
    assert legend_name("other layers (filtered out)") == "other layers<br>(filtered out)"
    assert legend_name("conv3 (128)") == "conv3 (128)"
    wrapped = legend_name("features.denseblock4.denselayer16.conv2 (32)")
    assert all(len(line) <= LEGEND_CHARS for line in wrapped.split("<br>"))
    assert wrapped.replace("<br>", "") == "features.denseblock4.denselayer16.conv2 (32)"
    assert legend_name("<b>x</b>") == "&lt;b&gt;x&lt;/b&gt;"

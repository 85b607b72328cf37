"""The Map tab's words: counts in the singular for one, a negative loss read as a gain,
the classes named when a class search finds nothing, a histogram's range from its data."""

from app.components.ablation import ablation_results, delta_chart
from app.components.neuron_panel import _occupied
from app.pages.explorer.selection import class_range


def _result(neurons: int, loss: float) -> dict:
    """An ablation result as the API returns it (the fields the page reads)."""
    draw = {"accuracy": 0.97, "delta_accuracy": [-1.0, 0.0], "top_image_loss": loss / 2}
    return {
        "key": "k",
        "mode": "zero",
        "neurons": list(range(neurons)),
        "names": [f"conv3:{i}" for i in range(neurons)],
        "layers": {"conv3": neurons},
        "images": 359,
        "classes": ["0", "1"],
        "top_k": 9,
        "base": {"accuracy": 0.99},
        "selection": {
            "accuracy": 0.95,
            "delta_accuracy": [-2.0, 0.0],
            "top_image_loss": loss,
            "most_affected": [{"id": 7, "name": "conv3:7", "loss": loss * 3}],
        },
        "control": {"draws": [draw, draw]},
    }


def _texts(component) -> str:
    """Every string in a Dash component tree, joined."""
    if isinstance(component, str):
        return component
    children = getattr(component, "children", None)
    if children is None:
        return ""
    if not isinstance(children, list):
        children = [children]
    return " ".join(_texts(c) for c in children)


def test_one_neuron_is_said_in_the_singular():
    result = _result(1, 0.05)
    text = _texts(ablation_results(result))
    assert "1 neuron: conv3:0 · layer conv3 (1)" in text
    assert "the selected neuron is replaced by zeros" in text and "1 random neuron of" in text
    assert "neurons" not in text.replace("other neurons", "").replace("random neurons:", "")
    assert delta_chart(result).data[0].name == "selection (1 neuron)"
    assert delta_chart(_result(2, 0.05)).data[0].name == "selection (2 neurons)"


def test_a_negative_loss_reads_as_a_gain():
    text = _texts(ablation_results(_result(3, -0.034)))
    assert "The other neurons gain 3.4% of their activation on their top 9 images" in text
    assert "(random neurons: gain 1.7%)" in text and "conv3:7 (10% gained)" in text
    assert "-" not in text.split("The other neurons")[1]
    assert "lose 3.4%" in _texts(ablation_results(_result(3, 0.034)))


def test_the_classes_there_are_in_few_words():
    assert class_range([str(i) for i in range(10)]) == "0–9"
    assert class_range(["cat", "dog"]) == "cat, dog"
    names = [f"n{i:04d}" for i in range(1000)]
    assert (
        class_range(names)
        == "n0000, n0001, n0002, n0003, n0004, n0005, n0006, n0007, … (1,000 classes)"
    )


def test_the_histogram_range_follows_the_bins_that_hold_images():
    edges = [0.0, 1.0, 2.0, 3.0, 4.0]  # the range doubled: the last two bins stay empty
    assert _occupied(edges, [5, 3, 0, 0]) == [0.0, 2.04]  # never negative: starts at 0
    low, high = _occupied([-4.0, -2.0, 0.0, 2.0], [0, 1, 1])
    assert (low, high) == (-2.08, 2.08)
    assert _occupied(edges, [0, 0, 0, 0]) is None

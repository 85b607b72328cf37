"""The map's header: P@10 without residual copies beside the raw figures (with a hover
that says what it is) when the model has copies, and 'no live neurons' as a result."""

from app.pages.explorer.map_view import _run_info


def _summary(quality: dict) -> dict:
    """A run summary as the API returns it (the fields the header reads)."""
    return {"arch": "resnet56", "dataset": "cifar10", "neurons": 1018, "quality": quality}


def _facts(quality: dict) -> dict[str, tuple[str, str | None]]:
    spans = _run_info(_summary(quality))
    out = {}
    for span in spans:
        label, *rest = span.children
        label = label.children if hasattr(label, "children") else label
        out[label] = ("".join(str(part) for part in rest).strip(), span.title)
    return out


FIGURES = {"r": 0.9, "precision_at_10": 0.92, "precision_at_10_without_copies": 0.59}


def test_figures_without_copies_stand_beside_the_raw_ones_with_a_hover():
    q = {
        **FIGURES,
        "residual_copies": {"stages": [["layer1.0", "layer1.1"]], "neurons": 32},
        "ceiling": dict(FIGURES),
        "bound": {**FIGURES, "dim": 64},
    }
    facts = _facts(q)
    value, title = facts["P@10 without copies"]
    assert value == "0.590" and "residual copies" in title and "left out" in title
    assert facts["P@10"][0] == "0.920"
    ceiling, ceiling_title = facts["ceiling"]
    assert ceiling.endswith("(0.590 without copies)") and "copies left out" in ceiling_title
    assert "(0.590 without copies)" in facts["rank-64 bound"][0]


def test_a_model_without_copies_shows_the_raw_figures_alone():
    facts = _facts({**FIGURES, "residual_copies": {"stages": [], "neurons": 0}})
    assert "P@10 without copies" not in facts and facts["P@10"][0] == "0.920"


def test_no_live_neurons_is_said_in_words_not_as_empty_figures():
    q = {"r": None, "precision_at_10": None, "live_neurons": 0, "result": "no live neurons"}
    q |= {"ceiling": {"r": None, "precision_at_10": None}, "bound": {"r": None, "dim": 64}}
    facts = _facts(q)
    value, title = facts["no live neurons"]
    assert value == "(0 of 1,018 vary)" and "constant" in title
    assert not {"held-out r", "P@10", "ceiling", "rank-64 bound"} & set(facts)

"""Every registered architecture builds, runs on small images and names real probed layers."""

import pytest
import torch
from torch import nn

from backend.semantic.neurons import neuron_index
from model_zoo import get_model, list_models, model_entry

ALL = list_models()

# Parameter counts reported in the KD literature (CRD's table), for 100 classes.
PUBLISHED_PARAMS_100 = {
    "resnet20": 0.27e6,
    "resnet56": 0.86e6,
    "resnet8x4": 1.23e6,
    "resnet32x4": 7.43e6,
    "wrn_16_2": 0.70e6,
    "wrn_40_2": 2.26e6,
}


def _sample_shape(name: str) -> tuple[int, int, int, int]:
    return (2, 1, 8, 8) if name.startswith("digits_cnn") else (2, 3, 32, 32)


def _params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_families_are_registered():
    expected = {
        "resnet8",
        "resnet20",
        "resnet56",
        "resnet8x4",
        "resnet32x4",
        "wrn_16_2",
        "wrn_40_2",
    }
    expected |= {"resnet18", "resnet50", "mobilenet_v2", "digits_cnn", "digits_cnn_small"}
    assert expected <= set(ALL)


@pytest.mark.parametrize("name", ALL)
def test_builds_runs_and_probes(name):
    shape = _sample_shape(name)
    model = get_model(name, num_classes=7, in_channels=shape[1]).eval()
    with torch.no_grad():
        logits = model(torch.randn(shape))
    assert logits.shape == (2, 7)

    entry = model_entry(name)
    assert entry.description
    modules = dict(model.named_modules())
    missing = [path for path in model.probed_layers if path not in modules]
    assert not missing, f"{name}: probed layers not in the model: {missing}"
    assert model.probed_layers[-1] == entry.logit_layer == model.logit_layer

    # Hooks on every probed layer fire, and the last layer's neurons are the classes.
    index = neuron_index(model, model.probed_layers, torch.zeros(1, *shape[1:]))
    assert [layer.path for layer in index.layers] == model.probed_layers
    assert index.layers[-1].width == 7
    assert all(layer.spatial for layer in index.layers[:-1])


@pytest.mark.parametrize("name", ALL)
def test_one_channel_32x32(name):
    model = get_model(name, num_classes=10, in_channels=1).eval()
    with torch.no_grad():
        assert model(torch.randn(2, 1, 32, 32)).shape == (2, 10)


@pytest.mark.parametrize("name", sorted(PUBLISHED_PARAMS_100))
def test_parameter_counts_match_the_literature(name):
    count = _params(get_model(name, num_classes=100))
    assert count == pytest.approx(PUBLISHED_PARAMS_100[name], rel=0.05)


def test_digits_student_is_at_most_a_quarter_of_the_teacher():
    teacher = _params(get_model("digits_cnn", in_channels=1))
    student = _params(get_model("digits_cnn_small", in_channels=1))
    assert student * 4 <= teacher


def test_unknown_name_lists_known_names():
    with pytest.raises(ValueError, match="unknown architecture 'nope'") as err:
        get_model("nope")
    assert all(name in str(err.value) for name in ALL)


def test_bad_keyword_is_a_value_error():
    with pytest.raises(ValueError, match="resnet20"):
        get_model("resnet20", width=3)

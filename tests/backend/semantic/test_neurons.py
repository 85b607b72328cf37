import pytest
import torch

import model_zoo
from backend.core.errors import UnknownNameError
from backend.semantic.neurons import ActivationProbe, NeuronIndex, neuron_index


@pytest.fixture
def model():
    torch.manual_seed(0)
    return model_zoo.get_model("digits_cnn").eval()


def test_index_names_and_ids_round_trip(model):
    index = neuron_index(model, model.probed_layers, torch.zeros(1, 1, 8, 8))
    assert len(index) == 32 + 64 + 128 + 10
    names = index.names()
    assert names[0] == "conv1:0" and names[-1] == "fc:9" and names[32] == "conv2:0"
    for i in (0, 31, 32, 100, 233):
        assert index.id_of(index.name(i)) == i
    assert NeuronIndex.from_dict(index.to_dict()).names() == names
    assert [layer.spatial for layer in index.layers] == [True, True, True, False]


def test_unknown_layer_names_the_valid_ones(model):
    with pytest.raises(UnknownNameError) as err:
        ActivationProbe(model, ["conv9"])
    assert "conv3" in str(err.value) and "conv9" in str(err.value)


def test_pooled_activations_are_spatial_means(model):
    x = torch.randn(5, 1, 8, 8)
    with ActivationProbe(model, ["conv2", "fc"], keep_maps=True) as probe:
        logits = model(x)
        h = probe.pooled()
        maps = probe.maps()
    assert h.shape == (5, 64 + 10)
    assert torch.allclose(h[:, :64], maps["conv2"].mean(dim=(2, 3)))
    assert torch.allclose(h[:, 64:], logits)
    # hooks are removed on exit
    assert not model.conv2._forward_hooks

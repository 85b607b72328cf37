"""Knocking channels out: the class that reads a channel loses it, the others do not; the
control has the selection's size and layers; every replica of one batched pass gives what
its own pass gives."""

import pytest
import torch
from torch import nn

import model_zoo
from backend.ablation.control import control_draws, per_layer
from backend.ablation.experiment import ablate_selection, sweep_layer
from backend.ablation.masks import ablated_forward
from backend.ablation.measure import baseline
from backend.semantic.neurons import NeuronIndex
from tests.backend.ablation.conftest import CLASSES, PER_CLASS

CPU = torch.device("cpu")


def _base(model, index, split):
    paths = [layer.path for layer in index.layers]
    return baseline(model, paths, split.batches(16, shuffle=False), CPU)


def test_ablating_the_channel_a_class_reads_drops_that_class_only(
    channel_model, channel_index, channel_split
):
    base = _base(channel_model, channel_index, channel_split)
    out = ablate_selection(
        channel_model, channel_index, base, channel_split, [0], "zero", 4, 0, CPU
    )
    assert out["base"]["class_accuracy"] == [1.0, 1.0, 1.0]
    assert out["selection"]["delta_accuracy"] == [-100.0, 0.0, 0.0]
    assert out["selection"]["class_accuracy"] == [0.0, 1.0, 1.0]
    assert out["selection"]["delta_logit"][0] < -7 and out["selection"]["delta_logit"][1:] == [0, 0]
    # The head's neuron 0 reads channel 0 alone: it loses (nearly) all on its top images.
    assert out["selection"]["most_affected"][0]["name"] == "head:0"
    assert out["selection"]["most_affected"][0]["loss"] == pytest.approx(1.0)
    assert out["selection"]["top_image_loss_by_layer"]["features"] == 0.0  # the others untouched
    # Each control knocks out one of the other channels: its own class falls instead.
    for draw in out["control"]["draws"]:
        (channel,) = draw["neurons"]
        assert channel in (1, 2)
        assert draw["delta_accuracy"][channel] == -100.0 and draw["delta_accuracy"][0] == 0.0


def test_mean_ablation_fills_the_channel_with_its_mean_map(
    channel_model, channel_index, channel_split
):
    base = _base(channel_model, channel_index, channel_split)
    out = ablate_selection(
        channel_model, channel_index, base, channel_split, [0], "mean", 2, 0, CPU
    )
    x = torch.cat([x for x, *_ in channel_split.batches(64)])
    mean_map = x[:, 0].mean(dim=0)  # the identity conv and ReLU keep the images' channel 0
    own = x[:PER_CLASS, 0].mean()  # class 0's images come first
    expected = 10 * (mean_map.mean() - own)
    assert out["selection"]["delta_logit"][0] == pytest.approx(float(expected), abs=1e-3)
    assert out["selection"]["delta_logit"][1:] == [0, 0]
    assert out["selection"]["delta_accuracy"] == [0.0, 0.0, 0.0]  # the mean still wins


def test_control_draws_have_the_selections_size_and_layers():
    index = NeuronIndex.from_dict(
        [
            {"path": "a", "width": 8, "spatial": True},
            {"path": "b", "width": 16, "spatial": True},
            {"path": "c", "width": 4, "spatial": False},
        ]
    )
    selection = [1, 2, 8 + 3, 8 + 4, 8 + 5, 24 + 0]
    draws = control_draws(index, selection, draws=6, seed=3)
    assert len(draws) == 6
    wanted = {p: len(c) for p, c in per_layer(index, selection).items()}
    for draw in draws:
        assert len(draw) == len(selection) and len(set(draw)) == len(draw)
        assert {p: len(c) for p, c in per_layer(index, draw).items()} == wanted
        assert not set(draw) & set(selection)  # other neurons of the same layers
    assert len({tuple(d) for d in draws}) > 1  # random, not one draw repeated
    assert control_draws(index, selection, 6, 3) == draws  # the seed fixes them
    # A layer selected whole: the control draws the whole layer too.
    whole = control_draws(index, list(range(24, 28)), 2, 0)
    assert all(sorted(d) == [24, 25, 26, 27] for d in whole)


def test_sweep_knocks_out_each_neuron_alone(channel_model, channel_index, channel_split):
    base = _base(channel_model, channel_index, channel_split)
    out = sweep_layer(channel_model, channel_index, base, channel_split, "features", "zero", CPU)
    assert out["width"] == CLASSES
    for c in range(CLASSES):
        expected = [-100.0 if k == c else 0.0 for k in range(CLASSES)]
        assert out["class_delta_accuracy"][c] == expected
        assert out["delta_accuracy"][c] == pytest.approx(-100 / CLASSES, abs=1e-3)


def test_one_batched_pass_equals_each_replica_alone():
    torch.manual_seed(0)
    model = model_zoo.get_model("digits_cnn").eval()
    x = torch.randn(7, 1, 8, 8)
    masks = {
        "conv2": (torch.rand(5, 64) > 0.3).float(),
        "conv3": (torch.rand(5, 128) > 0.3).float(),
    }
    fill = {"conv3": torch.randn(128, 4, 4)}
    with torch.no_grad():
        together = ablated_forward(model, x, masks, fill)
        for r in range(5):
            alone = ablated_forward(model, x, {p: m[r : r + 1] for p, m in masks.items()}, fill)
            assert torch.allclose(together[r], alone[0], atol=1e-5)
        assert not torch.allclose(together[0], together[1])


class SkipAround(nn.Module):
    """The hooked conv's input is added to its output: the batch cannot widen inside."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 1)
        self.head = nn.Linear(3, 2)

    def forward(self, x):
        return self.head((self.conv(x) + x).mean(dim=(2, 3)))


def test_a_skip_around_the_layer_widens_the_input_instead():
    torch.manual_seed(0)
    model = SkipAround().eval()
    x = torch.randn(4, 3, 5, 5)
    masks = {"conv": torch.tensor([[1.0, 0, 1], [0, 1, 1], [1, 1, 1]])}
    widen = ["layer"]
    with torch.no_grad():
        out = ablated_forward(model, x, masks, None, widen)
        assert widen == ["input"]
        for r in range(3):
            h = model.conv(x) * masks["conv"][r].view(1, 3, 1, 1)
            assert torch.allclose(out[r], model.head((h + x).mean(dim=(2, 3))), atol=1e-6)


def test_layers_before_the_first_hooked_one_run_once():
    torch.manual_seed(0)
    model = model_zoo.get_model("digits_cnn").eval()
    seen = []
    model.conv1.register_forward_hook(lambda _m, _i, out: seen.append(out.shape[0]))
    model.fc.register_forward_hook(lambda _m, _i, out: seen.append(out.shape[0]))
    with torch.no_grad():
        ablated_forward(model, torch.randn(6, 1, 8, 8), {"conv3": torch.ones(4, 128)})
    assert seen == [6, 24]  # conv1 on the 6 images once, the head on 4 replicas of them

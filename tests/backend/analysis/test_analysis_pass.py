"""`analyze` against brute force: one forward pass over all images, then plain torch ops."""

import dataclasses
import math

import numpy as np
import pytest
import torch

import model_zoo
from backend.analysis import DEAD_STD, Analysis, analyze, selectivity

K = 9


@pytest.fixture(scope="module")
def shared_model():
    """One untrained model for the tests that only read it."""
    torch.manual_seed(0)
    return model_zoo.get_model("digits_cnn").eval()


@pytest.fixture(scope="module")
def result(shared_model, digits, make_batches) -> Analysis:
    x, y = digits
    batches = make_batches(x, y, 64)
    return analyze(shared_model, shared_model.probed_layers, batches, num_classes=10, k=K)


@pytest.fixture(scope="module")
def reference(shared_model, digits, forward_all):
    return forward_all(shared_model, digits[0])


def test_index_covers_all_probed_neurons(result, shared_model):
    assert len(result) == 32 + 64 + 128 + 10 == 234
    assert [layer.path for layer in result.index.layers] == shared_model.probed_layers
    assert set(result.top_maps) == {"conv1", "conv2", "conv3"}  # fc has no maps
    assert result.num_images == 300
    # Plain tensors, not inference-mode ones, so callers may edit them in place.
    assert not result.top_values.is_inference() and not result.top_maps["conv1"].is_inference()


def test_top_k_matches_brute_force(result, reference):
    h, _ = reference
    values, indices = h.t().topk(K + 1, dim=1)
    torch.testing.assert_close(result.top_values, values[:, :K], rtol=1e-5, atol=1e-5)
    # Where the k-th and (k+1)-th values tie, either image is right: compare the value
    # each stored index really has, everywhere, and the indices themselves where unique.
    at_index = h.t().gather(1, result.top_indices)
    torch.testing.assert_close(at_index, result.top_values, rtol=1e-5, atol=1e-5)
    distinct = (values[:, :-1] - values[:, 1:]).min(dim=1).values > 1e-5
    assert distinct.sum() > 150  # most neurons, so the index check has teeth
    assert torch.equal(result.top_indices[distinct], indices[distinct, :K])
    assert result.top_values.dtype == torch.float32 and result.top_indices.dtype == torch.int64


def test_top_k_does_not_depend_on_batch_size(shared_model, digits, make_batches):
    x, y = digits
    layers = shared_model.probed_layers
    small = analyze(shared_model, layers, make_batches(x, y, 23), 10, k=K)
    whole = analyze(shared_model, layers, make_batches(x, y, 300), 10, k=K)
    torch.testing.assert_close(small.top_values, whole.top_values, rtol=1e-5, atol=1e-5)
    for path, maps in whole.top_maps.items():
        torch.testing.assert_close(small.top_maps[path], maps, rtol=2e-3, atol=2e-3)


def test_maps_are_the_layer_outputs_of_the_top_images(result, reference):
    _, outputs = reference
    for layer in result.index.layers:
        if not layer.spatial:
            continue
        rows = result.top_indices[layer.offset : layer.offset + layer.width]
        channels = torch.arange(layer.width).unsqueeze(1)
        expected = outputs[layer.path][rows, channels]  # (width, k, h, w)
        stored = result.top_maps[layer.path]
        assert stored.dtype == torch.float16 and stored.shape == expected.shape
        torch.testing.assert_close(stored.float(), expected, rtol=1e-3, atol=1e-3)
        # And each map pools to its top value: the map belongs to the right image.
        pooled = stored.float().mean(dim=(2, 3))
        top = result.top_values[layer.offset : layer.offset + layer.width]
        torch.testing.assert_close(pooled, top, rtol=1e-2, atol=1e-2)


def test_class_means_match_brute_force(result, reference, digits):
    h, _ = reference
    y = digits[1]
    expected = torch.stack([h[y == c].double().mean(dim=0) for c in range(10)], dim=1)
    torch.testing.assert_close(result.class_means.double(), expected, rtol=1e-5, atol=1e-6)
    assert torch.equal(result.class_counts, torch.bincount(y, minlength=10))
    assert torch.equal(result.dominant_class, expected.argmax(dim=1))


def test_selectivity_is_the_point_biserial_correlation(result, reference, digits):
    h, y = reference[0].double(), digits[1]
    dominant, score = selectivity(result.class_means, result.class_counts, result.mean, result.std)
    assert torch.equal(dominant, result.dominant_class) and torch.equal(score, result.selectivity)
    live = (~result.dead).nonzero().squeeze(1)
    for i in live[:: max(1, len(live) // 25)].tolist():
        is_dominant = (y == dominant[i]).double()
        expected = np.corrcoef(h[:, i].numpy(), is_dominant.numpy())[0, 1]
        assert score[i].item() == pytest.approx(expected, abs=1e-4), i
    assert torch.all((score >= 0) & (score <= 1))
    # An empty class (NaN mean) is left out rather than poisoning the score: two classes
    # of 5 images, means 3 and 1, are told apart perfectly with std 1, half as well with 2.
    means, counts = torch.tensor([[3.0, 1.0, float("nan")]] * 2), torch.tensor([5, 5, 0])
    _, two = selectivity(means, counts, torch.tensor([2.0, 2.0]), torch.tensor([1.0, 2.0]))
    torch.testing.assert_close(two, torch.tensor([1.0, 0.5]))


def test_moments_match_brute_force(result, reference):
    h = reference[0].double()
    torch.testing.assert_close(result.mean, h.mean(dim=0), rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(result.std, h.std(dim=0, correction=0), rtol=1e-5, atol=1e-7)
    assert result.mean.dtype == torch.float64


def test_histogram_counts_every_image_once(result, reference):
    h = reference[0].double()
    assert torch.all(result.hist_counts.sum(dim=1) == 300)
    edges = result.hist_edges()
    nonempty = result.hist_counts > 0
    first = nonempty.int().argmax(dim=1)
    last = result.bins - 1 - nonempty.flip(1).int().argmax(dim=1)
    rows = torch.arange(len(result))
    lo, hi = h.min(dim=0).values, h.max(dim=0).values
    # The minimum lies in the first nonempty bin and the maximum in the last one.
    assert torch.all(edges[rows, first] <= lo) and torch.all(lo < edges[rows, first + 1])
    assert torch.all(edges[rows, last] <= hi) and torch.all(hi < edges[rows, last + 1])
    # With the final edges, numpy puts (almost) every value in the same bin.
    moved = sum(
        np.abs(np.histogram(h[:, j].numpy(), edges[j].numpy())[0] - result.hist_counts[j].numpy())
        .sum()
        .item()
        for j in range(len(result))
    )
    assert moved <= 2 * len(result)


def test_dead_flag_marks_a_silenced_channel(model, digits, make_batches):
    block_bn = model.conv2[1]
    with torch.no_grad():
        block_bn.weight[3] = 0.0
        block_bn.bias[3] = 0.0
    x, y = digits
    result = analyze(model, model.probed_layers, make_batches(x, y, 100), 10)
    dead_id = result.index.id_of("conv2:3")
    assert result.dead[dead_id]
    assert result.std[dead_id] <= DEAD_STD
    assert result.dead.sum() == 1
    summary = result.neuron_summary(dead_id)
    assert summary["dead"] and summary["selectivity"] == 0.0


def test_save_load_round_trip_is_exact(result, tmp_path):
    result = dataclasses.replace(result, class_names=[str(c) for c in range(10)])
    result.save(tmp_path / "run")
    assert (tmp_path / "run" / "analysis.safetensors").is_file()
    loaded = Analysis.load(tmp_path / "run")
    for name in ("top_values", "top_indices", "class_means", "class_counts", "dominant_class"):
        assert torch.equal(getattr(loaded, name), getattr(result, name)), name
    for name in ("selectivity", "hist_counts", "hist_lo", "hist_hi", "mean", "std", "dead"):
        assert torch.equal(getattr(loaded, name), getattr(result, name)), name
    assert loaded.top_maps.keys() == result.top_maps.keys()
    for path, maps in result.top_maps.items():
        assert torch.equal(loaded.top_maps[path], maps)
    assert loaded.index.to_dict() == result.index.to_dict()
    assert (loaded.k, loaded.bins, loaded.num_images) == (result.k, result.bins, 300)
    assert loaded.class_names == result.class_names
    assert loaded.neuron_summary(100) == result.neuron_summary(100)


def test_neuron_summary(result):
    neuron = result.index.id_of("conv3:5")
    summary = result.neuron_summary(neuron)
    assert summary["name"] == "conv3:5" and summary["layer"] == "conv3"
    assert summary["channel"] == 5 and summary["spatial"]
    assert [image for _, image in summary["top"]] == result.top_indices[neuron].tolist()
    values = [value for value, _ in summary["top"]]
    assert values == sorted(values, reverse=True)
    assert sum(summary["histogram"]["counts"]) == 300
    assert len(summary["histogram"]["edges"]) == result.bins + 1
    assert summary["dominant_class"] == int(np.nanargmax(summary["class_means"]))
    assert result.maps_of(neuron).shape == (K, 4, 4)
    assert result.maps_of(result.index.id_of("fc:0")) is None


def test_fewer_images_than_k_leaves_empty_slots(model, digits, make_batches):
    x, y = digits
    result = analyze(model, model.probed_layers, make_batches(x[:4], y[:4], 3), 10, k=6)
    assert torch.all(result.top_indices[:, 4:] == -1)
    assert torch.all(torch.isinf(result.top_values[:, 4:]))
    assert sorted(image for _, image in result.neuron_summary(0)["top"]) == [0, 1, 2, 3]
    # Classes without images have NaN means, shown as None.
    assert (
        math.isnan(result.class_means[0, 9]) and result.neuron_summary(0)["class_means"][9] is None
    )


def test_progress_pairs_and_plain_xy_batches(model, digits):
    x, y = digits
    calls, threads = [], torch.get_num_threads()
    plain = [(x[:100], y[:100]), (x[100:150], y[100:150])]
    model.train()
    result = analyze(model, model.probed_layers, plain, 10, progress=lambda *a: calls.append(a))
    assert calls == [(1, 2), (2, 2)]
    assert result.num_images == 150 and int(result.top_indices.max()) < 150
    assert model.training  # the training flag is restored
    assert torch.get_num_threads() == threads  # so is the thread count


def test_generator_batches_report_unknown_total(model, digits, make_batches):
    x, y = digits
    calls = []
    analyze(
        model,
        model.probed_layers,
        iter(make_batches(x, y, 100)),
        10,
        progress=lambda *a: calls.append(a),
    )
    assert calls == [(1, 0), (2, 0), (3, 0)]


@pytest.mark.parametrize("bad", [-1, 10])
def test_labels_out_of_range_are_refused(model, digits, bad):
    x, y = digits
    y = y[:20].clone()
    y[5] = bad
    with pytest.raises(ValueError, match="labels"):
        analyze(model, model.probed_layers, [(x[:20], y)], 10)


def test_empty_dataset_is_refused(model):
    with pytest.raises(ValueError, match="no batches"):
        analyze(model, model.probed_layers, [], 10)


def test_runs_on_a_real_data_split(shared_model):
    from backend.data import DataSpec, load_split

    split = load_split(DataSpec(name="digits", seed=0), "test")
    calls = []
    result = analyze(
        shared_model,
        shared_model.probed_layers,
        split.batches(128),
        len(split.classes),
        class_names=split.classes,
        progress=lambda *a: calls.append(a),
        total=math.ceil(len(split) / 128),
    )
    assert result.num_images == len(split)
    assert calls[-1] == (math.ceil(len(split) / 128),) * 2
    assert torch.equal(result.class_counts, torch.bincount(split.labels(), minlength=10))
    assert torch.all(result.hist_counts.sum(dim=1) == len(split))
    assert int(result.top_indices.min()) >= 0 and int(result.top_indices.max()) < len(split)
    summary = result.neuron_summary(result.index.id_of("conv2:0"))
    assert summary["dominant_class_name"] == split.classes[summary["dominant_class"]]

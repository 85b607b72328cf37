"""What the panel shows beside the top images: bottom and random samples, the model's own
predictions, a selectivity that ranks logits, and unlabelled images."""

import pytest
import torch
from safetensors.torch import load_file

import model_zoo
from backend.analysis import Analysis, analyze
from backend.services.default_run import shipped_files


@pytest.fixture(scope="module")
def trained():
    """The shipped, trained digits teacher: its logits separate the classes."""
    model = model_zoo.get_model("digits_cnn")
    model.load_state_dict(load_file(str(shipped_files()[0])))
    return model.eval()


@pytest.fixture(scope="module")
def result(trained, digits, make_batches) -> Analysis:
    x, y = digits
    return analyze(trained, trained.probed_layers, make_batches(x, y, 64), 10, samples=5)


def test_selectivity_ranks_the_logits(result):
    """(max - rest) / (|max| + |rest|) gave 1.0 to every logit (the other classes' means
    are negative); the correlation tells the sharp logits from the loose ones."""
    fc = result.index.layer("fc")
    scores = result.selectivity[fc.offset : fc.offset + fc.width]
    assert torch.equal(result.dominant_class[fc.offset : fc.offset + fc.width], torch.arange(10))
    assert float(scores.max()) < 0.99 and float(scores.min()) > 0.3
    assert len({round(v, 4) for v in scores.tolist()}) == 10
    assert float(scores.max() - scores.min()) > 0.02


def test_bottom_samples_match_brute_force(result, trained, digits, forward_all):
    h = forward_all(trained, digits[0])[0]
    values = h.t().topk(5, dim=1, largest=False).values
    torch.testing.assert_close(result.bottom_values, values, rtol=1e-5, atol=1e-5)
    at_index = h.t().gather(1, result.bottom_indices)
    torch.testing.assert_close(at_index, result.bottom_values, rtol=1e-5, atol=1e-5)
    summary = result.neuron_summary(7)
    assert [v for v, _ in summary["bottom"]] == sorted(v for v, _ in summary["bottom"])


def test_random_samples_are_the_same_images_for_every_neuron(result, trained, digits):
    h = _pooled(trained, digits[0])
    picked = result.random_indices
    assert len(picked) == 5 and len(set(picked.tolist())) == 5
    torch.testing.assert_close(result.random_values, h[picked].t(), rtol=1e-5, atol=1e-5)
    # Reservoir sampling: not simply the first images, and the same draw every time.
    assert int(picked.max()) >= 5
    again = analyze(trained, trained.probed_layers, _batches(digits, 100), 10, samples=5)
    assert torch.equal(again.random_indices.sort().values, picked.sort().values)


def test_predictions_and_labels_are_kept_per_image(result, trained, digits):
    x, y = digits
    with torch.no_grad():
        probs = trained(x).softmax(dim=1)
    assert torch.equal(result.predictions, probs.argmax(dim=1))
    torch.testing.assert_close(result.confidence, probs.max(dim=1).values, rtol=1e-4, atol=1e-5)
    assert torch.equal(result.image_labels, y) and result.num_outputs == 10
    assert float((result.predictions == y).float().mean()) > 0.8  # a trained model
    facts = result.image_facts(3)
    assert facts["label"] == int(y[3]) and facts["prediction"] == int(probs[3].argmax())
    assert result.image_facts(10_000) == {"label": None, "prediction": None, "confidence": None}


def test_new_fields_survive_save_and_load(result, tmp_path):
    result.save(tmp_path)
    loaded = Analysis.load(tmp_path)
    for name in ("bottom_values", "random_indices", "predictions", "confidence", "image_labels"):
        assert torch.equal(getattr(loaded, name), getattr(result, name)), name
    assert loaded.num_outputs == 10 and loaded.selectivity_measure == result.selectivity_measure
    assert loaded.neuron_summary(200) == result.neuron_summary(200)


def test_unlabelled_images_get_no_class_statistics(trained, digits):
    x, _ = digits
    unlabelled = [(x[i : i + 50], torch.full((50,), -1), torch.arange(i, i + 50)) for i in (0, 50)]
    result = analyze(trained, trained.probed_layers, unlabelled, num_classes=0, class_names=[])
    assert not result.labelled and result.class_means.shape == (234, 0)
    assert torch.isnan(result.selectivity).all() and result.image_labels is None
    summary = result.neuron_summary(3)
    assert summary["dominant_class"] is None and summary["selectivity"] is None
    assert summary["class_means"] == [] and len(summary["top"]) == 9
    assert result.predictions is not None and len(result.predictions) == 100


def _pooled(model, x):
    from backend.semantic.neurons import ActivationProbe

    with torch.no_grad(), ActivationProbe(model, model.probed_layers) as probe:
        model(x)
    return probe.pooled()


def _batches(digits, size):
    x, y = digits
    idx = torch.arange(len(y))
    return [(x[i : i + size], y[i : i + size], idx[i : i + size]) for i in range(0, len(y), size)]

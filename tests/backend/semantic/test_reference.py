import numpy as np
import torch

import model_zoo
from backend.core.progress import Reporter
from backend.data import DataSpec, load_split
from backend.data.subset import SubsetSplit
from backend.runs.checkpoint import load_into, read_state_dict
from backend.semantic.alignment import SemanticVectors
from backend.semantic.quality import evaluate_quality, reference_figures
from backend.semantic.reference import compute_reference, random_unit_vectors
from backend.semantic.report import held_out_quality
from backend.semantic.sample import balanced_sample, describe
from backend.training.align import align_frozen
from backend.training.config import AlignConfig

CPU = torch.device("cpu")


def _factor_model(n_images, n_neurons, rank, noise, seed):
    gen = torch.Generator().manual_seed(seed)
    mixing = torch.randn(rank, n_neurons, generator=torch.Generator().manual_seed(99))
    scales = torch.logspace(0, -1.5, rank)[:, None]  # a decaying spectrum
    h = torch.randn(n_images, rank, generator=gen) @ (mixing * scales)
    return h + noise * torch.randn(n_images, n_neurons, generator=gen)


def _stream(h, batch=64):
    return lambda: iter(h.split(batch))


def test_bound_on_a_low_rank_correlation_is_the_exact_one():
    h = _factor_model(500, 300, rank=6, noise=0.0, seed=0)
    exact = torch.from_numpy(np.corrcoef(h.double().numpy(), rowvar=False)).float()
    # exact_max=0 forces the randomised streaming method on the same data
    for ref in (
        compute_reference(_stream(h), 300, 6),
        compute_reference(_stream(h), 300, 6, exact_max=0),
    ):
        fit = ref.vectors @ ref.vectors.T
        assert torch.allclose(fit, exact, atol=2e-4), ref.method
        ids = ref.rows if ref.rows is not None else torch.arange(300)
        assert torch.allclose(ref.correlation_rows(ids), exact[ids], atol=2e-4)
        assert ref.num_images == 500
    vals = torch.linalg.eigvalsh(exact.double()).flip(0)[:6].float()
    randomised = compute_reference(_stream(h), 300, 6, exact_max=0)
    assert torch.allclose(randomised.eigenvalues, vals, rtol=1e-3)


def test_randomised_top_eigenpairs_match_exact_ones_with_noise():
    h = _factor_model(2000, 200, rank=20, noise=0.05, seed=1)
    exact = compute_reference(_stream(h), 200, 8)
    randomised = compute_reference(_stream(h), 200, 8, exact_max=0)
    assert exact.method == "exact" and randomised.method == "randomised"
    assert torch.allclose(randomised.eigenvalues, exact.eigenvalues, rtol=1e-3)
    gap = (randomised.vectors @ randomised.vectors.T) - (exact.vectors @ exact.vectors.T)
    assert gap.abs().max() < 1e-2


def test_ceiling_is_above_the_bound_which_is_above_a_random_embedding():
    train = _factor_model(3000, 120, rank=30, noise=0.3, seed=2)
    test = _factor_model(400, 120, rank=30, noise=0.3, seed=3)
    ref = compute_reference(_stream(train), 120, 4)
    figures = reference_figures(ref, test)
    rand = evaluate_quality(random_unit_vectors(120, 4, seed=0), test)
    ceiling, bound = figures["ceiling"], figures["bound"]
    for key, random_value in (("r", rand.r), ("precision_at_10", rand.precision_at_k)):
        assert ceiling[key] >= bound[key] > random_value + 0.1, key
    assert bound["dim"] == 4 and bound["train_images"] == 3000
    assert figures["reference_rows"] == 120


def _class_sorted_digits_test():
    test = load_split(DataSpec(), "test")
    return SubsetSplit(test, np.argsort(test.labels().numpy(), kind="stable"))


def _digits_model():
    model = model_zoo.get_model("digits_cnn")
    load_into(model, read_state_dict("model_zoo/checkpoints/digits_cnn.safetensors"), "digits_cnn")
    return model.eval()


def test_held_out_sample_of_a_class_sorted_split_is_class_balanced():
    split = _class_sorted_digits_test()
    assert split.labels()[:100].unique().numel() < 5  # the first 100 are a few classes only
    sample = balanced_sample(split, 100)
    counts = torch.bincount(sample.labels(), minlength=10)
    assert describe(sample) == {"images": 100, "classes": 10}
    assert counts.min() >= 9 and counts.max() <= 11


def test_run_quality_reports_its_held_out_classes_ceiling_and_bound():
    model = _digits_model()
    vectors = SemanticVectors(234, 16)
    train = load_split(DataSpec(), "train")
    layers = model.probed_layers
    report, q = held_out_quality(
        model,
        layers,
        vectors,
        _class_sorted_digits_test(),
        CPU,
        Reporter(),
        lambda: train,
        max_images=200,
    )
    assert q["held_out"] == {"images": 200, "classes": 10}
    assert q["num_images"] == 200
    assert q["ceiling"]["precision_at_10"] >= q["bound"]["precision_at_10"]
    assert q["bound"]["precision_at_10"] > report.precision_at_k + 0.3  # random vectors
    # The digits CNN has no identity skip: no residual copies, so the figures apart from
    # copies are the raw ones.
    assert q["residual_copies"] == {"stages": [], "neurons": 0}
    for figures in (q, q["ceiling"], q["bound"]):
        assert figures["precision_at_10_without_copies"] == figures["precision_at_10"]


def test_eigen_start_beats_random_start_at_equal_steps():
    model = _digits_model()
    train = load_split(DataSpec(), "train")
    held = load_split(DataSpec(), "test")
    from backend.semantic.quality import collect_activations

    h = collect_activations(model, model.probed_layers, held.batches(256), CPU)
    scores = {}
    for init in ("eigen", "random"):
        vectors = SemanticVectors(234, 16)
        cfg = AlignConfig(init=init, steps=20, dim=16)
        align_frozen(model, model.probed_layers, train, vectors, cfg, CPU)
        scores[init] = evaluate_quality(vectors.unit(), h).precision_at_k
        bound = reference_figures(vectors.reference, h)["bound"]["precision_at_10"]
    assert scores["eigen"] >= 0.97 * bound
    assert scores["eigen"] > scores["random"] + 0.1

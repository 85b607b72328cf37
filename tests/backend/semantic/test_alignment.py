import numpy as np
import pytest
import torch

import model_zoo
from backend.data import DataSpec, load_split
from backend.semantic.alignment import SemanticVectors, alignment_loss, batch_correlation
from backend.training.align import align_frozen
from backend.training.config import AlignConfig, TrainConfig
from backend.training.fit import train_with_alignment


def test_batch_correlation_matches_numpy_and_masks_dead_columns():
    h = torch.randn(64, 6)
    h[:, 3] = 2.5  # a dead column: no variance in this batch
    corr, alive = batch_correlation(h)
    assert alive.tolist() == [True, True, True, False, True, True]
    live = [0, 1, 2, 4, 5]
    expected = np.corrcoef(h[:, live].numpy(), rowvar=False)
    assert np.allclose(corr[live][:, live].numpy(), expected, atol=1e-5)
    assert torch.all(corr[3] == 0)


def test_loss_is_zero_when_similarity_equals_correlation():
    h = torch.randn(200, 5)
    corr, _ = batch_correlation(h)
    # factor the correlation (PSD, unit diagonal) into vectors whose cosine reproduces it
    vals, vecs = torch.linalg.eigh(corr.double())
    e = (vecs * vals.clamp(min=0).sqrt()).float()
    vectors = SemanticVectors(5, 5)
    with torch.no_grad():
        vectors.weight.copy_(e)
    assert alignment_loss(h, vectors).item() < 1e-8
    assert alignment_loss(torch.randn(200, 5), vectors).item() > 1e-4


def test_subset_sampling_uses_only_the_subset():
    h = torch.randn(32, 500, requires_grad=False)
    vectors = SemanticVectors(500, 8)
    loss = alignment_loss(h, vectors, subset=40, generator=torch.Generator().manual_seed(0))
    loss.backward()
    touched = (vectors.weight.grad.abs().sum(dim=1) > 0).sum().item()
    assert touched == 40


def test_alignment_loss_falls_during_training():
    torch.manual_seed(0)
    train, val = (load_split(DataSpec(), s) for s in ("train", "val"))
    model = model_zoo.get_model("digits_cnn")
    vectors = SemanticVectors(234, 16)
    cfg = TrainConfig(epochs=6, device="cpu")
    history = train_with_alignment(
        model, model.probed_layers, train, val, vectors, cfg, torch.device("cpu")
    )
    losses = [h["align_loss"] for h in history]
    assert losses[-1] < 0.6 * losses[0]
    assert history[-1]["val_accuracy"] > 0.8


@pytest.mark.parametrize(("subset", "steps"), [(2048, 1000), (160, 2000)])
def test_identical_channels_get_identical_vectors(subset, steps):
    """Two conv channels with the same weights fire together, so their vectors must agree."""
    torch.manual_seed(0)
    model = model_zoo.get_model("digits_cnn").eval()
    block = model.conv3
    with torch.no_grad():
        block[0].weight[7] = block[0].weight[5]
        for name in ("weight", "bias", "running_mean", "running_var"):
            getattr(block[1], name)[7] = getattr(block[1], name)[5]
    train = load_split(DataSpec(), "train")
    vectors = SemanticVectors(234, 64)
    # From a random start, so that the steps themselves must find the pair (an eigen-start
    # begins with equal rows for equal channels, and at the loss's minimum).
    cfg = AlignConfig(steps=steps, subset=subset, init="random")
    losses = align_frozen(model, model.probed_layers, train, vectors, cfg, torch.device("cpu"))
    unit = vectors.unit()
    a, b = 96 + 5, 96 + 7  # conv3 starts after 32 + 64 neurons
    assert float(unit[a] @ unit[b]) >= 0.99
    assert np.mean(losses[-20:]) < np.mean(losses[:20])


def test_cached_activations_give_the_same_steps_with_one_forward_pass(monkeypatch):
    """Alignment on a split whose activations fit in memory reads each image once, and
    its steps are the steps the forward passes would have given."""
    import backend.training.align as align

    model = model_zoo.get_model("digits_cnn").eval()
    train = load_split(DataSpec(), "train")
    images = []
    model.register_forward_hook(lambda _m, x, _out: images.append(x[0].shape[0]))

    def run(cache_bytes: int) -> list[float]:
        monkeypatch.setattr(align, "CACHE_BYTES", cache_bytes)
        images.clear()
        cfg = AlignConfig(steps=30, init="random")
        return align_frozen(
            model, model.probed_layers, train, SemanticVectors(234, 16), cfg, torch.device("cpu")
        )

    cached = run(2**30)
    assert sum(images) == len(train)  # one pass: the cache (which also gives the reference)
    forward = run(0)
    assert sum(images) == len(train) + 30 * 128  # the reference's pass, then a batch a step
    assert np.allclose(cached, forward, atol=1e-5)


def test_an_eigen_start_is_kept_when_steps_would_sample_the_neurons():
    """With more neurons than a step samples, the steps would drift off the eigen-start
    (measured: P@10 0.579 -> 0.420 on a 15k-neuron ResNet-50): they are skipped unless
    asked for."""
    from backend.semantic.reference import eigen_start_weight

    model = model_zoo.get_model("digits_cnn").eval()
    train = load_split(DataSpec(), "train")
    kept = SemanticVectors(234, 16)
    cfg = AlignConfig(steps=20, subset=100)
    assert align_frozen(model, model.probed_layers, train, kept, cfg, torch.device("cpu")) == []
    assert torch.equal(kept.weight.detach(), eigen_start_weight(kept.reference, 0, 16))
    refined = SemanticVectors(234, 16)
    cfg = AlignConfig(steps=20, subset=100, refine_sampled=True)
    losses = align_frozen(model, model.probed_layers, train, refined, cfg, torch.device("cpu"))
    assert len(losses) == 20
    full = SemanticVectors(234, 16)  # every neuron in every step: the steps run
    cfg = AlignConfig(steps=20)
    assert (
        len(align_frozen(model, model.probed_layers, train, full, cfg, torch.device("cpu"))) == 20
    )

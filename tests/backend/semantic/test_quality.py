import numpy as np
import torch

from backend.semantic.quality import evaluate_quality


def _correlated_activations(n_images=400, n_neurons=60, rank=6, seed=0):
    gen = torch.Generator().manual_seed(seed)
    factors = torch.randn(n_images, rank, generator=gen)
    mixing = torch.randn(rank, n_neurons, generator=gen)
    return factors @ mixing + 0.3 * torch.randn(n_images, n_neurons, generator=gen)


def _exact_vectors(h):
    corr = torch.from_numpy(np.corrcoef(h.numpy(), rowvar=False))
    vals, vecs = torch.linalg.eigh(corr)
    return (vecs * vals.clamp(min=0).sqrt()).float()


def test_exact_vectors_score_perfectly_and_random_ones_do_not():
    h = _correlated_activations()
    good = evaluate_quality(_exact_vectors(h), h)
    assert good.r > 0.999 and good.precision_at_k > 0.99
    assert good.live_neurons == 60 and good.k == 10
    bad = evaluate_quality(torch.randn(60, 64), h)
    assert abs(bad.r) < 0.2 and bad.precision_at_k < 0.4


def test_chunked_equals_unchunked_and_dead_neurons_are_left_out():
    h = _correlated_activations()
    h[:, 7] = 0.0  # dead on the held-out data
    vectors = _exact_vectors(h[:, [i for i in range(60) if i != 7]])
    vectors = torch.cat([vectors[:7], torch.randn(1, 59), vectors[7:]])
    whole = evaluate_quality(vectors, h, chunk=60)
    chunked = evaluate_quality(vectors, h, chunk=7)
    assert whole.live_neurons == 59
    assert np.isnan(whole.per_neuron_r[7]) and np.isnan(whole.per_neuron_precision[7])
    assert abs(whole.r - chunked.r) < 1e-6
    assert np.allclose(whole.per_neuron_r, chunked.per_neuron_r, equal_nan=True, atol=1e-5)
    assert whole.r > 0.999

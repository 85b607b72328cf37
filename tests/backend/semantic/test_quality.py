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


def _direct(sim: np.ndarray, corr: np.ndarray, allowed: np.ndarray, k: int, row: int):
    """Pearson r and precision@k of one row, straight from the definitions."""
    cols = np.flatnonzero(allowed)
    r = np.corrcoef(sim[row, cols], corr[row, cols])[0, 1]
    top_s = cols[np.argsort(-sim[row, cols], kind="stable")[:k]]
    top_c = cols[np.argsort(-corr[row, cols], kind="stable")[:k]]
    return r, len(set(top_s) & set(top_c)) / k


def test_one_sweep_equals_each_similarity_measured_directly():
    """The vectors (all rows), the ceiling and the bound (a subset of rows) in one sweep,
    chunked across the subset, with residual copies: each figure as computed directly."""
    from types import SimpleNamespace

    from backend.semantic.quality import quality_and_references, vector_similarity

    h, train = _correlated_activations(), _correlated_activations(seed=1)
    for acts in (h, train):  # residual copies: each neuron's most correlated ones
        acts[:, [4, 5, 21]] = acts[:, [3, 3, 20]] * 1.5 + 0.01 * acts[:, [0, 1, 2]]
    h[:, 7] = 0.0
    corr_train = torch.from_numpy(np.corrcoef(train.numpy(), rowvar=False)).float()
    rows = torch.tensor([1, 3, 7, 8, 20, 41, 59])
    reference = SimpleNamespace(
        rows=rows,
        vectors=_exact_vectors(train)[:, -8:],
        correlation_rows=lambda ids: corr_train[ids],
        summary=lambda: {"dim": 8},
    )
    noise = torch.randn(60, 8, generator=torch.Generator().manual_seed(2))
    vectors = torch.cat([_exact_vectors(train)[:, -8:], noise], dim=1)
    copies = torch.full((60,), -1)
    copies[[3, 4, 5]], copies[[20, 21]] = 0, 1
    report, figures = quality_and_references(vectors, reference, h, 5, copies, chunk=3)
    with np.errstate(invalid="ignore", divide="ignore"):
        held = np.corrcoef(h.numpy(), rowvar=False)
    alive = h.std(0).numpy() > 0
    unit = torch.nn.functional.normalize(vectors, dim=1)
    sims = {
        "vectors": (unit @ unit.T).numpy(),
        "ceiling": corr_train.numpy(),
        "bound": vector_similarity(reference.vectors)(torch.arange(60)).numpy(),
    }
    for name, sim in sims.items():
        measured = range(60) if name == "vectors" else rows.tolist()
        xs, ys, ps, apart = [], [], [], []
        for i in measured:
            if not alive[i]:
                continue
            allowed = alive & (np.arange(60) != i)
            r, p = _direct(sim, held, allowed, 5, i)
            same = (copies.numpy() == copies[i].item()) & (copies[i].item() >= 0)
            xs.append(sim[i, allowed]), ys.append(held[i, allowed]), ps.append(p)
            apart.append(_direct(sim, held, allowed & ~same, 5, i)[1])
            if name == "vectors":
                assert abs(report.per_neuron_r[i] - r) < 1e-4
                assert report.per_neuron_precision[i] == p
        got = report.summary() if name == "vectors" else figures[name]
        r_all = np.corrcoef(np.concatenate(xs), np.concatenate(ys))[0, 1]
        assert abs(got["r"] - r_all) < 1e-5, name
        assert abs(got["precision_at_5"] - np.mean(ps)) < 1e-6, name
        assert abs(got["precision_at_5_without_copies"] - np.mean(apart)) < 1e-6, name
    assert np.isnan(report.per_neuron_r[7]) and figures["reference_rows"] == 7

"""Real 8x8 digits (scikit-learn's, shipped offline) and an untrained, seeded digits CNN."""

import pytest
import torch
from sklearn.datasets import load_digits

import model_zoo
from backend.semantic.neurons import ActivationProbe

NUM_IMAGES = 300


@pytest.fixture(scope="session")
def digits() -> tuple[torch.Tensor, torch.Tensor]:
    """The first NUM_IMAGES digits: x float32 (n, 1, 8, 8) standardised, y int64 (n,)."""
    data = load_digits()
    x = torch.tensor(data.images[:NUM_IMAGES], dtype=torch.float32).unsqueeze(1) / 16.0
    x = (x - x.mean()) / x.std()
    return x, torch.tensor(data.target[:NUM_IMAGES], dtype=torch.int64)


@pytest.fixture
def model() -> torch.nn.Module:
    torch.manual_seed(0)
    return model_zoo.get_model("digits_cnn").eval()


def _batches(x: torch.Tensor, y: torch.Tensor, size: int) -> list:
    idx = torch.arange(len(y))
    return [(x[i : i + size], y[i : i + size], idx[i : i + size]) for i in range(0, len(y), size)]


@pytest.fixture(scope="session")
def make_batches():
    """make_batches(x, y, size): (x, y, idx) batches in order, the way a DataSplit serves them."""
    return _batches


@pytest.fixture(scope="session")
def forward_all():
    """forward_all(model, x): pooled activations H (n, N) and the raw layer outputs, from
    one plain forward pass over all of x (the brute-force reference)."""

    def run(model: torch.nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, dict]:
        with torch.no_grad(), ActivationProbe(model, model.probed_layers, keep_maps=True) as probe:
            model(x)
        return probe.pooled(), probe.maps()

    return run

"""A model whose class k's logit reads channel k of one layer and nothing else, and a
held-out split of images whose class is in which channel is bright."""

import numpy as np
import pytest
import torch
from torch import nn

from backend.data.memory import ArraySplit
from backend.semantic.neurons import neuron_index

CLASSES = 3
PER_CLASS = 20


class OneChannelPerClass(nn.Module):
    """logit_k = 10 · mean of channel k after a 1×1 identity conv and a ReLU."""

    def __init__(self):
        super().__init__()
        self.features = nn.Conv2d(CLASSES, CLASSES, 1, bias=False)
        self.relu = nn.ReLU()
        self.head = nn.Linear(CLASSES, CLASSES, bias=False)
        with torch.no_grad():
            self.features.weight.copy_(torch.eye(CLASSES).view(CLASSES, CLASSES, 1, 1))
            self.head.weight.copy_(10 * torch.eye(CLASSES))

    def forward(self, x):
        return self.head(self.relu(self.features(x)).mean(dim=(2, 3)))


@pytest.fixture
def channel_model() -> nn.Module:
    return OneChannelPerClass().eval()


@pytest.fixture
def channel_split() -> ArraySplit:
    """Images of class k: channel k about 1, the others about 0.25 (4×4, 20 per class)."""
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(CLASSES), PER_CLASS)
    pixels = rng.uniform(0.1, 0.4, size=(len(labels), CLASSES, 4, 4)).astype(np.float32)
    for i, k in enumerate(labels):
        pixels[i, k] = rng.uniform(0.8, 1.2, size=(4, 4))
    raw = (np.clip(pixels.transpose(0, 2, 3, 1), 0, 1) * 255).astype(np.uint8)
    return ArraySplit(
        raw=raw,
        positions=np.arange(len(labels)),
        pool_labels=torch.as_tensor(labels),
        pixels=torch.as_tensor(pixels),
        name="channels",
        split="test",
        classes=[f"c{k}" for k in range(CLASSES)],
        in_channels=CLASSES,
        image_size=4,
        mean=[0.0] * CLASSES,
        std=[1.0] * CLASSES,
        augment=lambda x, _generator: x,
    )


@pytest.fixture
def channel_index(channel_model):
    return neuron_index(channel_model, ["features", "head"], torch.zeros(1, CLASSES, 4, 4))

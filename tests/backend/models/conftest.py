"""A user's own model file, with module names unlike any in semvec, and real photos."""

from pathlib import Path

import pytest

from tests.photos import photo_folder

USER_MODEL = '''
"""Someone's own small classifier: nothing of it is in semvec."""
import torch
from torch import nn


class Trunk(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.mix = nn.Conv2d(cin, cout, 3, padding=1)
        self.norm = nn.BatchNorm2d(cout)

    def forward(self, x):
        return torch.relu(self.norm(self.mix(x)))


class PetalNet(nn.Module):
    def __init__(self, classes):
        super().__init__()
        self.towers = nn.ModuleList([Trunk(3, 12), Trunk(12, 20), Trunk(20, 24)])
        self.decide = nn.Linear(24, classes)

    def forward(self, x):
        for tower in self.towers:
            x = nn.functional.max_pool2d(tower(x), 2)
        return self.decide(x.mean(dim=(2, 3)))


def make_petalnet(num_classes=2):
    torch.manual_seed(0)
    return PetalNet(num_classes)
'''


@pytest.fixture
def user_model_file(tmp_path) -> Path:
    path = tmp_path / "code" / "petal_net.py"
    path.parent.mkdir()
    path.write_text(USER_MODEL)
    return path


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    return photo_folder(tmp_path_factory.mktemp("photos"), per_class=12)

"""Shared fixtures: a real digits run, trained briefly inside the test session."""

import os
from pathlib import Path

import pytest
import torch

torch.set_num_threads(2)


@pytest.fixture(scope="session")
def semvec_home(tmp_path_factory) -> Path:
    """A data home for the whole session (SEMVEC_HOME points at it)."""
    home = tmp_path_factory.mktemp("semvec-home")
    os.environ["SEMVEC_HOME"] = str(home)
    return home


@pytest.fixture(scope="session")
def digits_run(semvec_home):
    """A digits_cnn run trained for a few epochs with alignment (about 10 s on 2 cores)."""
    from backend.services.vectors import train_run
    from backend.training.config import AlignConfig, TrainConfig

    cfg = TrainConfig(epochs=4, device="cpu", align=AlignConfig(steps=150))
    return train_run(cfg, name="digits-fixture", home=semvec_home)

"""Shared fixtures: a real digits run, trained briefly inside the test session."""

import os
import subprocess
import sys
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


@pytest.fixture(scope="session")
def quickstart_home(tmp_path_factory) -> Path:
    """A data home holding `digits-default`, made by the real `semvec quickstart` (shipped
    checkpoint, analysis, PCA and UMAP maps). Copy it before starting jobs in it."""
    home = tmp_path_factory.mktemp("quickstart")
    subprocess.run(
        [sys.executable, "-m", "backend.cli", "quickstart"],
        env={**os.environ, "SEMVEC_HOME": str(home)},
        check=True,
        capture_output=True,
        timeout=600,
    )
    return home

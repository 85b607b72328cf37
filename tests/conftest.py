"""Shared fixtures (a real digits run, trained briefly inside the test session; the real
quickstart's data home) and helpers: the `semvec` command line in a subprocess, and a
job runner ticked until a job gets somewhere."""

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
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
    run_semvec(home, "quickstart")
    return home


@pytest.fixture(scope="session")
def quickstart_copy(quickstart_home, tmp_path_factory) -> Callable[[str], Path]:
    """`quickstart_copy(name)`: a fresh copy of `quickstart_home` (a module's own server
    and jobs write in it, never in the shared one)."""

    def copy(name: str) -> Path:
        home = tmp_path_factory.mktemp(name)
        shutil.copytree(quickstart_home, home, dirs_exist_ok=True)
        return home

    return copy


def run_semvec(home, *args: str, expect: int = 0, timeout: float = 600):
    """`semvec ARGS` run as a user would, in a subprocess with its own data home `home`;
    fails the test, showing what it printed, unless it exits with status `expect`."""
    proc = subprocess.run(
        [sys.executable, "-m", "backend.cli", *args],
        env={**os.environ, "SEMVEC_HOME": str(home), "OMP_NUM_THREADS": "2"},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == expect, proc.stdout + proc.stderr
    return proc


def tick_until(runner, done: Callable[[], bool], timeout: float = 180, what=lambda: "") -> None:
    """Tick a job `Runner` (as the server's loop does) until `done()`; after `timeout` s
    fails, saying `what()`."""
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"still waiting after {timeout:.0f} s: {what()}"
        runner.tick()
        time.sleep(0.05)


def run_until(runner, job_id: int, states, timeout: float = 180):
    """Tick `runner` until job `job_id` is in one of `states`; the job."""
    tick_until(
        runner,
        lambda: runner.store.get(job_id).state in states,
        timeout,
        lambda: f"job {job_id} is {runner.store.get(job_id).state}, not in {sorted(states)}",
    )
    return runner.store.get(job_id)


@pytest.fixture(scope="session")
def photo_runs(tmp_path_factory) -> dict:
    """A data home with two runs on real photos (tests/photos.py): `photos-labelled`, a
    digits_cnn trained briefly on class folders, and `photos-flat`, that model aligned on
    a flat folder of photos without labels; both analysed, with a PCA map."""
    from backend.services.analysis import analyze_run
    from backend.services.projection import project_run
    from backend.services.vectors import align_run, train_run
    from backend.training.config import AlignConfig, DataConfig, PostHocConfig, TrainConfig
    from tests.photos import photo_folder

    home = tmp_path_factory.mktemp("photos-home")
    labelled, flat = home / "datasets" / "labelled", home / "datasets" / "flat"
    photo_folder(labelled, per_class=20, sizes=((96, 80), (120, 90), (70, 140)))
    photo_folder(flat, per_class=16, flat=True, sizes=((96, 80), (120, 90), (70, 140)))

    def finish(run) -> None:
        analyze_run(run, device="cpu")
        project_run(run, "pca", {})

    data = DataConfig(name="imagefolder", root=str(labelled), image_size=32)
    cfg = TrainConfig(
        arch="digits_cnn",
        data=data,
        epochs=3,
        batch_size=8,
        device="cpu",
        align=AlignConfig(steps=40, batch_size=16),
    )
    trained = train_run(cfg, name="photos-labelled", home=home, before_commit=finish)
    aligned = align_run(
        PostHocConfig(
            checkpoint=str(trained.folder / "weights.safetensors"),
            arch="digits_cnn",
            arch_kwargs={"num_classes": 2, "in_channels": 3},
            data=DataConfig(name="imagefolder", root=str(flat), image_size=32),
            device="cpu",
            align=AlignConfig(steps=40, batch_size=16),
        ),
        name="photos-flat",
        home=home,
        before_commit=finish,
    )
    return {"home": home, "labelled": trained, "flat": aligned, "flat_root": flat}

import os
import signal
import subprocess
import sys
import textwrap

import pytest
import torch

from backend.core.errors import RunNotFoundError, SemvecError
from backend.runs.store import RunMeta, RunStore

BAD_NAMES = ["../escape", "/abs/path", "a/b", "a\\b", ".hidden", ".", "..", "a..b", "", "x" * 81]
BAD_NAMES += ["nul\0byte", "newline\n", "tab\tname", "spa ce"]


@pytest.mark.parametrize("bad", BAD_NAMES)
def test_bad_run_names_are_rejected(tmp_path, bad):
    store = RunStore(tmp_path)
    for use in (store.writer, store.open, store.ensure_free):
        with pytest.raises(SemvecError, match="invalid run name"):
            use(bad)
    assert not store.runs_dir.exists() or list(store.runs_dir.iterdir()) == []


def test_a_link_in_runs_is_never_followed(tmp_path, digits_run):
    """A symbolic link planted in runs/ (here to a real run outside the home) is not a run:
    it is not listed, not opened, and no run is written through it."""
    store = RunStore(tmp_path / "home")
    store.runs_dir.mkdir(parents=True)
    (store.runs_dir / "planted").symlink_to(digits_run.folder, target_is_directory=True)
    (store.runs_dir / "dangling").symlink_to(tmp_path / "nowhere", target_is_directory=True)
    before = sorted(p.name for p in digits_run.folder.iterdir())
    assert store.ids() == []
    with pytest.raises(SemvecError, match="symbolic link"):
        store.open("planted")
    for name in ("planted", "dangling"):
        with pytest.raises(SemvecError, match="already exists"):
            store.writer(name)
    assert sorted(p.name for p in digits_run.folder.iterdir()) == before
    assert not (tmp_path / "nowhere").exists()


def test_failure_leaves_no_half_made_run(tmp_path):
    store = RunStore(tmp_path)
    with pytest.raises(RuntimeError), store.writer("half") as writer:
        writer.write_vectors(torch.zeros(3, 4))
        raise RuntimeError("crash in the middle")
    assert store.ids() == []
    assert list(store.runs_dir.iterdir()) == []


def _meta(run_id: str) -> RunMeta:
    return RunMeta(
        id=run_id, kind="train", arch="a", dataset={}, layers=[], logit_layer="fc", vector_dim=4
    )


def test_analysis_before_commit_sees_the_hidden_run(tmp_path):
    store = RunStore(tmp_path)
    with store.writer("done") as writer:
        writer.write_meta(_meta("done"))
        seen = writer.preview()
        assert seen.id == "done" and seen.folder.name.startswith(".partial-done-")
        assert store.ids() == []
        writer.commit()
    assert store.ids() == ["done"]
    assert sorted(p.name for p in store.runs_dir.iterdir()) == ["done"]  # no lock file left


WRITE_THEN_DIE = """
import os, signal, sys, torch
from backend.runs.store import RunStore
writer = RunStore(sys.argv[1]).writer("killed")
writer.write_vectors(torch.zeros(3, 4))
print(writer.folder.name, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_killed_writers_folder_is_hidden_then_removed(tmp_path):
    store = RunStore(tmp_path)
    died = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(WRITE_THEN_DIE), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert died.returncode == -signal.SIGKILL, died.stderr
    left = died.stdout.strip()
    assert (store.runs_dir / left).is_dir() and store.ids() == []
    with store.writer("alive") as alive:  # a live writer's folder is never taken
        alive.write_meta(_meta("alive"))
        assert store.clean_leftovers() == []
        assert alive.folder.is_dir() and not (store.runs_dir / left).exists()
        alive.commit()
    assert sorted(os.listdir(store.runs_dir)) == ["alive"]
    assert store.open("alive").id == "alive"


def test_missing_run_lists_the_known_ones(digits_run):
    store = RunStore(digits_run.folder.parent.parent)
    with pytest.raises(RunNotFoundError, match="digits-fixture"):
        store.open("no-such-run")


def test_run_folder_is_enough_to_rebuild_the_model(digits_run):
    from backend.data import DataSpec, load_split

    meta = digits_run.meta
    assert meta.arch == "digits_cnn" and meta.kind == "train"
    assert [layer["path"] for layer in meta.layers] == ["conv1", "conv2", "conv3", "fc"]
    model = digits_run.build_model()
    x, y, _ = next(iter(load_split(DataSpec(**meta.dataset), "test").batches(359)))
    accuracy = (model(x).argmax(1) == y).float().mean().item()
    assert accuracy == pytest.approx(digits_run.metrics()["test_accuracy"], abs=1e-6)
    assert digits_run.vectors().shape == (234, 64)
    q = digits_run.per_neuron_quality()
    assert q["r"].shape == (234,) and q["precision"].shape == (234,)

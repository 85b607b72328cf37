import pytest
import torch

from backend.core.errors import RunNotFoundError, SemvecError
from backend.runs.store import RunStore


@pytest.mark.parametrize("bad", ["../escape", "/abs/path", "a/b", ".hidden", "", "x" * 81])
def test_bad_run_names_are_rejected(tmp_path, bad):
    with pytest.raises(SemvecError, match="invalid run name"):
        RunStore(tmp_path).writer(bad)


def test_failure_leaves_no_half_made_run(tmp_path):
    store = RunStore(tmp_path)
    with pytest.raises(RuntimeError), store.writer("half") as writer:
        writer.write_vectors(torch.zeros(3, 4))
        raise RuntimeError("crash in the middle")
    assert store.ids() == []
    assert list(store.runs_dir.iterdir()) == []


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

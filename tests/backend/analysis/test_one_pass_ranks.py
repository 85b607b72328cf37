"""The one pass shared by torchrun's ranks (`semvec align --gpus 2`, two gloo CPU ranks)
against the same run made in one process: the same quality, top images with their maps,
class means and predictions, to float tolerance."""

import functools
from pathlib import Path

import pytest
import torch

import model_zoo
from backend.analysis.result import Analysis
from backend.runs.store import RunStore
from backend.services.vectors import align_run
from backend.training.config import AlignConfig, DataConfig, PostHocConfig
from tests.conftest import run_semvec

CHECKPOINT = Path(model_zoo.__file__).parent / "checkpoints" / "digits_cnn.safetensors"
STEPS = 20


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> tuple:
    """(one process's run, two ranks' run) of the shipped digits CNN on the digits."""
    home = tmp_path_factory.mktemp("home")
    semvec = functools.partial(run_semvec, home)
    semvec(
        "align",
        "--arch",
        "digits_cnn",
        "--checkpoint",
        str(CHECKPOINT),
        "--device",
        "cpu",
        "--align-steps",
        str(STEPS),
        "--no-analyze",
        "--name",
        "two",
        "--gpus",
        "2",
    )
    cfg = PostHocConfig(
        arch="digits_cnn",
        checkpoint=str(CHECKPOINT),
        data=DataConfig(name="digits"),
        device="cpu",
        align=AlignConfig(steps=STEPS),
    )
    align_run(cfg, name="one", home=home)
    store = RunStore(home)
    return store.open("one"), store.open("two")


def test_two_ranks_give_the_quality_of_one_process(runs):
    one, two = (run.metrics()["quality"] for run in runs)
    for key in ("r", "precision_at_10", "live_neurons", "num_images"):
        assert two[key] == pytest.approx(one[key], abs=1e-5), key
    for reference in ("ceiling", "bound"):
        for key in ("r", "precision_at_10"):
            assert two[reference][key] == pytest.approx(one[reference][key], abs=1e-5)
    assert runs[1].metrics()["test_accuracy"] == runs[0].metrics()["test_accuracy"]


def test_two_ranks_give_the_top_images_and_class_means_of_one_process(runs):
    one, two = (Analysis.load(run.folder) for run in runs)
    assert two.num_images == one.num_images == 1797
    torch.testing.assert_close(two.top_values, one.top_values)
    assert torch.equal(two.top_indices, one.top_indices)
    assert two.top_maps.keys() == one.top_maps.keys()
    for path, maps in one.top_maps.items():
        assert torch.equal(two.top_maps[path], maps), path
    assert torch.equal(two.class_counts, one.class_counts)
    torch.testing.assert_close(two.class_means, one.class_means, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(two.mean, one.mean)
    torch.testing.assert_close(two.std, one.std)
    torch.testing.assert_close(two.selectivity, one.selectivity, rtol=1e-5, atol=1e-5)
    assert torch.equal(two.dominant_class, one.dominant_class)
    torch.testing.assert_close(two.bottom_values, one.bottom_values)
    for name in ("image_labels", "predictions"):
        assert torch.equal(getattr(two, name), getattr(one, name)), name
    torch.testing.assert_close(two.confidence, one.confidence)


def test_two_ranks_count_every_image_once_in_histograms_and_samples(runs):
    two = Analysis.load(runs[1].folder)
    # The ranks agreed on the ranges, so their counts add up: each neuron's row holds
    # every image once, within its (finite, growing) range.
    assert (two.hist_counts.sum(dim=1) == 1797).all()
    assert torch.isfinite(two.hist_lo).all() and (two.hist_hi > two.hist_lo).all()
    ids = two.random_indices.tolist()
    assert len(ids) == len(set(ids)) == 4 and all(0 <= i < 1797 for i in ids)
    assert sorted(p.name for p in runs[1].folder.iterdir()) == sorted(
        p.name for p in runs[0].folder.iterdir()
    )


def test_a_user_error_on_the_ranks_is_their_line_not_a_launcher_traceback(tmp_path):
    proc = run_semvec(
        tmp_path / "home",
        "align",
        "--arch",
        "digits_cnn",
        "--checkpoint",
        str(tmp_path / "missing.safetensors"),
        "--gpus",
        "2",
        expect=2,
    )
    assert "missing.safetensors does not exist" in proc.stderr
    assert "Traceback" not in proc.stderr and "ChildFailedError" not in proc.stderr

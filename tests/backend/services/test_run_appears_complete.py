"""A run appears only once its analysis and first map are done; a crash in them leaves
no run. Real training on digits, real analysis."""

import os

import pytest

from backend.runs.store import RunStore
from backend.services.analysis import analyze_run
from backend.services.projection import project_run
from backend.services.vectors import train_run
from backend.training.config import AlignConfig, TrainConfig

CFG = TrainConfig(arch="digits_cnn_small", epochs=1, device="cpu", align=AlignConfig(steps=10))


def test_analysis_is_done_before_the_run_appears(tmp_path):
    store = RunStore(tmp_path)
    seen = []

    def finish(run) -> None:
        seen.append((run.id, run.folder.name, store.ids()))
        analyze_run(run, device="cpu")
        project_run(run, "pca")

    run = train_run(CFG, name="whole", home=tmp_path, before_commit=finish)
    assert seen[0][0] == "whole" and seen[0][1].startswith(".partial-") and seen[0][2] == []
    assert (run.folder / "analysis.json").exists() and list(run.projections_dir.glob("pca-*"))
    assert run.metrics()["analysis"]["num_images"] == 1797
    assert os.listdir(store.runs_dir) == ["whole"]


def test_a_crash_in_analysis_leaves_no_run(tmp_path):
    def finish(run) -> None:
        analyze_run(run, device="cpu")
        assert (run.folder / "analysis.json").exists()
        raise RuntimeError("the map could not be drawn")

    with pytest.raises(RuntimeError, match="could not be drawn"):
        train_run(CFG, name="crashed", home=tmp_path, before_commit=finish)
    store = RunStore(tmp_path)
    assert store.ids() == [] and os.listdir(store.runs_dir) == []
    train_run(CFG, name="crashed", home=tmp_path)  # and the name is free again
    assert store.ids() == ["crashed"]

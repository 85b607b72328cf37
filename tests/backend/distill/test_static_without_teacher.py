"""`static` and `static_corr` train from the knowledge file alone (`static_free` from
nothing of the teacher but its dataset's name): the teacher model is never built, loaded or
run. Every way to reach the teacher is made to fail, and its forward passes are counted;
the same trap catches `kd`, which shows that the trap works."""

import shutil

import pytest
import torch

import model_zoo
from backend.core.errors import RunNotFoundError
from backend.distill.config import DistillConfig
from backend.distill.knowledge import export_knowledge, load_knowledge
from backend.runs import checkpoint as run_checkpoint
from backend.runs import store as run_store
from backend.runs.store import RunStore
from backend.services.distill import distill_run
from model_zoo.digits_cnn import DigitsCNN


class TeacherTouched(AssertionError):
    pass


@pytest.fixture
def trap(monkeypatch):
    """Fail on any attempt to build, load or run the teacher (digits_cnn, 32-64-128)."""
    forwards = {"teacher": 0, "student": 0}
    real_get_model, real_forward = model_zoo.get_model, DigitsCNN.forward

    def get_model(name, **kwargs):
        if name == "digits_cnn":
            raise TeacherTouched(f"built the teacher architecture {name}")
        return real_get_model(name, **kwargs)

    def forward(self, x):
        forwards["teacher" if self.conv1[0].out_channels == 32 else "student"] += 1
        return real_forward(self, x)

    def refuse(*_a, **_k):
        raise TeacherTouched("read weights")

    monkeypatch.setattr(model_zoo, "get_model", get_model)
    monkeypatch.setattr(DigitsCNN, "forward", forward)
    monkeypatch.setattr(run_store.Run, "build_model", refuse)
    monkeypatch.setattr(run_store, "read_state_dict", refuse)
    monkeypatch.setattr(run_checkpoint, "read_state_dict", refuse)
    monkeypatch.setattr(torch, "load", refuse)
    return forwards


def _cfg(**kw) -> DistillConfig:
    base = {"epochs": 3, "train_size": 200, "device": "cpu", "align": {"steps": 20}}
    return DistillConfig.model_validate(base | kw)


@pytest.mark.parametrize("method", ["static", "static_corr", "static_free"])
def test_static_trains_from_the_file_after_the_teacher_run_is_gone(method, kd_home, tmp_path, trap):
    store = RunStore(kd_home)
    knowledge = export_knowledge(
        store.open("digits-default"), ["conv3"], tmp_path / "elsewhere" / "k.safetensors"
    )
    shutil.rmtree(store.runs_dir / "digits-default")
    cfg = _cfg(knowledge=str(knowledge), method=method)
    run = distill_run(cfg, name="from-file", home=kd_home)
    assert trap["teacher"] == 0 and trap["student"] > 0
    assert run.meta.kind == "distill"
    record = run.metrics()["distill"]
    assert record["method"] == method and record["teacher"] == "digits-default"
    assert not record["teacher_forward"]
    if method != "static_free":  # the twin reads only the file's dataset, not its vectors
        assert record["knowledge"] == str(knowledge) and run.meta.source == str(knowledge)
    assert len(run.metrics()["history"]) == 3
    assert run.vectors().shape == (8 + 16 + 32 + 10, 64)  # the student's own vectors
    assert store.ids() == ["from-file"]


@pytest.mark.parametrize("method", ["static", "static_corr", "static_free"])
def test_static_from_the_teacher_run_reads_only_its_vectors(method, kd_home, trap):
    store = RunStore(kd_home)
    (store.runs_dir / "digits-default" / "weights.safetensors").unlink()
    cfg = _cfg(teacher="digits-default", method=method)
    run = distill_run(cfg, name="from-run", home=kd_home)
    assert trap["teacher"] == 0 and trap["student"] > 0
    if method != "static_free":
        used = load_knowledge(run.metrics()["distill"]["knowledge"])
        assert used.teacher == "digits-default" and used.hint_layers() == []


def test_the_trap_catches_a_method_that_runs_the_teacher(kd_home, trap):
    with pytest.raises(TeacherTouched):
        distill_run(_cfg(teacher="digits-default", method="kd"), name="kd", home=kd_home)
    shutil.rmtree(RunStore(kd_home).runs_dir / "digits-default")
    with pytest.raises(RunNotFoundError):
        distill_run(_cfg(teacher="digits-default", method="static"), name="s", home=kd_home)

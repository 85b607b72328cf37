"""`distill` jobs in real worker processes, driven by a real runner (no mocks)."""

import os
import signal
import time

import pytest

from backend.jobs.runner import Runner
from backend.runs.store import RunStore
from backend.services.jobs import JobConfigError, validate_config
from tests.conftest import run_until, tick_until


@pytest.fixture
def home(kd_home, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    return kd_home


def _job(**kw) -> dict:
    base = {"teacher": "digits-default", "epochs": 3, "train_size": 200, "device": "cpu"}
    return validate_config("distill", base | {"align": {"steps": 20}} | kw)


def test_a_static_job_makes_a_student_run_on_the_map(home):
    runner = Runner(home, slots=1)
    job = runner.store.create("distill", _job(method="static", seed=1, lam=0.5))
    done = run_until(runner, job.id, {"succeeded", "failed"})
    assert done.state == "succeeded", done.error
    assert done.run_id == f"digits_cnn_small-static-s1-job{job.id}" and done.progress == 1.0
    rows = runner.store.metrics(job.id)
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    assert {"epoch", "train_loss", "test_accuracy", "seconds"} <= set(rows[0])
    run = RunStore(home).open(done.run_id)
    assert run.meta.kind == "distill" and run.meta.arch == "digits_cnn_small"
    record = run.metrics()["distill"]
    assert (record["method"], record["seed"], record["teacher"]) == ("static", 1, "digits-default")
    assert (record["lam"], record["train_size"]) == (0.5, 200)
    assert run.metrics()["quality"]["r"] > 0.5  # the student's own vectors, measured
    assert (run.folder / "analysis.json").exists()
    assert any(p.name.startswith("pca") for p in run.projections_dir.iterdir())


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"teacher": "nope"}, "no run named 'nope'"),
        ({"student": "vgg99"}, "unknown architecture 'vgg99'; choose one of: digits_cnn"),
        ({"method": "fitnet"}, "unknown method 'fitnet'; known: ce, ls, tfkd, kd, rkd, sp, static"),
        ({"lam": -1.0}, "lam: Input should be greater than or equal to 0"),
        ({"method": "static", "beta": 20.0}, "beta: Input should be less than or equal to 10"),
        ({"method": "static", "rho": -1.0}, "rho: Input should be greater than or equal to 0"),
        ({"method": "ls", "lam": 1.0}, "must be below 1"),
        ({"hint_layers": ["conv9"]}, "the teacher has no layer 'conv9'; its layers: conv1, conv2"),
        ({"train_size": 20}, "train_size 20 is smaller than one batch (64)"),
    ],
)
def test_bad_configs_are_refused_at_submit_naming_the_choices(home, change, says):
    with pytest.raises(JobConfigError) as err:
        _job(**change)
    assert says in str(err.value)


def test_the_job_interface_the_ui_relies_on(home):
    cfg = _job(method="kd")
    assert cfg["seed"] == 0 and cfg["lam"] is None and cfg["hint_layers"] is None
    assert cfg["name"] is None and cfg["device"] == "cpu" and cfg["gpus"] == 1
    assert _job(train_size=None, hint_layers=["conv3"])["hint_layers"] == ["conv3"]


def test_an_interrupted_kd_job_resumes_and_a_cancel_stops_one(home):
    runner = Runner(home, slots=1)
    job = runner.store.create(
        "distill", _job(method="kd", epochs=40, train_size=400, analyze=False)
    )
    run_until(runner, job.id, {"running"})
    tick_until(runner, lambda: len(runner.store.metrics(job.id)) >= 3, what=lambda: "epoch 3")
    os.killpg(runner.store.get(job.id).worker_pid, signal.SIGKILL)  # the server dies
    runner.workers[job.id].proc.wait()
    runner.workers.clear()
    restarted = Runner(home, slots=1)
    assert restarted.recover() == [job.id]
    restarted.store.requeue(job.id)
    done = run_until(restarted, job.id, {"succeeded", "failed"})
    assert done.state == "succeeded", done.error
    assert [m["epoch"] for m in restarted.store.metrics(job.id)] == list(range(1, 41))
    assert done.attempts == 2
    assert RunStore(home).open(done.run_id).metrics()["test_accuracy"] > 0.9

    long = restarted.store.create("distill", _job(method="static", epochs=5000, analyze=False))
    tick_until(restarted, lambda: restarted.store.metrics(long.id), what=lambda: "an epoch")
    asked = time.monotonic()
    restarted.store.request_cancel(long.id)
    assert run_until(restarted, long.id, {"cancelled", "failed", "succeeded"}).state == "cancelled"
    assert time.monotonic() - asked < 5.0
    assert not (home / "jobs" / str(long.id)).exists()


def test_two_process_ddp_static_job_with_an_adapter(home):
    """torchrun with two CPU ranks (gloo), a method with parameters of its own (the
    adapter): both ranks train to the end, and one run comes out."""
    runner = Runner(home, slots=1)
    config = _job(method="static", hint_layers=["conv3"], train_size=None, epochs=2, gpus=2)
    job = runner.store.create("distill", config | {"analyze": False, "name": "ddp"})
    done = run_until(runner, job.id, {"succeeded", "failed"})
    assert done.state == "succeeded", done.error
    assert [m["epoch"] for m in runner.store.metrics(job.id)] == [1, 2]
    assert RunStore(home).ids() == ["ddp", "digits-default"]

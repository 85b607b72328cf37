"""Jobs in real worker processes, driven by a real runner (no mocks)."""

import os
import signal
import time

import pytest

from backend.jobs.builtin import TrainJob
from backend.jobs.runner import Runner
from tests.conftest import run_until, tick_until


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("SEMVEC_HOME", str(tmp_path))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    return tmp_path


def _train(**kw) -> dict:
    base = {"epochs": 2, "device": "cpu", "align": {"steps": 20}, "analyze": False}
    return TrainJob.model_validate(base | kw).model_dump()


def test_train_job_succeeds_with_metrics_and_a_run(home):
    runner = Runner(home, slots=1)
    job = runner.store.create("train", _train(name="from-job"))
    done = run_until(runner, job.id, {"succeeded", "failed"})
    assert done.state == "succeeded", done.error
    assert done.run_id == "from-job" and (home / "runs" / "from-job" / "run.json").exists()
    epochs = [m["epoch"] for m in runner.store.metrics(job.id)]
    assert epochs == [1, 2]
    assert done.progress == 1.0


def test_failing_job_is_failed_with_the_reason(home):
    runner = Runner(home, slots=1)
    job = runner.store.create("train", _train() | {"layers": ["conv9"]})
    done = run_until(runner, job.id, {"succeeded", "failed"})
    assert done.state == "failed"
    assert "unknown layer 'conv9'" in done.error
    assert done.traceback and "Traceback" in done.traceback


def test_cancel_stops_a_running_job_within_5_s(home):
    runner = Runner(home, slots=1)
    job = runner.store.create("train", _train(epochs=200))
    run_until(runner, job.id, {"running"})
    # once an epoch is done: well inside the training loop
    tick_until(runner, lambda: runner.store.metrics(job.id), what=lambda: "the first epoch")
    asked = time.monotonic()
    runner.store.request_cancel(job.id)
    done = run_until(runner, job.id, {"cancelled", "failed", "succeeded"})
    assert done.state == "cancelled"
    assert time.monotonic() - asked < 5.0
    assert not (home / "jobs" / str(job.id)).exists()  # partial output removed
    assert not list((home / "runs").glob(".partial-*"))


def test_killed_worker_frees_its_slot_and_the_next_job_runs(home):
    runner = Runner(home, slots=1)
    first = runner.store.create("train", _train(epochs=200))
    second = runner.store.create("train", _train(name="after-kill"))
    run_until(runner, first.id, {"running"})
    pid = runner.store.get(first.id).worker_pid
    time.sleep(1.0)
    os.kill(pid, signal.SIGKILL)
    dead = run_until(runner, first.id, {"failed"})
    assert "SIGKILL" in dead.error
    done = run_until(runner, second.id, {"succeeded", "failed"})
    assert done.state == "succeeded", done.error


def test_two_jobs_run_at_once_with_two_slots(home):
    runner = Runner(home, slots=2)
    a = runner.store.create("train", _train(epochs=200))
    b = runner.store.create("train", _train(epochs=200))
    run_until(runner, a.id, {"running"})
    run_until(runner, b.id, {"running"})
    assert len(runner.workers) == 2
    runner.store.request_cancel(a.id)
    runner.store.request_cancel(b.id)
    run_until(runner, a.id, {"cancelled"})
    run_until(runner, b.id, {"cancelled"})


def test_interrupted_training_resumes_to_the_same_result(home):
    runner = Runner(home, slots=1)
    job = runner.store.create("train", _train(epochs=6, name="resumed"))
    run_until(runner, job.id, {"running"})
    tick_until(runner, lambda: len(runner.store.metrics(job.id)) >= 3, what=lambda: "epoch 3")
    # the server dies: its worker goes with it, the job is left `running`
    os.killpg(runner.store.get(job.id).worker_pid, signal.SIGKILL)
    runner.workers[job.id].proc.wait()
    runner.workers.clear()
    restarted = Runner(home, slots=1)
    assert restarted.recover() == [job.id]
    assert restarted.store.get(job.id).state == "interrupted"
    restarted.store.requeue(job.id)
    done = run_until(restarted, job.id, {"succeeded", "failed"})
    assert done.state == "succeeded", done.error
    epochs = [m["epoch"] for m in restarted.store.metrics(job.id)]
    assert epochs == [1, 2, 3, 4, 5, 6]  # every epoch once, none lost
    assert done.attempts == 2


def test_two_process_ddp_job_on_gloo_shares_the_data(home):
    """torchrun with two CPU ranks: disjoint data per rank, one checkpoint, one run."""
    runner = Runner(home, slots=1)
    job = runner.store.create("train", _train(epochs=3, gpus=2, name="ddp"))
    run_until(runner, job.id, {"running"})
    tick_until(runner, lambda: runner.store.metrics(job.id), what=lambda: "the first epoch")
    files = sorted(p.name for p in (home / "jobs" / str(job.id)).iterdir())
    assert files == ["epoch-checkpoint.pt"]  # rank 0 alone writes it
    done = run_until(runner, job.id, {"succeeded", "failed"})
    assert done.state == "succeeded", done.error
    metrics = runner.store.metrics(job.id)
    assert [m["epoch"] for m in metrics] == [1, 2, 3]
    for m in metrics:
        first, second = m["images_per_rank"]
        assert first == second > 0  # the same number of steps on both ranks
        assert m["index_sum_per_rank"][0] != m["index_sum_per_rank"][1]  # different images
    assert [p.name for p in (home / "runs").iterdir()] == ["ddp"]

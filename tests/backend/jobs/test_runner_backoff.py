"""A runner whose jobs.db is damaged while a job starts (its header overwritten): the
worker cannot record its outcome and dies; the runner does not count it as running, says
why jobs.db cannot be used, backs off with a line per longer wait, and stops cleanly."""

import time

import pytest

from backend.jobs.backoff import Backoff
from backend.jobs.builtin import TrainJob
from backend.jobs.runner import Runner
from tests.backend.api.test_damaged_store_api import damage


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("SEMVEC_HOME", str(tmp_path))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    return tmp_path


def test_a_worker_cut_off_by_a_damaged_store_is_not_counted_and_the_runner_backs_off(home, capfd):
    runner = Runner(home, slots=1).start()
    try:
        config = TrainJob.model_validate({"epochs": 1, "device": "cpu", "analyze": False})
        job = runner.store.create("train", config.model_dump())
        deadline = time.monotonic() + 60
        while not runner.workers:
            assert time.monotonic() < deadline, "the runner started no worker"
            time.sleep(0.02)
        damage(home / "jobs.db")  # the worker, still importing, finds it damaged
        damaged_at = time.monotonic()
        while runner.running():
            assert time.monotonic() < damaged_at + 60, "the worker lives on"
            time.sleep(0.1)
        assert job.id in runner.workers  # its outcome cannot be written: still listed
        trouble = runner.store_trouble()
        assert trouble and "jobs.db in the data home is damaged" in trouble
        time.sleep(max(0.0, damaged_at + 3.0 - time.monotonic()))
    finally:
        runner.stop()  # cannot mark the job interrupted: a line, no exception
    lines = [ln for ln in capfd.readouterr().err.splitlines() if ln.startswith("semvec runner")]
    # A line per longer wait (0.2, 0.4, ... 10 s: 7 at most) and the stop's; before, five a
    # second: 15 or more in the 3 s or more this test watches.
    assert 2 <= len(lines) <= 8, lines
    assert "damaged" in lines[0] and "trying again in 0.2 s" in lines[0], lines


def test_the_wait_doubles_to_the_cap_with_a_line_per_step():
    backoff = Backoff(0.2, cap_s=1.0)
    tries = [backoff.failed("jobs.db is damaged") for _ in range(6)]
    assert [wait for wait, _ in tries] == [0.2, 0.4, 0.8, 1.0, 1.0, 1.0]
    assert [line is not None for _, line in tries] == [True, True, True, True, False, False]
    assert tries[3][1].endswith("then every 1 s until it works")
    assert backoff.failed("another reason")[1].startswith("another reason")
    assert backoff.succeeded() == "working again" and backoff.succeeded() is None
    assert backoff.failed("jobs.db is damaged")[0] == 0.2

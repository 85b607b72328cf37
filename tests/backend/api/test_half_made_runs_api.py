"""No half-made run, whatever stops a job while its run is written: an error, a cancel, or
a SIGKILL of the worker. Real server, real training on digits, real processes."""

import os
import signal
import sqlite3
import time

import numpy as np
from PIL import Image
from sklearn.datasets import load_digits

from tests.backend.api.conftest import Server, wait_for_job

QUICK = {
    "arch": "digits_cnn_small",
    "epochs": 1,
    "batch_size": 64,
    "device": "cpu",
    "amp": False,
    "analyze": True,
}
# Settling steps enough for minutes: the test stops the job while the run is written.
ENDLESS = QUICK | {"align": {"steps": 1_000_000}}


def _run_ids(client) -> list[str]:
    return [run["id"] for run in client.get("/api/runs").json()["data"]]


def _entries(home) -> list[str]:
    runs = home / "runs"
    return sorted(os.listdir(runs)) if runs.exists() else []


def _start_writing(client, home, name: str, timeout: float = 120) -> tuple[dict, str]:
    """Start an ENDLESS train job; once its run is being written: the job and the name of
    the hidden folder it writes the run into."""
    job = client.post("/api/jobs", json={"kind": "train", "config": ENDLESS | {"name": name}})
    assert job.status_code == 201, job.text
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        hidden = [entry for entry in _entries(home) if not entry.endswith(".lock")]
        if hidden:
            return job.json(), hidden[0]
        time.sleep(0.05)
    raise AssertionError("no run folder appeared")


def _image_folder(root, per_class: int = 20) -> None:
    """Three classes of real handwritten digits as small PNGs."""
    digits = load_digits()
    for label in range(3):
        folder = root / str(label)
        folder.mkdir(parents=True)
        images = digits.images[digits.target == label][:per_class]
        for i, image in enumerate(images):
            pixels = (image * 255 / 16).astype(np.uint8)
            Image.fromarray(pixels).convert("RGB").save(folder / f"{i}.png")


def test_an_error_while_the_run_is_written_leaves_nothing(tmp_path):
    """An image of the test split vanishes once the run is being written (a photo that
    is there but does not decode is replaced, not fatal): training ran, the vectors
    settle, then the quality pass on held-out data fails inside the run's writing."""
    from backend.data.image_folder import _split_samples

    root = tmp_path / "datasets" / "three"
    _image_folder(root)
    _, splits, _, _ = _split_samples(root, seed=0, split="test")
    vanishing = splits["test"][0][0]
    data = {"name": "imagefolder", "root": str(root), "image_size": 8}
    align = {"steps": 2000, "batch_size": 16}  # the settling the removal lands in
    config = QUICK | {"data": data, "name": "broken", "batch_size": 16, "align": align}
    with Server(tmp_path) as server, server.client() as client:
        job = client.post("/api/jobs", json={"kind": "train", "config": config}).json()
        deadline = time.monotonic() + 120
        while not [entry for entry in _entries(tmp_path) if not entry.endswith(".lock")]:
            assert time.monotonic() < deadline, "no run folder appeared"
            time.sleep(0.02)
        os.remove(vanishing)
        job = wait_for_job(client, job["id"], {"succeeded", "failed"})
        assert job["state"] == "failed" and "cannot read image" in job["error"], job["error"]
        assert client.get(f"/api/jobs/{job['id']}/metrics").json()["count"] == 1  # it trained
        assert _run_ids(client) == []
        assert client.get("/api/runs/broken").status_code == 404
    assert _entries(tmp_path) == []


def test_a_cancel_while_the_run_is_written_leaves_nothing(tmp_path):
    with Server(tmp_path) as server, server.client() as client:
        job, hidden = _start_writing(client, tmp_path, "cancelled")
        assert hidden.startswith(".partial-cancelled-")
        assert client.delete(f"/api/jobs/{job['id']}").status_code == 200
        job = wait_for_job(client, job["id"], {"cancelled", "failed", "succeeded"}, timeout=60)
        assert job["state"] == "cancelled"
        assert _run_ids(client) == []
        assert _entries(tmp_path) == []


def test_a_killed_worker_leaves_a_hidden_folder_that_the_next_start_removes(tmp_path):
    with Server(tmp_path) as server, server.client() as client:
        job, hidden = _start_writing(client, tmp_path, "killed")
        with sqlite3.connect(tmp_path / "jobs.db") as db:
            (pid,) = db.execute("SELECT worker_pid FROM jobs WHERE id = ?", (job["id"],)).fetchone()
        os.kill(pid, signal.SIGKILL)
        job = wait_for_job(client, job["id"], {"failed", "succeeded"}, timeout=60)
        assert job["state"] == "failed" and "SIGKILL" in job["error"], job["error"]
        assert _run_ids(client) == [] and client.get("/api/runs/killed").status_code == 404
        assert hidden.startswith(".") and hidden in _entries(tmp_path)  # hidden, not a run
    with Server(tmp_path) as server, server.client() as client:
        assert _entries(tmp_path) == []  # removed at start
        config = QUICK | {"name": "killed", "align": {"steps": 20}, "analyze": False}
        job = client.post("/api/jobs", json={"kind": "train", "config": config}).json()
        job = wait_for_job(client, job["id"], {"failed", "succeeded"})
        assert job["state"] == "succeeded", job["error"]  # the name was not left taken
        assert _run_ids(client) == ["killed"] and _entries(tmp_path) == ["killed"]

"""Uploading a checkpoint to align post hoc: checked, size-limited, never unpickled."""

import io
import pickle

import pytest
import torch
from safetensors.torch import load_file, save

import model_zoo
from tests.backend.api.conftest import Server, wait_for_job
from tests.backend.runs.test_checkpoint import WritesAFile


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("uploads"), SEMVEC_MAX_UPLOAD_MB="1").start()
    yield srv
    srv.stop()


def _upload(client, content: bytes, filename: str = "teacher.safetensors"):
    return client.post(
        "/api/checkpoints",
        params={"filename": filename},
        content=content,
        headers={"Content-Type": "application/octet-stream"},
    )


def test_upload_then_align_job_makes_a_run(server):
    model = model_zoo.get_model("digits_cnn_small")
    with server.client() as client:
        response = _upload(client, save(model.state_dict()), "../../etc/my teacher.safetensors")
        assert response.status_code == 201, response.text
        stored = response.json()
        assert stored["parameters"] == sum(t.numel() for t in model.state_dict().values())
        path = server.home / "uploads"
        assert [p.name for p in path.iterdir()] == [stored["checkpoint"].rsplit("/", 1)[1]]
        assert stored["checkpoint"].startswith(str(path)) and "my-teacher" in stored["checkpoint"]
        assert load_file(stored["checkpoint"]).keys() == model.state_dict().keys()
        config = {
            "checkpoint": stored["checkpoint"],
            "arch": "digits_cnn_small",
            "name": "uploaded",
            "align": {"steps": 40},
        }
        job = client.post("/api/jobs", json={"kind": "align", "config": config}).json()
        state = wait_for_job(client, job["id"], {"succeeded", "failed", "cancelled"}, 180)
        assert state["state"] == "succeeded", state["error"]
        run = client.get("/api/runs/uploaded").json()
        assert run["arch"] == "digits_cnn_small" and run["neurons"] == 8 + 16 + 32 + 10


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_hostile_and_broken_uploads_are_refused(server, tmp_path):
    target = tmp_path / "pwned.txt"
    evil = io.BytesIO()
    pickle.dump({"w": torch.zeros(2), "x": WritesAFile(str(target))}, evil)
    good = save({"w": torch.zeros(1000)})
    kept_before = set((server.home / "uploads").iterdir())
    with server.client() as client:
        refused = _upload(client, evil.getvalue(), "evil.pt")
        assert refused.status_code == 422 and "refused" in refused.json()["detail"]
        truncated = _upload(client, good[: len(good) // 2])
        assert truncated.status_code == 422 and "safetensors" in truncated.json()["detail"]
        corrupt = _upload(client, good[:8] + b"{not json at all" + good[24:])
        assert corrupt.status_code == 422 and "not a valid safetensors" in corrupt.json()["detail"]
        empty = _upload(client, b"")
        assert empty.status_code == 422 and "empty" in empty.json()["detail"]
        huge = _upload(client, b"\0" * (2 * 2**20))
        assert huge.status_code == 413 and "1 MB" in huge.json()["detail"]
    assert not target.exists()
    assert set((server.home / "uploads").iterdir()) == kept_before  # nothing half-written kept

"""Uploading a checkpoint to align post hoc: checked, size-limited, never unpickled."""

import io
import json
import pickle
import struct
import threading
import time
import zipfile

import pytest
import torch
from safetensors.torch import load_file, save

import model_zoo
from tests.backend.api.conftest import Server, wait_for_job
from tests.backend.api.memory import cost_of
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
        assert [p.name for p in path.iterdir()] == [stored["checkpoint"]]  # no server path
        assert "my-teacher" in stored["checkpoint"]
        assert load_file(path / stored["checkpoint"]).keys() == model.state_dict().keys()
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


def _torch_file(obj, deflate: bool = False, legacy: bool = False) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf, _use_new_zipfile_serialization=not legacy)
    if not deflate:
        return buf.getvalue()
    packed = io.BytesIO()
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as out:
        for entry in src.infolist():
            out.writestr(entry.filename, src.read(entry))
    return packed.getvalue()


def test_files_that_expand_past_the_limit_are_refused_before_any_copy(server):
    """A few KB that describe far more than the 1 MB limit once copied out: a stride-0
    view (256 MB, or 4 TB), views sharing one storage, a DEFLATE-compressed storage."""
    base = torch.zeros(2**16)  # 256 KB
    cases = {
        "expand.pt": (_torch_file({"w": torch.zeros(1).expand(8000, 8000)}), 422, "overlap"),
        "expand-4tb.pt": (_torch_file({"w": torch.zeros(1).expand(2**20, 2**20)}), 422, "overlap"),
        "views.pt": (_torch_file({f"v{i}": base for i in range(64)}), 413, "1 MB upload limit"),
        "deflate.pt": (_torch_file({"w": torch.zeros(2**22)}, deflate=True), 422, "compressed"),
        # torch's format before 1.6, as many published checkpoints still are
        "old-expand.th": (
            _torch_file({"w": torch.zeros(1).expand(8000, 8000)}, legacy=True),
            422,
            "refused old-expand.th: a tensor of size [8000, 8000] is not plainly laid out",
        ),
        "old-views.th": (
            _torch_file({f"v{i}": base for i in range(64)}, legacy=True),
            413,
            "old-views.th holds 16 MB",
        ),
    }
    kept_before = set((server.home / "uploads").iterdir())
    with server.client() as client:
        for name, (content, status, words) in cases.items():
            assert len(content) < 2**20
            answer = _upload(client, content, name)
            assert answer.status_code == status, (name, answer.text[:300])
            assert words in answer.json()["detail"], answer.json()["detail"]
        plain = _upload(client, _torch_file({"w": torch.randn(4, 5).t(), "b": base[:10]}), "ok.pt")
        assert plain.status_code == 201, plain.text  # a transposed view or a slice is plain
        old = _upload(client, _torch_file({"w": torch.randn(4, 5).t()}, legacy=True), "old.th")
        assert old.status_code == 201, old.text
        assert client.get("/api/health").status_code == 200
    assert len(set((server.home / "uploads").iterdir()) - kept_before) == 2


def _many_tensors(count: int) -> bytes:
    """A safetensors file of `count` one-element tensors, written by hand (quicker than
    making the tensors): 7 bytes of data and ~70 of header each."""
    header, data = {}, b""
    for i in range(count):
        header[f"t{i}"] = {"dtype": "F32", "shape": [1], "data_offsets": [4 * i, 4 * i + 4]}
    data = bytes(4 * count)
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw + data


def test_uploads_of_too_many_tensors_are_refused_from_their_header(tmp_path):
    """100,000 one-element tensors (7 MB, far under the 64 MB limit) once took seconds, a
    gigabyte and stalled the server; 25,000 are over the 20,000-tensor budget too. Each is
    refused with 413 naming the limit, quickly, without growing the server, and
    /api/health answers at once throughout."""
    files = {
        "huge-header.safetensors": _many_tensors(100_000),
        "many.safetensors": _many_tensors(25_000),
        "many.pt": _torch_file({f"layer{i}.w": torch.zeros(1) for i in range(25_000)}),
    }
    waits: list[float] = []
    with Server(tmp_path, SEMVEC_MAX_UPLOAD_MB="64") as srv, srv.client() as client:
        done = threading.Event()

        def poll() -> None:
            with srv.client() as poller:
                while not done.is_set():
                    started = time.monotonic()
                    assert poller.get("/api/health").status_code == 200
                    waits.append(time.monotonic() - started)
                    time.sleep(0.02)

        poller = threading.Thread(target=poll)
        poller.start()
        try:
            for name, content in files.items():
                with cost_of(srv.proc.pid) as cost:
                    answer = _upload(client, content, name)
                assert answer.status_code == 413, (name, answer.text)
                assert "20,000" in answer.json()["detail"], answer.text
                assert "SEMVEC_MAX_UPLOAD_TENSORS" in answer.json()["detail"]
                assert cost.seconds < 5 and cost.grew_mb < 300, (name, cost)
        finally:
            done.set()
            poller.join()
        # A real checkpoint's few tensors still go through.
        assert _upload(client, _many_tensors(1000), "fine.safetensors").status_code == 201
    assert waits and max(waits) < 0.5, f"health waited up to {max(waits):.2f} s"

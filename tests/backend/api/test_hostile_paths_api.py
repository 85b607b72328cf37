"""Run names and server paths that try to leave the data home are refused with a 4xx that
says the rule; a link planted in runs/ is never followed."""

import os
import shutil

import pytest
from safetensors.torch import save

import model_zoo
from tests.backend.api.conftest import Server
from tests.conftest import run_semvec

TEACHER = "digits-fixture"
BAD_NAMES = ["../escape", "/abs/path", "a/b", "a\\b", ".", "..", ".hidden", "", "x" * 200]
BAD_NAMES += ["nul\0byte", "newline\n"]
QUICK = {"arch": "digits_cnn_small", "epochs": 1, "device": "cpu", "analyze": False}


@pytest.fixture(scope="module")
def server(digits_run, tmp_path_factory):
    """A server whose home holds a real run (the session's digits run, copied)."""
    home = tmp_path_factory.mktemp("hostile")
    shutil.copytree(digits_run.folder, home / "runs" / TEACHER)
    srv = Server(home).start()
    yield srv
    srv.stop()


def _job(client, kind: str, config: dict):
    return client.post("/api/jobs", json={"kind": kind, "config": config})


def _encoded(name: str) -> str:
    """Every byte percent-encoded, so the client sends `..` and `/` as they are."""
    return "".join(f"%{byte:02X}" for byte in name.encode())


def _job_count(client) -> int:
    return client.get("/api/jobs").json()["count"]


def _refused(response, *words: str) -> str:
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    for word in words:
        assert word in detail, detail
    return detail


def test_hostile_run_names_are_refused(server):
    with server.client() as client:
        jobs = _job_count(client)
        for bad in BAD_NAMES:
            _refused(_job(client, "train", QUICK | {"name": bad}), "invalid run name")
            _refused(_job(client, "analyze", {"run": bad}), "no run named")
            if bad:  # (/api/runs/ is the list)
                response = client.get(f"/api/runs/{_encoded(bad)}")
                assert 400 <= response.status_code < 500, (bad, response.text)
        assert _job_count(client) == jobs
    assert os.listdir(server.home / "runs") == [TEACHER]
    assert not (server.home.parent / "escape").exists()


def test_a_link_planted_in_runs_is_never_followed(server, tmp_path):
    outside = tmp_path / "outside-run"
    shutil.copytree(server.home / "runs" / TEACHER, outside)  # a real run, outside the home
    before = {p.name: p.stat().st_mtime_ns for p in outside.iterdir()}
    planted = server.home / "runs" / "planted"
    planted.symlink_to(outside, target_is_directory=True)
    try:
        with server.client() as client:
            listed = [run["id"] for run in client.get("/api/runs").json()["data"]]
            assert listed == [TEACHER]
            _refused(client.get("/api/runs/planted"), "symbolic link", "move the run folder")
            _refused(client.get("/api/runs/planted/projection?method=pca"), "symbolic link")
            _refused(client.get(f"/api/runs/{TEACHER}/placement/planted"), "symbolic link")
            _refused(_job(client, "train", QUICK | {"name": "planted"}), "already exists")
            _refused(_job(client, "project", {"run": "planted"}), "no run named")
            _refused(_job(client, "analyze", {"run": "planted"}), "no run named")
    finally:
        planted.unlink()
    assert {p.name: p.stat().st_mtime_ns for p in outside.iterdir()} == before


def test_dataset_roots_must_be_inside_the_home(server, tmp_path):
    home = server.home
    (tmp_path / "photos" / "cat").mkdir(parents=True)
    (home / "datasets").mkdir(exist_ok=True)
    linked = home / "datasets" / "linked"
    linked.symlink_to(tmp_path / "photos", target_is_directory=True)
    roots = ["/etc", str(tmp_path / "photos"), f"{home}/../elsewhere", str(linked), "../.."]
    with server.client() as client:
        jobs = _job_count(client)
        for root in roots:
            data = {"name": "imagefolder", "root": root}
            detail = _refused(_job(client, "train", QUICK | {"data": data}), "dataset root")
            assert "outside" in detail and "semvec train --root" in detail
        mnist = {"name": "mnist", "root": str(tmp_path / "mnist"), "download": True}
        _refused(_job(client, "train", QUICK | {"data": mnist}), "outside")
        align = {"run": TEACHER, "data": {"name": "imagefolder", "root": "/etc"}}
        _refused(_job(client, "align", align), "dataset root")
        assert _job_count(client) == jobs
    assert not (tmp_path / "mnist").exists()


def test_answers_name_paths_relative_to_the_home(server):
    """The data home's absolute path is the server's business: the dataset folders and a
    job's echoed root read `datasets/...`, and a job takes that form back."""
    from PIL import Image

    for label in ("cats", "dogs"):
        (server.home / "datasets" / "pets" / label).mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (8, 8)).save(server.home / "datasets" / "pets" / label / "a.png")
    with server.client() as client:
        folders = client.get("/api/datasets/folders")
        assert folders.json()["folder"] == "datasets", folders.text
        assert [f["path"] for f in folders.json()["data"]] == ["datasets/pets"]
        data = {"name": "imagefolder", "root": folders.json()["data"][0]["path"]}
        created = _job(client, "train", QUICK | {"data": data})
        assert created.status_code == 201, created.text
        client.delete(f"/api/jobs/{created.json()['id']}")
        echoed = client.get(f"/api/jobs/{created.json()['id']}")
    assert echoed.json()["config"]["data"]["root"] == "datasets/pets"
    home = str(server.home.resolve())
    assert home not in folders.text and home not in created.text and home not in echoed.text


def test_checkpoints_must_be_uploads(server, tmp_path):
    outside = tmp_path / "teacher.safetensors"
    outside.write_bytes(save(model_zoo.get_model("digits_cnn_small").state_dict()))
    uploads = server.home / "uploads"
    uploads.mkdir(exist_ok=True)
    (uploads / "linked.safetensors").symlink_to(outside)
    weights = server.home / "runs" / TEACHER / "weights.safetensors"
    paths = ["/etc/passwd", str(outside), str(weights), str(uploads / "linked.safetensors")]
    paths += [f"{uploads}/../runs/{TEACHER}/weights.safetensors"]
    with server.client() as client:
        for path in paths:
            config = {"checkpoint": path, "arch": "digits_cnn_small"}
            _refused(_job(client, "align", config), "checkpoint", "POST /api/checkpoints")
        stored = client.post(
            "/api/checkpoints",
            params={"filename": "t.safetensors"},
            content=outside.read_bytes(),
            headers={"Content-Type": "application/octet-stream"},
        ).json()["checkpoint"]
        bare = stored.rsplit("/", 1)[-1]  # the file name alone names an upload too
        config = {"checkpoint": bare, "arch": "digits_cnn_small", "analyze": False}
        created = _job(client, "align", config | {"align": {"steps": 5}})
        assert created.status_code == 201, created.text
        assert created.json()["config"]["checkpoint"] == f"uploads/{bare}"  # no server path
        client.delete(f"/api/jobs/{created.json()['id']}")


def test_knowledge_files_must_be_inside_the_home(server, tmp_path):
    run_semvec(server.home, "knowledge", TEACHER, timeout=120)
    inside = server.home / "runs" / TEACHER / "knowledge.safetensors"
    outside = tmp_path / "knowledge.safetensors"
    shutil.copy(inside, outside)  # a real knowledge file, but outside the home
    distill = {"teacher": TEACHER, "student": "digits_cnn_small", "epochs": 1, "analyze": False}
    with server.client() as client:
        for path in ("/etc/passwd", str(outside), f"{server.home}/../knowledge.safetensors"):
            detail = _refused(_job(client, "distill", distill | {"knowledge": path}), "outside")
            assert "knowledge file" in detail and "semvec knowledge" in detail
        created = _job(client, "distill", distill | {"knowledge": str(inside)})
        assert created.status_code == 201, created.text
        client.delete(f"/api/jobs/{created.json()['id']}")

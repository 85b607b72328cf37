"""A loaded model as the teacher, through a real server: the test's own model file (offered
through SEMVEC_MODEL_FILES), its checkpoint uploaded, aligned on a folder of real photos
with the model's own preprocessing; then static and KD students trained on that folder, and
what the Distillation tab reads about the teacher and its knowledge file."""

import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch
from safetensors.torch import save

from backend.runs.store import RunStore
from tests.backend.api.conftest import Server, wait_for_job
from tests.backend.models.conftest import USER_MODEL
from tests.photos import photo_folder

MEAN, STD = [0.45, 0.44, 0.41], [0.22, 0.21, 0.23]
DATA = {
    "name": "imagefolder",
    "root": "datasets/photos",
    "image_size": 32,
    "mean": MEAN,
    "std": STD,
}
STUDENT = {"epochs": 2, "batch_size": 16, "device": "cpu", "align": {"steps": 10}}


def _petal_weights() -> bytes:
    scope: dict = {}
    exec(USER_MODEL, scope)
    return save(scope["make_petalnet"]().state_dict())


def petal_home(home: Path) -> str:
    """Photos and the user's model file beside `home`; the reference a server must offer
    (SEMVEC_MODEL_FILES)."""
    photo_folder(home / "datasets" / "photos", per_class=30)
    code = home.parent / f"{home.name}-code" / "petal_net.py"
    code.parent.mkdir()
    code.write_text(USER_MODEL)
    return f"{code}:make_petalnet"


def load_petal(server: Server, ref: str) -> None:
    """`petal`: the user's model loaded from an upload and aligned on the photos, as the
    Runs tab's *Load a model* does it."""
    with server.client() as client:
        stored = client.post(
            "/api/checkpoints",
            params={"filename": "petal.safetensors"},
            content=_petal_weights(),
            headers={"Content-Type": "application/octet-stream"},
        )
        assert stored.status_code == 201, stored.text
        config = {
            "arch": ref,
            "checkpoint": stored.json()["checkpoint"],
            "data": DATA,
            "align": {"steps": 20},
            "device": "cpu",
            "name": "petal",
        }
        job = client.post("/api/jobs", json={"kind": "align", "config": config}).json()
        done = wait_for_job(client, job["id"], {"succeeded", "failed"})
        assert done["state"] == "succeeded", done["error"]


@contextmanager
def petal_server(home: Path) -> Iterator[Server]:
    """A server (two job slots) on `home` once `petal` is loaded there."""
    ref = petal_home(home)
    with Server(home, SEMVEC_MODEL_FILES=ref, SEMVEC_JOB_SLOTS="2") as server:
        load_petal(server, ref)
        yield server


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    with petal_server(tmp_path_factory.mktemp("loaded-teacher")) as server:
        yield server


def test_a_loaded_model_teaches_static_and_kd_students_on_its_photos(loaded):
    teacher = RunStore(loaded.home).open("petal")
    with loaded.client() as client:
        before = client.get("/api/distill/teachers/petal").json()
        assert (before["kind"], before["dataset"], before["logits"]) == ("align", "imagefolder", 2)
        assert before["logits_are_classes"] and before["data_problem"] is None
        assert before["input"] == {"channels": 3, "size": 32} and before["student"] == "resnet8"
        knowledge = before["knowledge"]
        assert knowledge["file"] == "knowledge.safetensors" and not knowledge["exists"]
        assert knowledge["classes"] == ["china", "flower"] and knowledge["vector_dim"] == 64
        assert knowledge["layers"] == [{"path": "decide", "width": 2, "spatial": False}]
        assert not (teacher.folder / "knowledge.safetensors").exists()  # reading wrote nothing
        ids = {}
        for method in ("static", "kd"):
            config = {"teacher": "petal", "method": method, **STUDENT}
            ids[method] = client.post("/api/jobs", json={"kind": "distill", "config": config})
        for method, answer in ids.items():
            assert answer.status_code == 201, answer.text
            done = wait_for_job(client, answer.json()["id"], {"succeeded", "failed"})
            assert done["state"] == "succeeded", f"{method}: {done['error']}"
            student = RunStore(loaded.home).open(done["run_id"])
            # The student learnt from the teacher's folder, read as the teacher reads it.
            assert student.meta.dataset == teacher.meta.dataset
            assert student.meta.dataset["mean"] == MEAN and student.meta.dataset["image_size"] == 32
            record = student.metrics()["distill"]
            assert record["teacher"] == "petal" and record["teacher_forward"] == (method == "kd")
            rows = client.get(f"/api/jobs/{done['id']}/metrics").json()["data"]
            assert [r["epoch"] for r in rows] == [1, 2] and rows[-1]["test_accuracy"] is not None
        after = client.get("/api/distill/teachers/petal").json()["knowledge"]
    made = teacher.folder / "knowledge.safetensors"
    assert after["exists"] and after["bytes"] == made.stat().st_size == knowledge["bytes"]


def test_the_methods_and_their_flags_come_from_the_registry(loaded):
    from backend.distill.registry import get_method, list_methods

    with loaded.client() as client:
        rows = client.get("/api/distill/methods").json()
        missing = client.get("/api/distill/teachers/nope")
    assert [r["name"] for r in rows] == list_methods()
    for row in rows:
        info = get_method(row["name"])
        assert (row["needs_teacher"], row["reads_knowledge"]) == (
            info.needs_teacher,
            info.reads_knowledge,
        )
        assert (row["default_beta"], row["default_rho"]) == (info.default_beta, info.default_rho)
    by_name = {r["name"]: r for r in rows}
    assert by_name["static"]["default_rho"] is not None  # static takes β and ρ, CE does not
    assert by_name["static_free"]["default_beta"] is not None
    assert by_name["ce"]["default_beta"] is None and by_name["kd"]["default_rho"] is None
    assert missing.status_code == 404 and "no run named 'nope'" in missing.json()["detail"]


def test_a_teacher_whose_photos_are_gone_is_refused_at_submit_and_said_so(loaded):
    photos = loaded.home / "datasets" / "photos"
    photos.rename(photos.with_name("moved"))
    try:
        with loaded.client() as client:
            facts = client.get("/api/distill/teachers/petal").json()
            config = {"teacher": "petal", "method": "ce", **STUDENT}
            answer = client.post("/api/jobs", json={"kind": "distill", "config": config})
    finally:
        photos.with_name("moved").rename(photos)
    assert facts["train_images"] is None and "photos" in facts["data_problem"]
    assert answer.status_code == 422
    assert "the teacher's dataset cannot be read" in answer.json()["detail"]
    assert f"{loaded.home}/" not in answer.text + str(facts)  # answers never name the home


def test_a_teacher_with_classes_of_its_own_teaches_only_teacher_free_methods(tmp_path, monkeypatch):
    """A torchvision model with published (ImageNet) weights aligned on two photo classes:
    its 1,000 logits are not the students' 2 classes."""
    import torchvision

    from tests.conftest import run_semvec

    cache = tmp_path / "torch" / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    buffer = io.BytesIO()
    torch.save(torchvision.models.resnet18().state_dict(), buffer)
    (cache / "resnet18-f37072fd.pth").write_bytes(buffer.getvalue())
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    home = tmp_path / "home"
    photos = photo_folder(home / "datasets" / "photos", per_class=12)
    run_semvec(
        home, "align", "--arch", "torchvision:resnet18@IMAGENET1K_V1", "--dataset",
        "imagefolder", "--root", str(photos), "--name", "inet", "--align-steps", "2",
        "--align-batch-size", "8", "--device", "cpu",
    )  # fmt: skip
    with Server(home) as server, server.client() as client:
        facts = client.get("/api/distill/teachers/inet").json()
        answers = {
            method: client.post(
                "/api/jobs",
                json={"kind": "distill", "config": {"teacher": "inet", "method": method}},
            )
            for method in ("kd", "static", "ce")
        }
    assert facts["logits"] == 1000 and not facts["logits_are_classes"]
    for method in ("kd", "static"):
        assert answers[method].status_code == 422
        detail = answers[method].json()["detail"]
        assert "its own 1,000 classes" in detail and "ce, ls, tfkd" in detail
    assert answers["ce"].status_code == 201

"""What the Load-a-model form reads (GET /api/architectures, .../weights, .../layers) on a
real server with published weights in its torch cache, and the server refusing a model
file that a client names but its owner never listed: refused, and never imported."""

import pytest
import torch
import torchvision
from safetensors.torch import save

from tests.backend.api.conftest import Server

RESNET18_FILE = "resnet18-f37072fd.pth"
"""The file name torchvision's ResNet18_Weights.IMAGENET1K_V1 is cached under."""

MARKER_CODE = """
from pathlib import Path
Path(__file__).with_suffix(".imported").write_text("this file ran")
from torch import nn

def build(num_classes=10):
    return nn.Linear(4, num_classes)
"""


@pytest.fixture(scope="module")
def catalog_server(tmp_path_factory):
    """A server whose torch cache holds (random) ResNet-18 weights under their published
    file name, and whose owner lists one model file (not the client's)."""
    root = tmp_path_factory.mktemp("catalog")
    cache = root / "torch" / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    torch.save(torchvision.models.resnet18().state_dict(), cache / RESNET18_FILE)
    listed = root / "owner" / "listed.py"
    listed.parent.mkdir()
    listed.write_text(MARKER_CODE)
    (root / "home").mkdir()
    server = Server(
        root / "home",
        TORCH_HOME=str(root / "torch"),
        SEMVEC_MODEL_FILES=f"{listed}:build",
    )
    server.listed = f"{listed}:build"
    with server:
        yield server


def test_the_architectures_are_listed_by_source(catalog_server):
    with catalog_server.client() as client:
        answer = client.get("/api/architectures")
    assert answer.status_code == 200
    sources = {entry["source"]: entry["names"] for entry in answer.json()}
    assert "digits_cnn" in sources["zoo"] and "resnet56_a" in sources["zoo"]
    assert "resnet18" in sources["torchvision"] and "convnext_tiny" in sources["torchvision"]
    assert sources["file"] == [catalog_server.listed]


def test_published_weights_are_present_only_when_their_file_is_in_the_cache(catalog_server):
    with catalog_server.client() as client:
        resnet18 = client.get("/api/architectures/weights", params={"arch": "torchvision:resnet18"})
        resnet50 = client.get("/api/architectures/weights", params={"arch": "torchvision:resnet50"})
        zoo = client.get("/api/architectures/weights", params={"arch": "digits_cnn"})
        unknown = client.get("/api/architectures/weights", params={"arch": "torchvision:resnet5"})
    assert resnet18.json() == [
        {
            "name": "IMAGENET1K_V1",
            "file": RESNET18_FILE,
            "present": True,
            "preprocess": {
                "image_size": 256,
                "crop": 224,
                "mean": [0.485, 0.456, 0.406],
                "std": [0.229, 0.224, 0.225],
            },
            "classes": 1000,
        }
    ]
    weights50 = {w["name"]: w for w in resnet50.json()}
    assert set(weights50) == {"IMAGENET1K_V1", "IMAGENET1K_V2"}
    assert not any(w["present"] for w in weights50.values())  # no file of theirs cached
    assert weights50["IMAGENET1K_V2"]["preprocess"]["image_size"] == 232
    assert zoo.status_code == 200 and zoo.json() == []
    assert unknown.status_code == 422 and "resnet50" in unknown.json()["detail"]


def test_the_layers_of_a_torchvision_model_come_with_their_channels(catalog_server):
    with catalog_server.client() as client:
        answer = client.get("/api/architectures/layers", params={"arch": "torchvision:resnet18"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    rows = {row["path"]: row for row in body["layers"]}
    blocks = [f"layer{s}.{b}" for s in range(1, 5) for b in range(2)]
    assert body["probed"] == [*blocks, "fc"]
    assert [rows[path]["channels"] for path in blocks] == [64, 64, 128, 128, 256, 256, 512, 512]
    assert rows["fc"]["channels"] == 1000 and rows["fc"]["probed"]
    assert rows["conv1"]["channels"] == 64 and not rows["conv1"]["probed"]
    assert rows["layer4.1"]["shape"] == [512, 7, 7]  # traced at its standard 224 px
    assert body["neurons"] == 2 * (64 + 128 + 256 + 512) + 1000


def test_a_model_file_the_owner_did_not_list_is_refused_and_never_imported(
    catalog_server, tmp_path
):
    client_file = tmp_path / "clients_net.py"
    client_file.write_text(MARKER_CODE)
    marker = client_file.with_suffix(".imported")
    arch = f"{client_file}:build"
    with catalog_server.client() as client:
        # Weights the server stored itself: the architecture is the only thing wrong.
        body = save(torch.nn.Linear(4, 10).state_dict())
        stored = client.post(
            "/api/checkpoints",
            params={"filename": "w.safetensors"},
            content=body,
            headers={"Content-Type": "application/octet-stream"},
        )
        assert stored.status_code == 201, stored.text
        config = {"arch": arch, "checkpoint": stored.json()["checkpoint"]}
        job = client.post("/api/jobs", json={"kind": "align", "config": config})
        layers = client.get("/api/architectures/layers", params={"arch": arch})
        weights = client.get("/api/architectures/weights", params={"arch": arch})
        jobs = client.get("/api/jobs").json()
    assert job.status_code == 422, job.text
    assert "code the server does not know" in job.json()["detail"]
    assert "SEMVEC_MODEL_FILES" in job.json()["detail"]
    assert layers.status_code == 422 and weights.status_code == 422
    assert jobs["count"] == 0
    assert not marker.exists()

"""The notebook path: an nn.Module and a folder in, a run that `semvec serve` shows out."""

import pytest
import torch
import torchvision
from torch import nn

import semvec
from tests.backend.api.conftest import Server


def test_a_module_and_a_folder_make_a_run_the_server_shows(tmp_path, photos):
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=2)
    home = tmp_path / "home"
    run = semvec.align(
        model,
        photos,
        image_size=48,
        steps=4,
        device="cpu",
        home=home,
        name="notebook",
        progress=False,
    )
    assert run.meta.arch == "torchvision:resnet18"  # found by its keys and shapes
    assert run.meta.source == "python" and run.meta.dataset["image_size"] == 48
    x = torch.randn(2, 3, 48, 48)
    assert torch.allclose(
        semvec.open_run("notebook", home).build_model()(x), model.eval()(x), atol=1e-5
    )
    with Server(home) as server, server.client() as client:
        listed = {r["id"]: r for r in client.get("/api/runs").json()["data"]}
        assert "notebook" in listed
        map_ = client.get("/api/runs/notebook/projection", params={"method": "pca"})
        assert map_.status_code == 200 and len(map_.json()["x"]) == len(run.index())
        image = client.get("/api/runs/notebook/neurons/fc:1/images/0.png")
        assert image.status_code == 200 and image.content[:4] == b"\x89PNG"


def test_a_model_semvec_cannot_rebuild_needs_its_arch(tmp_path, photos):
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2)
    )
    with pytest.raises(semvec.SemvecError, match=r"arch='path/to/file\.py:function'"):
        semvec.align(model, photos, steps=2, home=tmp_path, progress=False)
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())

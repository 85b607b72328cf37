"""The notebook path: an nn.Module and a folder or a torch Dataset in, a run that `semvec
serve` shows out."""

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image
from sklearn.datasets import load_digits, load_sample_images
from torch import nn
from torch.utils.data import Dataset

import model_zoo
import semvec
from tests.backend.api.conftest import Server


def test_a_module_and_a_folder_make_a_run_the_server_shows(tmp_path, photos):
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=2)
    home = tmp_path / "home"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        filters = list(warnings.filters)
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
        assert warnings.filters == filters  # nothing silenced for the caller
    assert run.meta.arch == "torchvision:resnet18"  # found by its keys and shapes
    # Building the candidates it was compared with (GoogLeNet, Inception...) warns nothing.
    assert [str(w.message) for w in caught if w.category is FutureWarning] == []
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


class PhotoCrops(Dataset):
    """(PIL image, label) crops of scikit-learn's two photos, with class names."""

    def __init__(self, per_class: int = 14, size: int = 40):
        self.classes = ["china", "flower"]
        rng = np.random.default_rng(1)
        self.items = []
        for label, photo in enumerate(load_sample_images().images):
            for _ in range(per_class):
                top, left = rng.integers(0, photo.shape[0] - size), rng.integers(0, 300)
                crop = photo[top : top + size, left : left + size]
                self.items.append((Image.fromarray(crop), label))

    def __len__(self):
        return len(self.items)

    def __getitem__(self, index):
        return self.items[index]


class GreyDigits(Dataset):
    """Unlabelled (1, 8, 8) float tensors in [0, 1]: scikit-learn's digits."""

    def __init__(self, count: int = 60):
        self.images = torch.tensor(load_digits().images[:count] / 16, dtype=torch.float32)

    def __len__(self):
        return len(self.images)

    def __getitem__(self, index):
        return self.images[index].unsqueeze(0)


def test_a_torch_dataset_becomes_an_image_folder_the_run_and_the_page_read(tmp_path):
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=2)
    home = tmp_path / "home"
    kwargs = {"image_size": 32, "steps": 4, "device": "cpu", "home": home, "progress": False}
    run = semvec.align(model, PhotoCrops(), name="from-a-dataset", **kwargs)
    folder = Path(run.meta.dataset["root"])
    assert folder.parent == (home / "datasets").resolve() and folder.name.startswith("photocrops-")
    assert sorted(p.name for p in folder.iterdir()) == ["china", "flower"]
    assert len(list((folder / "flower").glob("*.png"))) == 14
    opened = semvec.open_run("from-a-dataset", home)
    assert (
        opened.meta.dataset["name"] == "imagefolder" and opened.meta.arch == "torchvision:resnet18"
    )
    semvec.align(model, PhotoCrops(), name="again", **kwargs, analyze=False)
    assert [p.name for p in (home / "datasets").iterdir()] == [folder.name]  # written once

    grey = semvec.align(model_zoo.get_model("digits_cnn"), GreyDigits(), name="grey", **kwargs)
    assert grey.meta.arch == "digits_cnn" and grey.meta.dataset["channels"] == 1
    assert len(list(Path(grey.meta.dataset["root"]).glob("*.png"))) == 60  # flat: no labels
    with Server(home) as server, server.client() as client:
        summary = client.get("/api/runs/from-a-dataset").json()
        assert summary["classes"] == ["china", "flower"] and summary["labelled"] is True
        image = client.get("/api/runs/from-a-dataset/neurons/fc:1/images/0.png")
        assert image.status_code == 200 and image.content[:4] == b"\x89PNG"
        assert client.get("/api/runs/grey").json()["labelled"] is False


def test_a_folder_holding_only_test_is_read_as_its_classes(tmp_path, capsys):
    """root/test/<class>/... is ten classes, not one named `test` (which a model with ten
    outputs refused), and the log says how the folder was read."""
    digits = load_digits()
    for k, (image, label) in enumerate(zip(digits.images[:100], digits.target[:100], strict=True)):
        folder = tmp_path / "digits" / "test" / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray((image * 16).astype(np.uint8)).save(folder / f"{k:03d}.png")
    model = model_zoo.get_model("digits_cnn")
    run = semvec.align(
        model,
        tmp_path / "digits",
        arch="digits_cnn",
        channels=1,
        steps=2,
        home=tmp_path,
        analyze=False,
        device="cpu",
    )
    assert run.meta.arch == "digits_cnn" and run.metrics()["quality"]["held_out"]["classes"] == 10
    assert "holds only test/: its images are the data" in capsys.readouterr().err


def test_the_python_api_aligns_as_many_steps_as_the_command_line():
    import inspect

    from backend.cli import build_parser
    from backend.training.config import AlignConfig

    align = build_parser().parse_args(["align"])
    steps = inspect.signature(semvec.align).parameters["steps"].default
    assert steps == align.align_steps == AlignConfig().steps

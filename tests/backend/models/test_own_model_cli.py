"""Bring your own model, as a user would, through `semvec` in a subprocess: a torchvision
ResNet-18 saved the DataParallel / torch.compile way, a model file of the user's (rebuilt
from the run after the file is gone), published weights from torch's cache, an entry
point, and the errors that must teach rather than trace."""

import shutil

import torch
import torchvision

from backend.runs.store import RunStore
from tests.backend.models.conftest import installed_plugin
from tests.conftest import run_semvec

SMALL = ("--align-steps", "4", "--align-batch-size", "8", "--device", "cpu")


def _photos_args(photos, *extra):
    return ("--dataset", "imagefolder", "--root", str(photos), *extra)


def test_torchvision_resnet18_saved_by_ddp_and_compile_loads_and_aligns(tmp_path, photos):
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=2)
    state = {f"module._orig_mod.{k}": v for k, v in model.state_dict().items()}
    torch.save({"model_state_dict": state, "epoch": 12}, tmp_path / "resnet18.pth")
    home = tmp_path / "home"
    args = ("--checkpoint", str(tmp_path / "resnet18.pth"), "--arch", "torchvision:resnet18")
    proc = run_semvec(
        home, "align", *args, *_photos_args(photos, "--image-size", "64"), "--name", "r18", *SMALL
    )
    assert "run r18" in proc.stdout
    run = RunStore(home).open("r18")
    assert run.meta.arch == "torchvision:resnet18" and run.meta.arch_kwargs == {"num_classes": 2}
    assert run.meta.layer_paths()[-1] == "fc" and len(run.meta.layer_paths()) == 9
    assert (run.folder / "analysis.json").exists()
    rebuilt = run.build_model()
    x = torch.randn(2, 3, 64, 64)
    assert torch.allclose(rebuilt(x), model.eval()(x), atol=1e-5)


def test_a_user_model_file_goes_through_and_the_run_outlives_the_file(
    tmp_path, photos, user_model_file
):
    home = tmp_path / "home"
    arch = f"{user_model_file}:make_petalnet"
    run_semvec(
        home,
        "align",
        "--arch",
        arch,
        "--checkpoint",
        str(_petal_checkpoint(tmp_path)),
        *_photos_args(photos, "--image-size", "48"),
        "--name",
        "petal",
        *SMALL,
    )
    run = RunStore(home).open("petal")
    assert run.meta.layer_paths() == ["towers.0", "towers.1", "towers.2", "decide"]
    kept = run.folder / "code" / "petal_net.py"
    assert kept.read_text() == user_model_file.read_text()
    assert run.meta.arch_code["sha256"] and run.meta.arch_code["attribute"] == "make_petalnet"
    shutil.rmtree(user_model_file.parent)  # the user's working tree is gone
    run_semvec(home, "project", "petal", "--method", "umap")
    run_semvec(home, "align", "--run", "petal", "--name", "petal-again", *SMALL)
    again = RunStore(home).open("petal-again")
    assert (again.folder / "code" / "petal_net.py").exists()
    assert torch.equal(again.build_model().decide.weight, run.build_model().decide.weight)
    layers = run_semvec(home, "layers", "petal")
    assert "* towers.1" in layers.stdout and "58 neurons" in layers.stdout


def _petal_checkpoint(tmp_path):
    """Weights for the user's model, made by the user's own file (the usual safetensors)."""
    from safetensors.torch import save_file

    from tests.backend.models.conftest import USER_MODEL

    scope: dict = {}
    exec(USER_MODEL, scope)
    path = tmp_path / "petal.safetensors"
    save_file(scope["make_petalnet"]().state_dict(), str(path))
    return path


def test_published_weights_come_from_the_cache_with_their_preprocessing(
    tmp_path, photos, monkeypatch
):
    cache = tmp_path / "torch" / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    torch.save(torchvision.models.resnet18().state_dict(), cache / "resnet18-f37072fd.pth")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    home = tmp_path / "home"
    arch = "torchvision:resnet18@IMAGENET1K_V1"
    run_semvec(home, "align", "--arch", arch, *_photos_args(photos), "--name", "inet", *SMALL)
    run = RunStore(home).open("inet")
    data = run.meta.dataset
    assert (data["image_size"], data["crop"]) == (256, 224)
    assert data["mean"] == [0.485, 0.456, 0.406] and data["std"] == [0.229, 0.224, 0.225]
    assert len(run.meta.model_classes) == 1000 and run.meta.model_classes[0] == "tench"
    assert run.metrics()["test_accuracy"] is None  # its classes are not the folder's
    assert run.index().layer("fc").width == 1000

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty"))
    proc = run_semvec(
        home, "align", "--arch", arch, *_photos_args(photos), "--name", "x", *SMALL, expect=2
    )
    assert "resnet18-f37072fd.pth" in proc.stderr and "Traceback" not in proc.stderr
    assert "x" not in RunStore(home).ids()


def test_an_entry_point_architecture_is_listed_and_builds(tmp_path, photos, monkeypatch):
    site = installed_plugin(tmp_path / "site")
    monkeypatch.setenv("PYTHONPATH", str(site))
    home = tmp_path / "home"
    listed = run_semvec(home, "models")
    assert "plugin:petal" in listed.stdout
    layers = run_semvec(
        home,
        "layers",
        "plugin:petal",
        "--dataset",
        "imagefolder",
        "--root",
        str(photos),
        "--image-size",
        "40",
    )
    assert "* decide" in layers.stdout and "(3, 40, 40)" in layers.stdout


def test_bad_models_get_one_clear_line_and_leave_no_run(tmp_path, user_model_file):
    home = tmp_path / "home"
    broken = tmp_path / "broken.py"
    broken.write_text("import torch\nfrom torch import nn\nraise ImportError('needs petals>=2')\n")
    proc = run_semvec(
        home, "align", "--arch", f"{broken}:build", "--checkpoint", "x.pt", *SMALL, expect=2
    )
    assert "failed to import: ImportError: needs petals>=2" in proc.stderr
    assert "Traceback" not in proc.stderr

    # The user's 3-channel model on 1-channel digits: the error names the layer and input.
    ckpt = _petal_checkpoint(tmp_path)
    proc = run_semvec(
        home,
        "align",
        "--arch",
        f"{user_model_file}:make_petalnet",
        "--checkpoint",
        str(ckpt),
        *SMALL,
        expect=2,
    )
    assert "towers.0.mix" in proc.stderr and "(2, 1, 8, 8)" in proc.stderr
    assert "--channels" in proc.stderr and "Traceback" not in proc.stderr
    assert not list((home / "runs").glob("*"))  # not even a hidden, half-made one


def test_a_model_near_chance_on_the_images_gets_a_warning(tmp_path):
    """A random network on the digits scores near chance: the run is made, with a warning
    that says what to check; the shipped, trained checkpoint gets none."""
    import model_zoo
    from backend.runs.checkpoint import save_state_dict
    from model_zoo.registry import checkpoints_dir

    torch.manual_seed(0)
    save_state_dict(model_zoo.get_model("digits_cnn").state_dict(), tmp_path / "random.safetensors")
    home = tmp_path / "home"
    steps = ("--align-steps", "2", "--no-analyze", "--device", "cpu")

    def align(checkpoint, name: str):
        args = ("--arch", "digits_cnn", "--checkpoint", str(checkpoint), "--name", name)
        return run_semvec(home, "align", *args, *steps)

    proc = align(tmp_path / "random.safetensors", "random")
    assert "near chance" in proc.stderr and "--mean" in proc.stderr
    assert "near chance" in RunStore(home).open("random").metrics()["warnings"][0]
    shipped = checkpoints_dir() / "digits_cnn.safetensors"
    proc = align(shipped, "trained")
    assert "near chance" not in proc.stderr + proc.stdout
    assert RunStore(home).open("trained").metrics()["warnings"] == []


def test_a_checkpoint_of_another_zoo_architecture_names_it_in_the_error(tmp_path, photos):
    """The public ResNet-56's form (option-A shortcuts, a head called `linear`, DataParallel
    keys, no BatchNorm counters) aligned as the zoo's `resnet56`: the error names the real
    differences and `resnet56_a`, whose keys fit it exactly; no run is made."""
    import model_zoo
    from tests.backend.runs.test_checkpoint_forms import _as_public_resnet56

    torch.save(_as_public_resnet56(model_zoo.get_model("resnet56_a")), tmp_path / "r56.th")
    home = tmp_path / "home"
    args = ("--arch", "resnet56", "--checkpoint", str(tmp_path / "r56.th"))
    proc = run_semvec(
        home, "align", *args, *_photos_args(photos, "--image-size", "32"), *SMALL, expect=2
    )
    assert "closest: resnet56_a (100% of keys)" in proc.stderr
    assert "(or bring your own: --arch path/to/file.py:build)" in proc.stderr  # the CLI's advice
    assert "layer2.0.shortcut.*, layer3.0.shortcut.*, fc" in proc.stderr
    assert "the checkpoint has 1 module that resnet56 lacks: linear" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not list((home / "runs").glob("*"))

"""Checkpoints as people save them: wrappers, prefixes, missing BatchNorm counters, the
legacy format saved on a GPU, and errors that name the difference that matters."""

import io

import pytest
import torch
import torchvision

import model_zoo
from backend.core.errors import CheckpointError
from backend.models.fit import closest_architectures
from backend.runs.checkpoint import load_into, read_state_dict
from tests.backend.runs.test_checkpoint import WritesAFile


def _as_public_resnet56(model) -> dict:
    """The public CIFAR ResNet-56's form: DataParallel keys, no BatchNorm counters,
    beside its accuracy."""
    state = {
        f"module.{k}": v for k, v in model.state_dict().items() if "num_batches_tracked" not in k
    }
    return {"best_prec1": 93.6, "state_dict": state}


@pytest.mark.parametrize(
    "wrap",
    [
        lambda s: {"model_state_dict": s, "epoch": 7, "optimizer": {"lr": 0.1}},
        lambda s: {"model": {"state_dict": s}},
        lambda s: {"ema": {"module": s}, "step": 1000},
        lambda s: {"net": s},
    ],
    ids=["model_state_dict", "model.state_dict", "ema.module", "net"],
)
@pytest.mark.parametrize("prefix", ["module.", "_orig_mod.", "module._orig_mod."])
def test_wrapped_and_prefixed_checkpoints_load_exactly(tmp_path, wrap, prefix):
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=5)
    model(torch.randn(2, 3, 64, 64))  # BatchNorm statistics off their defaults
    state = {f"{prefix}{k}": v for k, v in model.state_dict().items()}
    torch.save(wrap(state), tmp_path / "ckpt.pt")
    fresh = torchvision.models.resnet18(num_classes=5)
    load_into(fresh, read_state_dict(tmp_path / "ckpt.pt"))
    x = torch.randn(2, 3, 64, 64)
    assert torch.equal(fresh.eval()(x), model.eval()(x))


def test_a_safetensors_file_with_dataparallel_keys_loads_too(tmp_path):
    """The public ResNet-56 re-saved as its upload error says (safetensors.torch.save_file of
    its state dict): its keys keep their `module.` prefix."""
    from safetensors.torch import save_file

    model = model_zoo.get_model("resnet56_a")
    save_file(_as_public_resnet56(model)["state_dict"], str(tmp_path / "resnet56.safetensors"))
    fresh = model_zoo.get_model("resnet56_a")
    load_into(fresh, read_state_dict(tmp_path / "resnet56.safetensors"))
    for key, value in fresh.state_dict().items():
        if "num_batches_tracked" not in key:
            assert torch.equal(model.state_dict()[key], value), key


def test_batchnorm_counters_may_be_missing(tmp_path):
    model = model_zoo.get_model("resnet56_a")
    torch.save(_as_public_resnet56(model), tmp_path / "resnet56.th")
    loaded = read_state_dict(tmp_path / "resnet56.th")
    assert not any("num_batches_tracked" in k for k in loaded)
    fresh = model_zoo.get_model("resnet56_a")
    load_into(fresh, loaded)
    for key, value in model.state_dict().items():
        assert torch.equal(fresh.state_dict()[key], value), key


def test_the_public_resnet56_form_names_the_real_differences(tmp_path):
    """The option-A checkpoint against the zoo's option-B resnet56: the message says the
    head is named `linear` and the shortcuts are missing, not BatchNorm counters, and
    the architectures that fit best start with the one that fits exactly."""
    state = read_state_dict_of(_as_public_resnet56(model_zoo.get_model("resnet56_a")), tmp_path)
    with pytest.raises(CheckpointError) as err:
        load_into(model_zoo.get_model("resnet56"), state, "resnet56")
    message = str(err.value)
    assert "resnet56's `fc` is `linear` in the checkpoint" in message
    assert "layer2.0.shortcut.*" in message and "layer3.0.shortcut.*" in message
    assert "num_batches_tracked" not in message
    best = closest_architectures(state)
    assert best[0] == ("resnet56_a", 1.0)
    assert [ref for ref, _ in best[1:]] and best[1][1] < 1.0


def read_state_dict_of(obj, tmp_path):
    torch.save(obj, tmp_path / "ckpt.th")
    return read_state_dict(tmp_path / "ckpt.th")


def test_pickle_payload_inside_a_wrapper_is_refused_and_never_runs(tmp_path):
    target = tmp_path / "pwned.txt"
    model = model_zoo.get_model("digits_cnn_small")
    payload = {"model": {"state_dict": model.state_dict(), "hook": WritesAFile(str(target))}}
    torch.save(payload, tmp_path / "evil.pth")
    with pytest.raises(CheckpointError, match="refused"):
        read_state_dict(tmp_path / "evil.pth")
    assert not target.exists()


def test_legacy_checkpoint_saved_on_a_gpu_loads_on_the_cpu(tmp_path):
    """torch's legacy (non-zip) format records each storage's device; a file written on a
    GPU says `cuda:0`, which a CPU machine can only read with map_location."""
    model = model_zoo.get_model("digits_cnn_small")
    buffer = io.BytesIO()
    torch.save({"state_dict": model.state_dict()}, buffer, _use_new_zipfile_serialization=False)
    data = buffer.getvalue()
    # A pickled short string: opcode X, its length (4 bytes, little-endian), its bytes.
    cpu, gpu = b"X\x03\x00\x00\x00cpu", b"X\x06\x00\x00\x00cuda:0"
    assert data.count(cpu) > 0
    (tmp_path / "gpu.th").write_bytes(data.replace(cpu, gpu))
    with pytest.raises(RuntimeError, match="CUDA"):
        torch.load(tmp_path / "gpu.th", weights_only=True)  # the control: a plain load fails
    fresh = model_zoo.get_model("digits_cnn_small")
    load_into(fresh, read_state_dict(tmp_path / "gpu.th"))
    for key, value in model.state_dict().items():
        assert torch.equal(fresh.state_dict()[key], value)

import pickle
import random

import pytest
import torch

import model_zoo
from backend.core.errors import CheckpointError
from backend.runs.checkpoint import load_into, read_state_dict, save_state_dict


class WritesAFile:
    """A pickle payload that, if ever unpickled, would create a file."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


def test_safetensors_round_trip_is_exact(tmp_path):
    torch.manual_seed(0)
    model = model_zoo.get_model("digits_cnn")
    model(torch.randn(4, 1, 8, 8))  # move BN running stats off their defaults
    save_state_dict(model.state_dict(), tmp_path / "w.safetensors")
    loaded = read_state_dict(tmp_path / "w.safetensors")
    assert loaded.keys() == model.state_dict().keys()
    for key, value in model.state_dict().items():
        assert torch.equal(loaded[key], value), key
    fresh = model_zoo.get_model("digits_cnn")
    load_into(fresh, loaded)
    x = torch.randn(3, 1, 8, 8)
    assert torch.equal(fresh.eval()(x), model.eval()(x))


def test_the_payload_really_writes_a_file_when_unpickled(tmp_path):
    """The control for the tests below: were the payload ever unpickled, the file would exist."""
    target = tmp_path / "written.txt"
    pickle.loads(pickle.dumps(WritesAFile(str(target)))).close()
    assert target.exists()


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
@pytest.mark.parametrize("how", ["torch.save", "pickle.dump"])
def test_pickle_payload_is_refused_and_never_runs(tmp_path, how):
    target = tmp_path / "pwned.txt"
    path = tmp_path / "evil.pt"
    payload = {"state_dict": {"w": torch.zeros(2)}, "extra": WritesAFile(str(target))}
    if how == "torch.save":
        torch.save(payload, path)
    else:
        with path.open("wb") as f:
            pickle.dump(payload, f)
    with pytest.raises(CheckpointError, match="refused"):
        read_state_dict(path)
    assert not target.exists()


def test_weights_only_torch_checkpoint_loads(tmp_path):
    model = model_zoo.get_model("digits_cnn_small")
    state = {f"module.{k}": v for k, v in model.state_dict().items()}
    torch.save({"state_dict": state, "epoch": 3}, tmp_path / "ddp.pt")
    loaded = read_state_dict(tmp_path / "ddp.pt")
    load_into(model_zoo.get_model("digits_cnn_small"), loaded)
    assert set(loaded) == set(model.state_dict())


def test_corrupt_and_truncated_files_are_refused(tmp_path):
    model = model_zoo.get_model("digits_cnn_small")
    good = tmp_path / "w.safetensors"
    save_state_dict(model.state_dict(), good)
    truncated = tmp_path / "cut.safetensors"
    truncated.write_bytes(good.read_bytes()[:-100])
    with pytest.raises(CheckpointError, match="not a valid safetensors"):
        read_state_dict(truncated)
    garbage = tmp_path / "junk.bin"
    rng = random.Random(0)
    for size in (1, 9, 300) * 20:  # random bytes make the unpickler raise all sorts of errors
        garbage.write_bytes(rng.randbytes(size))
        with pytest.raises(CheckpointError):
            read_state_dict(garbage)
    with pytest.raises(CheckpointError, match="does not exist"):
        read_state_dict(tmp_path / "nope.safetensors")


def test_checkpoint_of_another_architecture_names_the_differences(tmp_path):
    save_state_dict(
        model_zoo.get_model("digits_cnn_small").state_dict(), tmp_path / "s.safetensors"
    )
    with pytest.raises(CheckpointError) as err:
        load_into(model_zoo.get_model("digits_cnn"), read_state_dict(tmp_path / "s.safetensors"))
    message = str(err.value)
    assert "shape mismatch" in message and "conv1.0.weight" in message
    assert "(8, 1, 3, 3)" in message and "(32, 1, 3, 3)" in message

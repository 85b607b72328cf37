"""The `semvec` command line, run as a user would, in a subprocess with its own data home."""

import csv
import functools

import pytest
import torch

import model_zoo
from backend.runs.checkpoint import save_state_dict
from tests.conftest import run_semvec


@pytest.fixture
def semvec(tmp_path):
    """`semvec(*args, expect=0)`: the command line with its data home at tmp_path/home."""
    return functools.partial(run_semvec, tmp_path / "home")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["train", "--arch", "nope"], ["unknown architecture 'nope'", "resnet20", "digits_cnn"]),
        (["train", "--dataset", "svhn"], ["unknown dataset 'svhn'", "cifar10", "digits"]),
        (["train", "--layers", "conv9"], ["unknown layer 'conv9'", "conv3"]),
        (
            ["train", "--dataset", "cifar10", "--root", "/nonexistent"],
            ["data_batch_1", "--download"],
        ),
        (["train", "--device", "cuda:7"], ["cuda"]),
        (["analyze", "no-such-run"], ["no run named 'no-such-run'"]),
        (["project", "../etc", "--method", "pca"], ["invalid run name"]),
        (["train", "--name", "../escape"], ["invalid run name"]),
        (["train", "--name", "a\\b"], ["invalid run name"]),
        (["knowledge", "/abs/run"], ["invalid run name"]),
        (["analyze", ".."], ["invalid run name"]),
    ],
)
def test_user_errors_are_one_clear_line(semvec, args, says):
    proc = (
        semvec(*args, "--epochs", "1", expect=2) if args[0] == "train" else semvec(*args, expect=2)
    )
    assert "Traceback" not in proc.stderr
    for text in says:
        assert text in proc.stderr


def test_a_link_in_runs_is_refused(semvec, tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "home" / "runs").mkdir(parents=True)
    (tmp_path / "home" / "runs" / "planted").symlink_to(tmp_path / "elsewhere")
    proc = semvec("analyze", "planted", expect=2)
    assert "symbolic link" in proc.stderr and "Traceback" not in proc.stderr
    proc = semvec("train", "--epochs", "1", "--name", "planted", expect=2)
    assert "already exists" in proc.stderr
    assert list((tmp_path / "elsewhere").iterdir()) == []


def test_unsafe_and_mismatched_checkpoints_are_refused(semvec, tmp_path):
    evil = tmp_path / "evil.pt"
    target = tmp_path / "written-by-payload"
    torch.save({"w": torch.zeros(1), "x": _Payload(str(target))}, evil)
    proc = semvec("align", "--checkpoint", str(evil), "--arch", "digits_cnn", expect=2)
    assert "refused" in proc.stderr and not target.exists()

    small = tmp_path / "small.safetensors"
    save_state_dict(model_zoo.get_model("digits_cnn_small").state_dict(), small)
    proc = semvec("align", "--checkpoint", str(small), "--arch", "digits_cnn", expect=2)
    assert "does not fit digits_cnn" in proc.stderr and "conv1.0.weight" in proc.stderr


class _Payload:
    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


def test_train_analyze_project_export_align_end_to_end(semvec, tmp_path):
    trained = semvec(
        "train",
        "--epochs",
        "2",
        "--align-steps",
        "40",
        "--name",
        "e2e",
        "--device",
        "cpu",
        "--no-analyze",
    )
    # Not a terminal: a line per stage and the results, no progress bars redrawn with \r.
    assert "\r" not in trained.stderr and "%|" not in trained.stderr
    assert "train…" in trained.stderr.splitlines()
    assert "quality on held-out data: r " in trained.stderr
    assert trained.stdout.splitlines() == [f"run e2e: {tmp_path / 'home' / 'runs' / 'e2e'}"]
    listing = semvec("runs").stdout
    assert "e2e" in listing and "digits_cnn" in listing
    header, row = (
        listing.splitlines()[0].split(),
        next(r for r in listing.splitlines() if "e2e" in r),
    )
    assert "CEIL" in header and "BOUND" in header
    ceiling, bound, held = row.split()[7:10]
    assert ceiling.count("/") == 1 and bound.count("/") == 1 and "-" not in ceiling + bound
    assert held.endswith("/10")  # held-out images of all 10 classes

    semvec("analyze", "e2e", "--split", "test", "--k", "5")
    first = semvec("project", "e2e", "--method", "pca").stdout
    again = semvec("project", "e2e", "--method", "pca").stdout
    assert "from cache" in again and "from cache" not in first
    other = semvec("project", "e2e", "--method", "tsne", "--param", "perplexity=10").stdout
    assert "computed" in other

    out = tmp_path / "export"
    semvec("export", "e2e", "--out", str(out))
    vectors = (out / "vectors.tsv").read_text().splitlines()
    assert len(vectors) == 234 and len(vectors[0].split("\t")) == 64
    metadata = (out / "metadata.tsv").read_text().splitlines()
    assert len(metadata) == 235 and metadata[0].startswith("name\tlayer\tlabel")
    rows = list(csv.DictReader((out / "neurons.csv").open()))
    assert rows[0]["name"] == "conv1:0" and rows[-1]["name"] == "fc:9"
    assert rows[-1]["label"] == "9"  # the logit of class 9 is largest on nines

    semvec(
        "align",
        "--run",
        "e2e",
        "--align-steps",
        "40",
        "--name",
        "e2e-realigned",
        "--align-init",
        "random",
        "--no-analyze",
        "--device",
        "cpu",
    )
    assert "e2e-realigned" in semvec("runs").stdout


def test_jobs_from_the_command_line(semvec):
    config = '{"epochs": 2, "device": "cpu", "align": {"steps": 20}, "analyze": false}'
    queued = semvec("jobs", "submit", "train", config).stdout
    assert "job 1 queued (train), estimated at about " in queued
    assert "(2 epochs × 1,079 images at 8 px)" in queued
    bad = semvec("jobs", "submit", "train", '{"epochs": -3}', expect=2)
    assert "epochs" in bad.stderr and "Traceback" not in bad.stderr
    semvec("jobs", "work")  # runs the queue here until it is empty
    listing = semvec("jobs", "list").stdout
    assert "succeeded" in listing and "digits_cnn-digits-job1" in listing
    shown = semvec("jobs", "show", "1").stdout
    assert '"epoch": 2' in shown
    assert semvec("jobs", "follow", "1").returncode == 0
    assert "only interrupted, failed or cancelled" in semvec("jobs", "resume", "1", expect=2).stderr
    assert "no job with id 9" in semvec("jobs", "cancel", "9", expect=2).stderr

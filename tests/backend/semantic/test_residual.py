"""Residual copies from the model's structure, and quality figures that leave them out."""

import torch
import torch.nn.functional as F
from torch import nn

from backend.core.progress import Reporter
from backend.data import DataSpec, load_split
from backend.semantic.alignment import SemanticVectors
from backend.semantic.neurons import neuron_index
from backend.semantic.quality import evaluate_similarity
from backend.semantic.report import held_out_quality, quality_line
from backend.semantic.residual import has_identity_skip, residual_stages

CPU = torch.device("cpu")


class Block(nn.Module):
    """A basic residual block: relu(f(x) + x), so its output carries its input's channels."""

    def __init__(self, width: int):
        super().__init__()
        self.conv1 = nn.Conv2d(width, width, 3, padding=1)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1)

    def forward(self, x):
        return F.relu(self.conv2(F.relu(self.conv1(x))) + x)


class TinyResNet(nn.Module):
    """A stem, a stage of three residual blocks, then a plain conv of the same width (no
    skip: not a copy) and the logits; for the 1-channel 8x8 digits."""

    def __init__(self, width: int = 8):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, width, 3, padding=1), nn.ReLU())
        self.stage = nn.Sequential(Block(width), Block(width), Block(width))
        self.plain = nn.Sequential(nn.Conv2d(width, width, 3, padding=1), nn.ReLU())
        self.fc = nn.Linear(width, 10)

    def forward(self, x):
        return self.fc(self.plain(self.stage(self.stem(x))).mean(dim=(2, 3)))


LAYERS = ["stem", "stage.0", "stage.1", "stage.2", "plain", "fc"]


def test_identity_skips_are_read_from_the_forward():
    assert has_identity_skip(Block(4))
    assert not has_identity_skip(nn.Sequential(nn.Conv2d(4, 4, 1), nn.ReLU()))
    assert not has_identity_skip(nn.Identity())  # no addition: nothing is added to a stream


def test_stages_follow_the_wiring_and_the_skips():
    torch.manual_seed(0)
    model = TinyResNet()
    x = torch.randn(2, 1, 8, 8)
    found = residual_stages(model, LAYERS, neuron_index(model, LAYERS, x), x)
    # The stem starts the stream the blocks add to; `plain` has no skip, `fc` another width.
    assert found.stages == [["stem", "stage.0", "stage.1", "stage.2"]]
    assert found.groups[3] == found.groups[8 + 3] == found.groups[24 + 3] != found.groups[4]
    assert (found.groups[32:] == -1).all() and found.neurons_with_copies == 32


def test_leaving_copies_out_drops_what_only_copies_explain():
    # Neurons 0-9 and 10-19 are copies pairwise (i, i + 10); 20-39 are independent noise.
    gen = torch.Generator().manual_seed(0)
    base = torch.randn(300, 10, generator=gen)
    h = torch.cat([base, base + 0.1 * torch.randn(300, 10, generator=gen)], dim=1)
    h = torch.cat([h, torch.randn(300, 20, generator=gen)], dim=1)
    groups = torch.cat([torch.arange(10), torch.arange(10), torch.full((20,), -1)])
    # A rule with no data: each neuron's copy first, everyone else at random.
    noise = torch.rand(40, 40, generator=gen) * 0.5
    rule = noise + (groups[:, None] == groups[None, :]) * (groups[:, None] >= 0)
    report = evaluate_similarity(lambda ids: rule[ids], h, k=1, copies=groups)
    assert report.precision_at_k > 0.45  # the copies alone score on the raw figure
    assert report.precision_without_copies < 0.15  # and nothing without them


def _digits_quality(model, layers, vectors=None, max_images=200):
    train = load_split(DataSpec(), "train")
    x = next(iter(train.batches(2)))[0]
    n = len(neuron_index(model, layers, x))
    return held_out_quality(
        model,
        layers,
        vectors or SemanticVectors(n, 16),
        load_split(DataSpec(), "test"),
        CPU,
        Reporter(),
        lambda: train,
        max_images=max_images,
    )


def test_a_resnets_figures_apart_from_copies_differ_from_the_raw_ones():
    torch.manual_seed(0)
    # Vectors that know the plumbing and nothing else: channel c of the stage's four
    # layers point one way, the rest at random (a rule that lists the copies).
    vectors = SemanticVectors(8 * 5 + 10, 16)
    with torch.no_grad():
        vectors.weight[:32] = torch.eye(16)[torch.arange(32) % 8] * 10 + vectors.weight[:32]
    _report, q = _digits_quality(TinyResNet(), LAYERS, vectors)
    assert q["residual_copies"] == {"stages": [LAYERS[:4]], "neurons": 32}
    for figures in (q, q["ceiling"], q["bound"]):
        assert 0 <= figures["precision_at_10_without_copies"] <= 1
    assert q["precision_at_10"] - q["precision_at_10_without_copies"] > 0.1
    assert "without residual copies" in quality_line(q)


class Constant(nn.Module):
    """Every probed output is the same for every image: all neurons are dead."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.fc = nn.Linear(4, 10)

    def forward(self, x):
        return self.fc(self.conv(x * 0).mean(dim=(2, 3)))


def test_quality_of_a_model_with_no_live_neurons_is_a_result_not_a_crash():
    _report, q = _digits_quality(Constant(), ["conv", "fc"])
    assert q["result"] == "no live neurons" and q["live_neurons"] == 0
    assert q["r"] is None and q["precision_at_10"] is None
    assert q["ceiling"]["r"] is None and q["bound"]["precision_at_10"] is None
    line = quality_line(q)
    assert line.startswith("quality on held-out data: no live neurons")
    assert "200 images of 10 classes" in line


DEAD_MODEL = """
import torch
from torch import nn


class Constant(nn.Module):
    def __init__(self, num_classes=10, in_channels=1):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, 4, 3, padding=1)
        self.fc = nn.Linear(4, num_classes)

    def forward(self, x):
        return self.fc(torch.relu(self.conv(x * 0)).mean(dim=(2, 3)))


def build(num_classes=10, in_channels=1):
    return Constant(num_classes, in_channels)
"""


def test_a_run_whose_neurons_all_die_is_made_and_says_so(tmp_path):
    from safetensors.torch import save_file

    from backend.runs.store import RunStore
    from tests.conftest import run_semvec

    code = tmp_path / "dead_model.py"
    code.write_text(DEAD_MODEL)
    scope: dict = {}
    exec(DEAD_MODEL, scope)  # the user's file, as the user would save its weights
    save_file(scope["build"]().state_dict(), tmp_path / "dead.safetensors")
    home = tmp_path / "home"
    args = ("--arch", f"{code}:build", "--checkpoint", str(tmp_path / "dead.safetensors"))
    args += ("--dataset", "digits", "--name", "dead")
    proc = run_semvec(home, "align", *args, "--align-steps", "4", "--device", "cpu")
    assert "quality on held-out data: no live neurons (every neuron's activation" in (
        proc.stdout + proc.stderr
    )
    quality = RunStore(home).open("dead").metrics()["quality"]
    assert quality["result"] == "no live neurons" and quality["r"] is None

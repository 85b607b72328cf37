"""One pass over the images (backend/analysis/one_pass.py): its statistics against the
direct computations on the real digits with the shipped digits CNN, and a post-hoc run
made by it against one made by the separate passes."""

import tempfile
from pathlib import Path

import pytest
import torch

import model_zoo
from backend.analysis import one_pass
from backend.analysis.one_pass import Comoments, plan_pass, run_pass
from backend.core.progress import Reporter
from backend.data import load_split
from backend.jobs.builtin import ALIGN_PHASES
from backend.runs.checkpoint import load_into, read_state_dict
from backend.semantic.quality import collect_activations
from backend.semantic.reference import REFERENCE_IMAGES, reference_for
from backend.services import vectors as vector_service
from backend.services.analysis import analyze_run
from backend.training.config import AlignConfig, DataConfig, PostHocConfig
from backend.training.evaluate import accuracy

CHECKPOINT = Path(model_zoo.__file__).parent / "checkpoints" / "digits_cnn.safetensors"


def test_comoments_merged_batch_by_batch_and_rank_by_rank_are_the_direct_ones():
    gen = torch.Generator().manual_seed(0)
    h = torch.randn(300, 12, generator=gen) * 3 + torch.arange(12.0) * 5  # far from zero mean
    direct = torch.cov(h.T.double(), correction=0) * len(h)
    whole, parts = Comoments(12), [Comoments(12), Comoments(12)]
    for i, start in enumerate(range(0, 300, 37)):
        whole.update(h[start : start + 37])
        parts[i % 2].update(h[start : start + 37])
    parts[0].merge(parts[1])
    for moments in (whole, parts[0]):
        assert moments.count == 300
        torch.testing.assert_close(moments.mean, h.double().mean(0))
        torch.testing.assert_close(moments.m2.double(), direct, rtol=1e-5, atol=1e-3)


@pytest.fixture(scope="module")
def digits_cnn():
    model = model_zoo.get_model("digits_cnn")
    load_into(model, read_state_dict(CHECKPOINT), "digits_cnn")
    return model.eval()


def test_one_pass_gives_the_reference_held_out_activations_and_accuracy_of_separate_passes(
    digits_cnn,
):
    spec = DataConfig(name="digits").spec()
    train, test, everything = (load_split(spec, s) for s in ("train", "test", "all"))
    layers = list(digits_cnn.probed_layers)
    plan = plan_pass(everything, train, test, 100, REFERENCE_IMAGES)
    assert plan is not None
    cpu = torch.device("cpu")
    passed = run_pass(digits_cnn, layers, plan, 16, cpu, Reporter(), batch_size=100)
    num_neurons = passed.held_out.shape[1]
    direct = reference_for(digits_cnn, layers, train, cpu, num_neurons, 16, REFERENCE_IMAGES)
    assert passed.reference.num_images == direct.num_images == len(train)
    torch.testing.assert_close(passed.reference.correlation, direct.correlation, atol=2e-5, rtol=0)
    torch.testing.assert_close(
        passed.reference.eigenvalues, direct.eigenvalues, rtol=1e-4, atol=1e-4
    )
    held = collect_activations(digits_cnn, layers, plan.held_out.batches(64), cpu, len(test))
    torch.testing.assert_close(passed.held_out, held, atol=1e-5, rtol=1e-5)
    assert passed.test_accuracy == pytest.approx(accuracy(digits_cnn, test.batches(512), cpu))
    assert passed.analysis.num_images == len(everything)


class _Stages(Reporter):
    def __init__(self):
        self.names: list[str] = []

    def stage(self, name: str, total: int) -> None:
        self.names.append(name)


def _run(home: Path, one: bool, monkeypatch):
    if not one:  # the separate passes, as a model too large for one pass takes them
        monkeypatch.setattr(vector_service, "plan_pass", lambda *a, **k: None)
    else:
        monkeypatch.setattr(vector_service, "plan_pass", one_pass.plan_pass)
    stages = _Stages()
    cfg = PostHocConfig(
        checkpoint=str(CHECKPOINT),
        arch="digits_cnn",
        data=DataConfig(name="digits"),
        device="cpu",
        align=AlignConfig(),
    )
    run = vector_service.align_run(
        cfg,
        reporter=stages,
        home=home,
        before_commit=lambda r: analyze_run(r, device="cpu", reporter=stages),
    )
    return run, stages.names


def test_a_run_made_in_one_pass_has_the_files_and_figures_of_separate_passes(monkeypatch):
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        old, old_stages = _run(Path(a), False, monkeypatch)
        new, new_stages = _run(Path(b), True, monkeypatch)
        assert {"activations", "analysis"} <= set(old_stages)
        # Each image is read once: no caching pass, no separate analysis pass.
        assert new_stages.count("one pass") == 1
        assert not {"activations", "analysis"} & set(new_stages)
        # An align job's progress bar knows every stage it will go through.
        assert set(new_stages) <= {stage for stage, *_ in ALIGN_PHASES}
        files = sorted(p.name for p in old.folder.iterdir())
        assert sorted(p.name for p in new.folder.iterdir()) == files
        q_old, q_new = old.metrics()["quality"], new.metrics()["quality"]
        for key in ("r", "precision_at_10"):
            assert q_new[key] == pytest.approx(q_old[key], abs=0.002)
            assert q_new["bound"][key] == pytest.approx(q_old["bound"][key], abs=1e-4)
            assert q_new["ceiling"][key] == pytest.approx(q_old["ceiling"][key], abs=1e-4)
        assert new.metrics()["test_accuracy"] == pytest.approx(old.metrics()["test_accuracy"])
        assert new.metrics()["analysis"] == old.metrics()["analysis"]
        a_old, a_new = analyze_run(old), analyze_run(new)
        torch.testing.assert_close(a_new.class_means, a_old.class_means, atol=1e-5, rtol=1e-4)
        assert torch.equal(a_new.top_indices, a_old.top_indices)


def test_randomised_reference_from_the_comoment_is_the_one_of_passes_over_the_images():
    from backend.semantic.reference import compute_reference, randomised_from_comoment

    gen = torch.Generator().manual_seed(1)
    h = torch.randn(400, 6, generator=gen) @ torch.randn(6, 60, generator=gen)  # rank 6
    h += 0.1 * torch.randn(400, 60, generator=gen)
    direct = compute_reference(lambda: iter(h.split(64)), 60, 4, seed=3, exact_max=10)
    moments = Comoments(60)
    for batch in h.split(64):
        moments.update(batch)
    ours = randomised_from_comoment(moments.m2, moments.count, 4, seed=3)
    assert ours.method == direct.method == "randomised"
    assert torch.equal(ours.rows, direct.rows)
    torch.testing.assert_close(ours.eigenvalues, direct.eigenvalues, rtol=1e-4, atol=1e-4)
    fit = ours.vectors @ ours.vectors.T  # the rank-d fit, whatever the eigenvectors' signs
    torch.testing.assert_close(fit, direct.vectors @ direct.vectors.T, rtol=1e-3, atol=1e-3)
    torch.testing.assert_close(ours.correlation, direct.correlation, rtol=1e-4, atol=1e-4)

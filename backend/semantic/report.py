"""A run's quality figures: the vectors on a class-balanced held-out sample, beside the
ceiling and the rank-d bound of the training correlation (docs/method.md)."""

from collections.abc import Callable

import torch
from torch import nn

from backend.core.progress import Reporter
from backend.semantic.alignment import SemanticVectors
from backend.semantic.neurons import neuron_index
from backend.semantic.quality import (
    NO_LIVE_NEURONS,
    QualityReport,
    collect_activations,
    quality_and_references,
)
from backend.semantic.reference import REFERENCE_IMAGES, reference_for
from backend.semantic.residual import ResidualStages, residual_stages
from backend.semantic.sample import balanced_sample, describe

HELD_OUT_IMAGES = 4096
"""Most held-out images the quality is measured on."""


def held_out_quality(
    model: nn.Module,
    layers: list[str],
    vectors: SemanticVectors,
    test_split,
    device: torch.device,
    reporter: Reporter,
    train_split: Callable[[], object],
    max_images: int = HELD_OUT_IMAGES,
    held_out: torch.Tensor | None = None,
) -> tuple[QualityReport, dict]:
    """The per-neuron report and the run's quality figures (what metrics.json keeps).

    The references come from `vectors.reference` when the vectors were aligned against
    one; otherwise `train_split()` is read once to compute them. `held_out`: the pooled
    activations of the held-out sample, when a pass has read them already
    (backend/analysis/one_pass.py).
    """
    sample = balanced_sample(test_split, max_images, seed=0)
    reference = vectors.reference
    if reference is None:
        reporter.stage("reference", 0)
        dim = vectors.weight.shape[1]
        reference = reference_for(
            model, layers, train_split(), device, vectors.num_neurons, dim, REFERENCE_IMAGES
        )
    reporter.stage("quality", len(sample))
    h = held_out
    if h is None:
        h = collect_activations(
            model,
            layers,
            sample.batches(256),
            device,
            max_images=len(sample),
            progress=lambda n: reporter.advance(n),
        )
    copies = _residual_copies(model, layers, vectors.num_neurons, sample, device)
    report, references = quality_and_references(
        vectors.unit().cpu(), reference, h, copies=copies.groups
    )
    figures = {
        **report.summary(),
        "held_out": describe(sample),
        "residual_copies": copies.summary(),
        **references,
    }
    return report, figures


def _residual_copies(model, layers, num_neurons, sample, device) -> ResidualStages:
    x, *_ = next(iter(sample.batches(2)))
    x = x.to(device)
    index = neuron_index(model, layers, x)
    if len(index) != num_neurons:
        raise ValueError(f"{num_neurons} vectors for {len(index)} neurons")
    return residual_stages(model, layers, index, x)


def quality_line(q: dict) -> str:
    """The figures for a person, with their ceiling and bound when known; P@10 apart from
    residual copies beside the raw P@10 when the model has copies."""
    apart = bool((q.get("residual_copies") or {}).get("neurons"))

    def pair(d: dict) -> str:
        text = f"r {d['r']:.4f}, P@10 {d['precision_at_10']:.4f}"
        if apart and d.get("precision_at_10_without_copies") is not None:
            text += f", without residual copies {d['precision_at_10_without_copies']:.4f}"
        return text

    held = q.get("held_out")
    seen = f"{held['images']} images of {held['classes']} classes" if held else ""
    if q.get("result") == NO_LIVE_NEURONS:
        return (
            f"quality on held-out data: {NO_LIVE_NEURONS} (every neuron's activation is "
            f"constant{' on the ' + seen if seen else ''}: no pair of neurons to compare)"
        )
    line = f"quality on held-out data: {pair(q)} ({q['live_neurons']} live neurons"
    line += f", {seen})" if seen else ")"
    if "ceiling" in q:
        dim = q["bound"]["dim"]
        line += f"; ceiling {pair(q['ceiling'])}; rank-{dim} bound {pair(q['bound'])}"
    return line

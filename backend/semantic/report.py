"""A run's quality figures: the vectors on a class-balanced held-out sample, beside the
ceiling and the rank-d bound of the training correlation (docs/method.md)."""

from collections.abc import Callable

import torch
from torch import nn

from backend.core.progress import Reporter
from backend.semantic.alignment import SemanticVectors
from backend.semantic.quality import (
    QualityReport,
    collect_activations,
    evaluate_quality,
    reference_figures,
)
from backend.semantic.reference import REFERENCE_IMAGES, reference_for
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
) -> tuple[QualityReport, dict]:
    """The per-neuron report and the run's quality figures (what metrics.json keeps).

    The references come from `vectors.reference` when the vectors were aligned against
    one; otherwise `train_split()` is read once to compute them.
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
    h = collect_activations(
        model,
        layers,
        sample.batches(256),
        device,
        max_images=len(sample),
        progress=lambda n: reporter.advance(n),
    )
    report = evaluate_quality(vectors.unit().cpu(), h)
    figures = {
        **report.summary(),
        "held_out": describe(sample),
        **reference_figures(reference, h, report.k),
    }
    return report, figures


def quality_line(q: dict) -> str:
    """The figures for a person, with their ceiling and bound when known."""

    def pair(d: dict) -> str:
        return f"r {d['r']:.4f}, P@10 {d['precision_at_10']:.4f}"

    line = f"quality on held-out data: {pair(q)} ({q['live_neurons']} live neurons"
    held = q.get("held_out")
    if held:
        line += f", {held['images']} images of {held['classes']} classes"
    line += ")"
    if "ceiling" in q:
        dim = q["bound"]["dim"]
        line += f"; ceiling {pair(q['ceiling'])}; rank-{dim} bound {pair(q['bound'])}"
    return line

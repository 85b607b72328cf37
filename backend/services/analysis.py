"""Analyse a run's neurons over its dataset and keep the result in the run folder."""

import math

from backend.analysis import Analysis, analyze
from backend.core.devices import resolve_device
from backend.core.progress import Reporter
from backend.runs.store import Run
from backend.training.config import AnalyzeConfig, DataConfig

MAP_PIXELS = 256 * 64 * 64
"""Images x pixels in one analysis batch. The pass holds every probed layer's maps of a
batch at once: a ResNet-50 at 224 px in batches of 256 peaked at 10 GB."""


def batch_for(image_size: int, wanted: int) -> int:
    """The analysis batch for images of this side: `wanted`, smaller for large images."""
    return max(8, min(wanted, MAP_PIXELS // max(image_size * image_size, 1)))


def analyze_run(
    run: Run,
    cfg: AnalyzeConfig | None = None,
    device: str | None = None,
    reporter: Reporter | None = None,
) -> Analysis:
    """One streaming pass over the run's dataset split; writes analysis.* into the run.

    Without `cfg` (the analysis that follows making a run), an analysis the run already
    holds is kept: a post-hoc run made it in its one pass (backend/analysis/one_pass.py).
    """
    from backend.data import load_split

    if cfg is None and (kept := load_analysis(run)) is not None:
        return kept
    reporter = reporter or Reporter()
    cfg = cfg or AnalyzeConfig(device=device or "auto")
    dev = resolve_device(cfg.device)
    split = load_split(DataConfig.model_validate(run.meta.dataset).spec(), cfg.split)
    batch_size = batch_for(split.image_size, cfg.batch_size)
    total = math.ceil(len(split) / batch_size)
    reporter.stage("analysis", total)
    done = [0]

    def progress(step: int, _total: int) -> None:
        reporter.advance(step - done[0])
        done[0] = step

    result = analyze(
        run.build_model(),
        run.layer_paths(),
        split.batches(batch_size),
        num_classes=len(split.classes),
        k=cfg.k,
        bins=cfg.bins,
        device=dev,
        progress=progress,
        class_names=split.classes,
        total=total,
    )
    result.save(run.folder)
    metrics = run.metrics()
    metrics["analysis"] = analysis_metrics(result, cfg)
    run.write_metrics(metrics)
    return result


def analysis_metrics(result: Analysis, cfg: AnalyzeConfig) -> dict:
    """What metrics.json says of a run's analysis."""
    return {
        "split": cfg.split,
        "k": cfg.k,
        "num_images": result.num_images,
        "dead_neurons": int(result.dead.sum()),
    }


def load_analysis(run: Run) -> Analysis | None:
    """The run's analysis, or None when it has not been analysed yet."""
    if not (run.folder / "analysis.json").exists():
        return None
    return Analysis.load(run.folder)

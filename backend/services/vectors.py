"""Make runs whose neurons have semantic vectors: by training, or by aligning a loaded model.

Both end the same way: the vectors' quality is measured on the held-out test split and
everything is written into a new run folder that appears only when complete. Work that
must be done before a run is usable (analysis, its first map) is passed as `before_commit`,
so that a failure there, too, leaves no run behind.
"""

from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from backend.analysis.one_pass import PassResult, align_to_reference, plan_pass, run_pass
from backend.core.devices import resolve_device
from backend.core.errors import SemvecError
from backend.core.progress import Reporter
from backend.core.settings import get_settings
from backend.data.image_screen import run_warnings
from backend.models import slug
from backend.runs.store import Run, RunMeta, RunStore, RunWriter
from backend.semantic.alignment import SemanticVectors
from backend.semantic.neurons import NeuronIndex, neuron_index
from backend.semantic.report import held_out_quality, quality_line
from backend.services.analysis import analysis_metrics, batch_for
from backend.services.loading import (
    PREPROCESS_OPTIONS,
    chance_warning,
    check_fits,
    load_for_align,
    near_chance,
)
from backend.services.models import model_for_data, probed_layers
from backend.training.align import align_frozen
from backend.training.checkpoint import EpochCheckpoint
from backend.training.config import AnalyzeConfig, DataConfig, PostHocConfig, TrainConfig
from backend.training.distributed import World
from backend.training.distributed import start as start_distributed
from backend.training.evaluate import accuracy
from backend.training.fit import train_with_alignment


def _splits(data):
    from backend.data import load_splits

    return load_splits(data.spec(), ("train", "val", "test"))


def _index_for(model: nn.Module, layers: list[str], split, device) -> NeuronIndex:
    x, *_ = next(iter(split.batches(1)))
    return neuron_index(model, layers, x.to(device))


def _train_split(meta: RunMeta):
    from backend.data import load_split

    return load_split(DataConfig.model_validate(meta.dataset).spec(), "train")


BeforeCommit = Callable[[Run], None]
"""Called with the complete but still hidden run, just before it appears."""


def finish_run(
    writer: RunWriter,
    meta: RunMeta,
    model,
    vectors: SemanticVectors,
    test_split,
    device,
    extra: dict,
    reporter: Reporter,
    before_commit: BeforeCommit | None = None,
    measure_accuracy: bool = True,
    passed: PassResult | None = None,
) -> Run:
    """Measure quality on held-out data and write everything; returns the committed run.

    `measure_accuracy` is False when the logits are not the dataset's classes. `passed`:
    what one pass over the images has measured already (its held-out activations, test
    accuracy and analysis), which then need no other forward pass."""
    report, figures = held_out_quality(
        model,
        meta.layer_paths(),
        vectors,
        test_split,
        device,
        reporter,
        train_split=lambda: _train_split(meta),
        held_out=passed.held_out if passed else None,
    )
    metrics = {"quality": figures, **extra}
    metrics["test_accuracy"] = None
    if measure_accuracy and test_split.labelled:
        metrics["test_accuracy"] = (
            passed.test_accuracy if passed else accuracy(model, test_split.batches(512), device)
        )
    if passed is not None:
        passed.analysis.save(writer.folder)
        metrics["analysis"] = analysis_metrics(passed.analysis, AnalyzeConfig())
    writer.write_meta(meta)
    writer.write_weights(model.state_dict())
    writer.write_vectors(vectors.weight.detach().cpu())
    writer.write_quality(
        {
            "r": torch.from_numpy(report.per_neuron_r),
            "precision": torch.from_numpy(report.per_neuron_precision),
        }
    )
    writer.write_metrics(metrics)
    reporter.message(
        f"{quality_line(figures)}; "
        + (
            f"test accuracy {metrics['test_accuracy']:.4f}"
            if metrics["test_accuracy"] is not None
            else "no accuracy: the images have no labels"
            if not test_split.labelled
            else "no accuracy: the model's classes are not the dataset's"
        )
    )
    if before_commit is not None:
        before_commit(writer.preview())
    return writer.commit()


def train_run(
    cfg: TrainConfig,
    name: str | None = None,
    reporter: Reporter | None = None,
    home: Path | None = None,
    checkpoint_dir: Path | None = None,
    world: World | None = None,
    before_commit: BeforeCommit | None = None,
) -> Run | None:
    """Train cfg.arch on cfg.data with alignment, then settle the vectors on the frozen model.

    With `checkpoint_dir`, every epoch is checkpointed there and a second call with the same
    folder resumes after the last finished epoch. Under torchrun (`world`), every rank
    trains; rank 0 alone settles the vectors and writes the run (the others return None).
    """
    reporter = reporter or Reporter()
    world = world or World()
    device = start_distributed(world, resolve_device(cfg.device))
    train, val, test = _splits(cfg.data)
    if train.note:
        reporter.message(train.note)
    if not train.labelled:
        raise SemvecError(
            f"{cfg.data.name} at {cfg.data.root} has no class labels (a flat folder of "
            "images): training needs class subfolders; align a trained model on it instead"
        )
    torch.manual_seed(cfg.seed)
    kwargs, model = model_for_data(cfg.arch, cfg.arch_kwargs, train)
    layers = probed_layers(model, cfg.layers)
    model.to(device)
    index = _index_for(model, layers, train, device)
    vectors = SemanticVectors(len(index), cfg.align.dim, cfg.align.seed)
    store = RunStore(home or get_settings().home)
    run_id = name or store.new_id(f"{slug(cfg.arch)}-{cfg.data.name}")
    store.ensure_free(run_id)
    checkpoint = EpochCheckpoint(checkpoint_dir) if checkpoint_dir else None
    history = train_with_alignment(
        model, layers, train, val, vectors, cfg, device, reporter, checkpoint, world
    )
    if not world.is_main:
        return None
    with store.writer(run_id) as writer:
        settle = align_frozen(model, layers, train, vectors, cfg.align, device, cfg.amp, reporter)
        meta = RunMeta(
            id=run_id,
            kind="train",
            arch=cfg.arch,
            arch_kwargs=kwargs,
            dataset=cfg.data.as_read(train),
            layers=index.to_dict(),
            logit_layer=model.logit_layer,
            vector_dim=cfg.align.dim,
            config=cfg.model_dump(),
        )
        extra = {
            "history": history,
            "settle_loss": settle[-10:],
            "warnings": run_warnings(train.skip),
        }
        return finish_run(
            writer, meta, model, vectors, test, device, extra, reporter, before_commit
        )


def align_run(
    cfg: PostHocConfig,
    name: str | None = None,
    reporter: Reporter | None = None,
    home: Path | None = None,
    before_commit: BeforeCommit | None = None,
    state: dict | None = None,
    world: World | None = None,
) -> Run | None:
    """Align a frozen model: from a run, a checkpoint + architecture, published weights,
    or the weights (`state`) of a model handed over in Python, with `cfg.arch` to rebuild
    it. See backend.services.loading.

    Under torchrun (`world`), every rank reads its share of the images in the one pass;
    rank 0 alone fits the vectors and writes the run (the others return None)."""
    reporter = reporter or Reporter()
    world = world or World()
    device = start_distributed(world, resolve_device(cfg.device))
    store = RunStore(home or get_settings().home)
    if name is not None:
        store.ensure_free(name)
    loaded = load_for_align(cfg, store, state)
    record, train, test = loaded.record, loaded.train, loaded.test
    if train.note:
        reporter.message(train.note)
    model = record.model.to(device).eval()
    check_fits(loaded, device)
    layers = probed_layers(model, cfg.layers or (record.probed_layers if cfg.run else None))
    index = _index_for(model, layers, train, device)
    vectors = SemanticVectors(len(index), cfg.align.dim, cfg.align.seed)
    from backend.data import load_split, read_like

    everything = load_split(read_like(loaded.data.spec(), train), "all")
    plan = plan_pass(
        everything, train, test, len(index), cfg.align.reference_images, cfg.align.seed
    )
    passed, warning = None, None
    if plan is None:
        if world.distributed:
            raise SemvecError(
                f"several processes share the one pass over the images, which this run "
                f"cannot take ({len(index):,} neurons, or splits not matched image by "
                "image): run it in one process"
            )
        warning = chance_warning(model, loaded, device)
        _warn(warning, reporter)
    else:
        batch = batch_for(everything.image_size, AnalyzeConfig().batch_size)
        passed = run_pass(
            model, layers, plan, cfg.align.dim, device, reporter, batch, amp=cfg.amp, world=world
        )
        if passed is None:  # another rank than 0: its share is in rank 0's statistics
            return None
        if passed.chance_accuracy is not None:
            warning = near_chance(passed.chance_accuracy, len(plan.chance_ids), loaded)
            _warn(warning, reporter)
    run_id = name or store.new_id(f"{slug(record.ref)}-{loaded.data.name}-aligned")
    with store.writer(run_id) as writer:
        if plan is None:
            losses = align_frozen(
                model, layers, train, vectors, cfg.align, device, cfg.amp, reporter
            )
        else:
            vectors.to(device)
            losses = align_to_reference(vectors, passed.reference, cfg.align, reporter)
        meta = RunMeta(
            id=run_id,
            kind="align",
            arch=record.ref,
            arch_kwargs=record.kwargs,
            arch_code=writer.write_code(record.code) if record.code else None,
            model_classes=record.classes if loaded.own_classes else None,
            dataset=loaded.data.as_read(train),
            layers=index.to_dict(),
            logit_layer=record.logit_layer,
            vector_dim=cfg.align.dim,
            config=cfg.model_dump(),
            source=loaded.source,
        )
        extra = {
            "align_loss": {"first": losses[0], "last": losses[-1], "steps": len(losses)}
            if losses
            else {},
            "input": _input_of(train),
            "warnings": ([warning] if warning else []) + run_warnings(train.skip),
        }
        return finish_run(
            writer,
            meta,
            model,
            vectors,
            test,
            device,
            extra,
            reporter,
            before_commit,
            measure_accuracy=not loaded.own_classes,
            passed=passed,
        )


def _warn(warning: str | None, reporter: Reporter) -> None:
    if warning:
        reporter.message(f"warning: {warning} ({PREPROCESS_OPTIONS})")


def _input_of(split) -> dict:
    """What the model saw, for the run's report."""
    return {
        "image_size": split.image_size,
        "channels": split.in_channels,
        "mean": list(split.mean),
        "std": list(split.std),
        "images": {"train": len(split)},
    }

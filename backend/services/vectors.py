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

from backend.core.devices import resolve_device
from backend.core.errors import SemvecError
from backend.core.progress import Reporter
from backend.core.settings import get_settings
from backend.runs.checkpoint import load_into, read_state_dict
from backend.runs.store import Run, RunMeta, RunStore, RunWriter
from backend.semantic.alignment import SemanticVectors
from backend.semantic.neurons import NeuronIndex, neuron_index
from backend.semantic.quality import collect_activations, evaluate_quality
from backend.services.models import model_for_data, probed_layers
from backend.training.align import align_frozen
from backend.training.checkpoint import EpochCheckpoint
from backend.training.config import PostHocConfig, TrainConfig
from backend.training.distributed import World
from backend.training.distributed import start as start_distributed
from backend.training.evaluate import accuracy
from backend.training.fit import train_with_alignment


def _splits(data):
    from backend.data import load_split

    spec = data.spec()
    return load_split(spec, "train"), load_split(spec, "val"), load_split(spec, "test")


def _index_for(model: nn.Module, layers: list[str], split, device) -> NeuronIndex:
    x, *_ = next(iter(split.batches(1)))
    return neuron_index(model, layers, x.to(device))


def _check_fits(model: nn.Module, split, device) -> None:
    """The model's logits must match the dataset's classes (an unlabelled set has none)."""
    if not split.labelled:
        return
    x, *_ = next(iter(split.batches(2)))
    with torch.no_grad():
        out = model.eval()(x.to(device))
    if out.shape[1] != len(split.classes):
        raise SemvecError(
            f"the model has {out.shape[1]} outputs but the dataset has {len(split.classes)} classes"
        )


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
) -> Run:
    """Measure quality on held-out data and write everything; returns the committed run."""
    reporter.stage("quality", len(test_split))
    h = collect_activations(
        model,
        meta.layer_paths(),
        test_split.batches(256),
        device,
        progress=lambda n: reporter.advance(n),
    )
    report = evaluate_quality(vectors.unit().cpu(), h)
    metrics = {"quality": report.summary(), **extra}
    metrics["test_accuracy"] = (
        accuracy(model, test_split.batches(512), device) if test_split.labelled else None
    )
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
    acc = metrics["test_accuracy"]
    reporter.message(
        f"quality on held-out data: r {report.r:.4f}, precision@{report.k} "
        f"{report.precision_at_k:.4f} ({report.live_neurons} live neurons); "
        + (f"test accuracy {acc:.4f}" if acc is not None else "no accuracy (unlabelled images)")
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
    run_id = name or store.new_id(f"{cfg.arch}-{cfg.data.name}")
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
            dataset=cfg.data.model_dump(),
            layers=index.to_dict(),
            logit_layer=model.logit_layer,
            vector_dim=cfg.align.dim,
            config=cfg.model_dump(),
        )
        extra = {"history": history, "settle_loss": settle[-10:]}
        return finish_run(
            writer, meta, model, vectors, test, device, extra, reporter, before_commit
        )


def align_run(
    cfg: PostHocConfig,
    name: str | None = None,
    reporter: Reporter | None = None,
    home: Path | None = None,
    before_commit: BeforeCommit | None = None,
) -> Run:
    """Align a frozen model loaded from a run or from a checkpoint + architecture name."""
    reporter = reporter or Reporter()
    device = resolve_device(cfg.device)
    store = RunStore(home or get_settings().home)
    if (cfg.run is None) == (cfg.checkpoint is None):
        raise SemvecError("give exactly one of a run (--run) or a checkpoint (--checkpoint)")
    if cfg.run is not None:
        source = store.open(cfg.run)
        data = type(cfg.data).model_validate(source.meta.dataset)
        arch, kwargs = source.meta.arch, source.meta.arch_kwargs
        layers_wanted = cfg.layers or source.layer_paths()
        model = source.build_model()
        train, _, test = _splits(data)
        source_label = f"run:{source.id}"
    else:
        if not cfg.arch:
            raise SemvecError("a checkpoint needs its architecture name (--arch)")
        data, arch = cfg.data, cfg.arch
        train, _, test = _splits(data)
        kwargs, model = model_for_data(arch, cfg.arch_kwargs, train)
        load_into(model, read_state_dict(cfg.checkpoint), arch)
        layers_wanted = cfg.layers
        source_label = str(cfg.checkpoint)
    model.to(device).eval()
    _check_fits(model, train, device)
    layers = probed_layers(model, layers_wanted)
    index = _index_for(model, layers, train, device)
    vectors = SemanticVectors(len(index), cfg.align.dim, cfg.align.seed)
    run_id = name or store.new_id(f"{arch}-{data.name}-aligned")
    with store.writer(run_id) as writer:
        losses = align_frozen(model, layers, train, vectors, cfg.align, device, cfg.amp, reporter)
        meta = RunMeta(
            id=run_id,
            kind="align",
            arch=arch,
            arch_kwargs=kwargs,
            dataset=data.model_dump(),
            layers=index.to_dict(),
            logit_layer=model.logit_layer,
            vector_dim=cfg.align.dim,
            config=cfg.model_dump(),
            source=source_label,
        )
        extra = {
            "align_loss": {"first": losses[0], "last": losses[-1], "steps": len(losses)}
            if losses
            else {}
        }
        return finish_run(
            writer, meta, model, vectors, test, device, extra, reporter, before_commit
        )

"""What a job will cost, from its config, before it runs: one function per kind, each
adding up backend.jobs.cost_model's measured costs (steps x images x a network pass,
epochs x images, ...). Submit refuses a job whose estimate is above the server's ceiling
(SEMVEC_MAX_JOB_HOURS)."""

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel

from backend.core.errors import SemvecError
from backend.jobs import cost_model as cm

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Estimate:
    seconds: float
    basis: str
    """What it was counted from, in words: `4,096 steps × 4 batches of 64 images at 8 px`."""

    def words(self) -> str:
        return f"{duration(self.seconds)} ({self.basis})"


class JobTooCostlyError(SemvecError):
    """A job whose estimate is above the server's ceiling (answered 422)."""


_ESTIMATORS: dict[str, Callable[[BaseModel], Estimate | None]] = {}


def estimator(kind: str):
    def wrap(fn: Callable[[BaseModel], Estimate | None]):
        _ESTIMATORS[kind] = fn
        return fn

    return wrap


def estimate(kind: str, cfg: BaseModel) -> Estimate | None:
    """The job's estimated seconds on this server, or None for a kind (or a model) that
    cannot be costed before it runs."""
    fn = _ESTIMATORS.get(kind)
    if fn is None:
        return None
    try:
        return fn(cfg)
    except Exception:  # a costing's own failure never refuses a job: it goes uncosted
        log.warning("no estimate for a %s job", kind, exc_info=True)
        return None


def check_ceiling(kind: str, found: Estimate | None) -> None:
    from backend.core.settings import get_settings

    hours = get_settings().max_job_hours
    if found is None or found.seconds <= hours * 3600:
        return
    raise JobTooCostlyError(
        f"this {kind} job is estimated at {found.words()}, above this server's ceiling of "
        f"{hours:g} h a job: ask for less (fewer steps, epochs, neurons or images), or raise "
        "the ceiling by starting the server with SEMVEC_MAX_JOB_HOURS set higher"
    )


def duration(seconds: float) -> str:
    """`about 40 s`, `about 12 min`, `about 2.8 h`, `about 3.1 days`."""
    if seconds < 90:
        return f"about {max(1, round(seconds))} s"
    if seconds < 5400:
        return f"about {seconds / 60:.0f} min"
    if seconds < 3 * 86400:
        return f"about {seconds / 3600:.1f} h"
    return f"about {seconds / 86400:,.1f} days"


# --- what the kinds share ------------------------------------------------------------------


def _flops(arch: str, kwargs: dict, facts: cm.DataFacts) -> float | None:
    """A forward pass at the data's size: with its channels, else with 3 (the job adapts
    a 3-channel model's first layer, or refuses it)."""
    found = cm.forward_flops(arch, kwargs, facts.channels, facts.size)
    return found if found is not None else cm.forward_flops(arch, kwargs, 3, facts.size)


def _run(run_id: str):
    from backend.core.settings import get_settings
    from backend.runs.store import RunStore

    return RunStore(get_settings().home).open(run_id)


def _run_model(run) -> tuple[float, cm.DataFacts] | None:
    facts = cm.data_facts(run.meta.dataset)
    if facts is None:
        return None
    flops = _flops(run.meta.arch, run.meta.arch_kwargs, facts)
    return (flops, facts) if flops is not None else None


def _finish_s(flops: float, facts: cm.DataFacts, align, analyze: bool) -> float:
    """A new run's vectors (a pass over the reference images, the steps) and, when asked,
    its analysis (a pass over every image) and PCA map."""
    reference = min(align.reference_images, facts.train)
    fit = cm.pass_s(flops, reference) + align.steps * cm.ALIGN_STEP_S
    return fit + (_analysis_s(flops, facts.all) + cm.MAP_START_S["pca"] if analyze else 0.0)


def _analysis_s(flops: float, images: int) -> float:
    return cm.pass_s(flops, images) + images * cm.ANALYSIS_IMAGE_S


def _epochs_s(flops: float, images: int, batch: int, epochs: int, test: int) -> float:
    steps = math.ceil(images / batch)
    per_epoch = cm.pass_s(flops, images, backward=True) + steps * cm.STEP_S
    return epochs * (per_epoch + cm.pass_s(flops, test))


def _px(facts: cm.DataFacts) -> str:
    return f"{facts.size} px"


# --- one function per kind ----------------------------------------------------------------


@estimator("train")
def _train(cfg) -> Estimate | None:
    facts = cm.data_facts(cfg.data.model_dump())
    flops = facts and _flops(cfg.arch, cfg.arch_kwargs, facts)
    if not flops:
        return None
    work = _epochs_s(flops, facts.train, cfg.batch_size, cfg.epochs, facts.test)
    work += _finish_s(flops, facts, cfg.align, cfg.analyze)
    basis = f"{cfg.epochs:,} epochs × {facts.train:,} images at {_px(facts)}"
    return Estimate(cm.START_S + cm.on_device(work, cfg.device), basis)


@estimator("distill")
def _distill(cfg) -> Estimate | None:
    from backend.distill.registry import get_method

    teacher = _run(cfg.teacher)
    facts = cm.data_facts(teacher.meta.dataset)
    flops = facts and _flops(cfg.student, {}, facts)
    if not flops:
        return None
    images = min(cfg.train_size or facts.train, facts.train)
    work = _epochs_s(flops, images, cfg.batch_size, cfg.epochs, facts.test)
    if get_method(cfg.method).needs_teacher:  # the teacher runs on every batch
        found = _run_model(teacher)
        work += cfg.epochs * cm.pass_s(found[0], images) if found else 0.0
    work += _finish_s(flops, facts, cfg.align, cfg.analyze)
    basis = f"{cfg.epochs:,} epochs × {images:,} images at {_px(facts)}"
    return Estimate(cm.START_S + cm.on_device(work, cfg.device), basis)


@estimator("align")
def _align(cfg) -> Estimate | None:
    if cfg.run is not None:
        run = _run(cfg.run)
        arch, kwargs = run.meta.arch, run.meta.arch_kwargs
    else:
        arch, kwargs = cfg.arch.partition("@")[0], cfg.arch_kwargs
    facts = cm.data_facts(cfg.data.model_dump())
    flops = facts and _flops(arch, kwargs, facts)
    if not flops:
        return None
    work = cm.pass_s(flops, facts.train) + _finish_s(flops, facts, cfg.align, cfg.analyze)
    basis = f"{facts.train:,} images at {_px(facts)} and {cfg.align.steps:,} steps"
    return Estimate(cm.START_S + cm.on_device(work, cfg.device), basis)


@estimator("analyze")
def _analyze(cfg) -> Estimate | None:
    found = _run_model(_run(cfg.run))
    if found is None:
        return None
    flops, facts = found
    images = facts.all if cfg.split == "all" else facts.test if cfg.split == "test" else facts.train
    work = cm.RUN_MODEL_S + _analysis_s(flops, images)
    return Estimate(cm.START_S + cm.on_device(work, cfg.device), f"{images:,} images")


@estimator("project")
def _project(cfg) -> Estimate:
    neurons = len(_run(cfg.run).index())
    seconds = cm.MAP_START_S[cfg.method] + neurons * cm.MAP_NEURON_S[cfg.method]
    return Estimate(cm.START_S + seconds, f"a {cfg.method.upper()} map of {neurons:,} neurons")


@estimator("place")
def _place(cfg) -> Estimate | None:
    from backend.services.placement import MAX_IMAGES

    found = [_run_model(_run(cfg.student)), _run_model(_run(cfg.teacher))]
    if None in found:
        return None
    images = min(found[1][1].test, MAX_IMAGES)
    work = sum(cm.RUN_MODEL_S + cm.pass_s(flops, images) for flops, _ in found)
    return Estimate(cm.START_S + cm.on_device(work, cfg.device), f"two models on {images:,} images")


@estimator("demo")
def _demo(_cfg) -> Estimate:
    return Estimate(12.0, "the digits run from its shipped weights")


@estimator("ablate")
def _ablate(cfg) -> Estimate | None:
    run = _run(cfg.run)
    found = _run_model(run)
    if found is None:
        return None
    flops, facts = found
    if cfg.layer is not None:
        passes = run.index().layer(cfg.layer).width
        what = f"{passes:,} neurons one at a time"
    else:
        passes = 1 + cfg.draws
        what = f"the selection and {cfg.draws} random draws"
    work = cm.RUN_MODEL_S + (1 + passes) * cm.pass_s(flops, facts.test)
    basis = f"{what} on {facts.test:,} images"
    return Estimate(cm.START_S + cm.on_device(work, cfg.device), basis)


@estimator("visualize")
def _visualize(cfg) -> Estimate | None:
    import torch

    from backend.analysis.feature_viz import settings_for, steps_needed
    from backend.core.devices import resolve_device
    from backend.services.feature_viz import missing

    run = _run(cfg.run)
    found = _run_model(run)
    if found is None:
        return None
    flops, facts = found
    try:
        device = resolve_device(cfg.device)
    except Exception:  # the kind's own check names the device
        device = torch.device("cpu")
    settings = settings_for(facts.size, device, cfg.steps)
    todo = len(missing(run, cfg.neuron_ids()))
    steps = steps_needed(2 * todo, settings)
    work = cm.RUN_MODEL_S + steps * (cm.pass_s(flops, settings.batch, backward=True) + cm.STEP_S)
    basis = (
        f"{settings.steps:,} steps × {math.ceil(2 * todo / settings.batch):,} batches of "
        f"{settings.batch} images at {_px(facts)}, {todo:,} neurons not yet made"
    )
    return Estimate(cm.START_S + cm.on_device(work, cfg.device), basis)

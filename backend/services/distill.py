"""Distill a student into a new run (kind `distill`): train it with one method, then give
its neurons semantic vectors (post hoc, on the frozen student) and measure them, like every
other run, so that it appears on the map.

What each method touches of the teacher:
    ce, ls, tfkd   the teacher run's description only (which dataset)
    kd, rkd, sp    the teacher model, rebuilt from its run and run on every batch
    static_free    the teacher run's description only (which dataset)
    static, static_corr   the knowledge file only; the teacher model is never built, loaded
                   or run
"""

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from backend.core.devices import resolve_device
from backend.core.errors import SemvecError
from backend.core.progress import Reporter
from backend.core.settings import get_settings
from backend.data import DataSplit, load_split
from backend.data.subset import stratified_subset
from backend.distill.config import DistillConfig
from backend.distill.knowledge import Knowledge, ensure_knowledge, load_knowledge
from backend.distill.methods import Method, MethodSetup
from backend.distill.registry import get_method
from backend.distill.teacher import LiveTeacher
from backend.distill.trainer import train_student
from backend.runs.store import Run, RunMeta, RunStore
from backend.semantic.alignment import SemanticVectors
from backend.semantic.neurons import neuron_index
from backend.services.models import model_for_data, probed_layers
from backend.services.vectors import BeforeCommit, finish_run
from backend.training.align import align_frozen
from backend.training.checkpoint import EpochCheckpoint
from backend.training.config import DataConfig
from backend.training.distributed import World
from backend.training.distributed import start as start_distributed


def _knowledge(cfg: DistillConfig, store: RunStore) -> tuple[Knowledge, str]:
    """The knowledge file static trains from, read from disk (and its path)."""
    if cfg.knowledge:
        path = Path(cfg.knowledge)
    elif cfg.teacher:
        path = ensure_knowledge(store.open(cfg.teacher), cfg.teacher_hint_layers() or [])
    else:
        raise SemvecError("static distillation needs a teacher run or a knowledge file")
    return load_knowledge(path), str(path)


def _source(cfg: DistillConfig, store: RunStore, needs_teacher: bool, reads_knowledge: bool):
    """(dataset, teacher run or None, knowledge or None, knowledge path or None, teacher id)."""
    if reads_knowledge:
        knowledge, path = _knowledge(cfg, store)
        return knowledge.dataset, None, knowledge, path, knowledge.teacher
    if cfg.teacher:
        run = store.open(cfg.teacher)
        return run.meta.dataset, run if needs_teacher else None, None, None, run.id
    if cfg.knowledge:  # a teacher-free method next to a knowledge file: same data
        knowledge = load_knowledge(Path(cfg.knowledge))
        return knowledge.dataset, None, None, None, knowledge.teacher
    raise SemvecError("give the teacher run (--teacher) or a knowledge file (--knowledge)")


@dataclass
class Student:
    """Everything one student trains with, ready for `train_student`."""

    model: nn.Module
    method: Method
    teacher: LiveTeacher | None
    train: DataSplit
    full_train: DataSplit
    test: DataSplit
    device: torch.device
    lam: float
    arch_kwargs: dict
    dataset: dict
    teacher_id: str
    knowledge_path: str | None
    sample: torch.Tensor


def prepare_student(cfg: DistillConfig, store: RunStore, world: World | None = None) -> Student:
    """The student, its method and data (and the live teacher for kd, rkd, sp)."""
    info = get_method(cfg.method)
    lam = info.default_lam if cfg.lam is None else cfg.lam
    dataset, teacher_run, knowledge, knowledge_path, teacher_id = _source(
        cfg, store, info.needs_teacher, info.reads_knowledge
    )
    device = start_distributed(world or World(), resolve_device(cfg.device))
    data = DataConfig.model_validate(dataset)
    full_train = load_split(data.spec(), "train")
    test = load_split(data.spec(), "test")
    train = stratified_subset(full_train, cfg.train_size or len(full_train), cfg.seed)
    torch.manual_seed(cfg.seed)
    kwargs, model = model_for_data(cfg.student, {}, test)
    model.to(device)
    sample = next(iter(train.batches(1)))[0].to(device)
    setup = MethodSetup(
        student=model,
        sample=sample,
        lam=lam,
        temperature=cfg.temperature,
        hint_layers=cfg.hint_layers,
        beta=cfg.beta,
        rho=cfg.rho,
        knowledge=knowledge,
        teacher=teacher_run.meta if teacher_run else None,
    )
    method = info.cls(setup)
    teacher = None
    if teacher_run is not None:
        teacher = LiveTeacher(
            teacher_run, device, method.teacher_layers, method.teacher_embedding, cfg.amp
        )
    return Student(
        model,
        method,
        teacher,
        train,
        full_train,
        test,
        device,
        lam,
        kwargs,
        data.model_dump(),
        teacher_id,
        knowledge_path,
        sample,
    )


def distill_run(
    cfg: DistillConfig,
    name: str | None = None,
    reporter: Reporter | None = None,
    home: Path | None = None,
    checkpoint_dir: Path | None = None,
    world: World | None = None,
    before_commit: BeforeCommit | None = None,
) -> Run | None:
    """Train a student of `cfg.student` with `cfg.method`; returns its committed run.

    With `checkpoint_dir`, every epoch is checkpointed there and a second call resumes after
    the last one. Under torchrun every rank trains; rank 0 alone makes the run.
    """
    reporter = reporter or Reporter()
    world = world or World()
    store = RunStore(home or get_settings().home)
    run_id = name or store.new_id(f"{cfg.student}-{cfg.method}-s{cfg.seed}")
    store.ensure_free(run_id)
    s = prepare_student(cfg, store, world)
    checkpoint = EpochCheckpoint(checkpoint_dir) if checkpoint_dir else None
    history = train_student(
        s.model, s.method, s.train, s.test, cfg, s.device, s.teacher, reporter, checkpoint, world
    )
    if not world.is_main:
        return None
    s.method = s.teacher = None  # the adapters and the live teacher end with training
    student, device = s.model, s.device
    layers = probed_layers(student, None)
    index = neuron_index(student, layers, s.sample)
    vectors = SemanticVectors(len(index), cfg.align.dim, cfg.align.seed)
    with store.writer(run_id) as writer:
        # The vectors describe the finished student, so they are fitted on the whole
        # training split whatever train_size the student learnt from.
        settle = align_frozen(
            student, layers, s.full_train, vectors, cfg.align, device, cfg.amp, reporter
        )
        meta = RunMeta(
            id=run_id,
            kind="distill",
            arch=cfg.student,
            arch_kwargs=s.arch_kwargs,
            dataset=s.dataset,
            layers=index.to_dict(),
            logit_layer=student.logit_layer,
            vector_dim=cfg.align.dim,
            config=cfg.model_dump(),
            source=s.knowledge_path or f"run:{s.teacher_id}",
        )
        record = {
            "method": cfg.method,
            "seed": cfg.seed,
            "teacher": s.teacher_id,
            "lam": s.lam,
            "train_size": len(s.train),
            "epochs": cfg.epochs,
            "student": cfg.student,
            "hint_layers": cfg.hint_layers,
            "temperature": cfg.temperature,
            "knowledge": s.knowledge_path,
            "teacher_forward": get_method(cfg.method).needs_teacher,
        }
        extra = {"history": history, "distill": record, "settle_loss": settle[-10:]}
        return finish_run(
            writer, meta, student, vectors, s.test, device, extra, reporter, before_commit
        )

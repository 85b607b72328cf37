"""What the Distillation tab shows before anything starts: the methods (from the registry,
so a new method appears by itself) and, for a teacher run, the images its students train on,
the student it proposes for them, and the knowledge file that static methods read."""

from pathlib import Path

from backend.core.errors import DatasetMissingError
from backend.distill.config import DistillConfig
from backend.distill.knowledge import (
    Knowledge,
    file_size,
    knowledge_of,
    knowledge_path,
    load_knowledge,
)
from backend.distill.students import proposed_student
from backend.runs.store import Run, RunStore


def methods() -> list[dict]:
    """Every registered distillation method with what it takes of the teacher."""
    from backend.distill.registry import get_method, list_methods

    rows = []
    for name in list_methods():
        info = get_method(name)
        rows.append(
            {
                "name": name,
                "needs_teacher": info.needs_teacher,
                "reads_knowledge": info.reads_knowledge,
                "default_lam": info.default_lam,
                "default_beta": info.default_beta,
                "default_rho": info.default_rho,
                "description": info.description,
            }
        )
    return rows


def knowledge_hints(cfg: DistillConfig) -> list[str]:
    """The teacher's hint layers in the knowledge file a job of `cfg` reads."""
    return cfg.teacher_hint_layers() or []


def _knowledge_facts(run: Run) -> dict:
    """The file a static job of this teacher (no hint layers given) reads: what it holds and
    its size; read when it exists, else described as it will be made (nothing is written)."""
    path = knowledge_path(run, knowledge_hints(DistillConfig(teacher=run.id)))
    if path.exists():
        knowledge, size = load_knowledge(path), path.stat().st_size
    else:
        knowledge = knowledge_of(run, [])
        size = file_size(knowledge)
    return {"file": path.name, "exists": path.exists(), "bytes": size, **_holds(knowledge)}


def _holds(knowledge: Knowledge) -> dict:
    return {
        "vector_dim": knowledge.vector_dim,
        "classes": knowledge.classes,
        "logit_layer": knowledge.logit_layer,
        "layers": [
            {"path": lay.path, "width": lay.width, "spatial": lay.spatial}
            for lay in knowledge.layers
        ],
    }


def _train_split(run: Run, home: Path):
    """(the teacher's training split, or None with the reason it cannot be read, the data
    home's path written `$SEMVEC_HOME`)."""
    from backend.data import load_split
    from backend.training.config import DataConfig

    try:
        return load_split(DataConfig.model_validate(run.meta.dataset).spec(), "train"), None
    except DatasetMissingError as err:
        text = str(err)
        for spelled in sorted({str(home.resolve()), str(home.absolute())}, key=len, reverse=True):
            text = text.replace(spelled, "$SEMVEC_HOME")
        return None, text


def _input_facts(split) -> dict:
    """Its images as the model sees them, and the student proposed for them (None for a
    split that cannot be read)."""
    if split is None:
        return {"input": None, "student": None}
    channels, size = split.in_channels, split.image_size
    return {
        "input": {"channels": channels, "size": size},
        "student": proposed_student(channels, size),
    }


def teacher_facts(store: RunStore, run_id: str) -> dict:
    """A teacher as the Distillation tab describes it."""
    run = store.open(run_id)
    split, problem = _train_split(run, store.runs_dir.parent)
    knowledge = _knowledge_facts(run)
    logits = run.index().layer(run.meta.logit_layer).width
    source = Path(run.meta.source).name if run.meta.source else None
    return {
        "run": run.id,
        "kind": run.meta.kind,
        "arch": run.meta.arch,
        "source": source,
        "dataset": run.meta.dataset.get("name"),
        "train_images": None if split is None else len(split),
        "data_problem": problem,
        **_input_facts(split),
        "logits": logits,
        "logits_are_classes": not run.meta.model_classes and logits == len(knowledge["classes"]),
        "knowledge": knowledge,
    }

"""The embedded default: a digits teacher shipped in model_zoo/checkpoints, so the map needs
no training. `semvec default-checkpoint` re-makes the shipped files; `semvec quickstart`
turns them into the run `digits-default` (quality, analysis, maps)."""

import json
import shutil
import tempfile
from pathlib import Path

import torch

from backend.core.devices import resolve_device
from backend.core.errors import SemvecError
from backend.core.progress import Reporter
from backend.core.settings import get_settings
from backend.runs.checkpoint import load_into, read_state_dict
from backend.runs.store import Run, RunMeta, RunStore
from backend.semantic.alignment import SemanticVectors
from backend.services.models import build_model
from backend.training.config import DataConfig, TrainConfig
from model_zoo.registry import checkpoints_dir

DEFAULT_RUN = "digits-default"
ARCH = "digits_cnn"


def shipped_files() -> tuple[Path, Path, Path]:
    folder = checkpoints_dir()
    return (
        folder / f"{ARCH}.safetensors",
        folder / f"{ARCH}.vectors.safetensors",
        folder / f"{ARCH}.json",
    )


def make_default_checkpoint(
    epochs: int = 40, device: str = "cpu", reporter: Reporter | None = None
) -> list[Path]:
    """Train the digits teacher with alignment and write the shipped files."""
    from backend.services.vectors import train_run

    cfg = TrainConfig(arch=ARCH, data=DataConfig(name="digits"), epochs=epochs, device=device)
    weights, vectors, description = shipped_files()
    with tempfile.TemporaryDirectory() as home:
        run = train_run(cfg, name="default", reporter=reporter, home=Path(home))
        shutil.copyfile(run.folder / "weights.safetensors", weights)
        shutil.copyfile(run.folder / "vectors.safetensors", vectors)
        meta = run.meta.model_dump() | {
            "metrics": run.metrics(),
            "made_by": f"semvec default-checkpoint --epochs {epochs}",
        }
        meta["metrics"].pop("history", None)
        description.write_text(json.dumps(meta, indent=2))
    return [weights, vectors, description]


def ensure_default_run(
    force: bool = False, reporter: Reporter | None = None, home: Path | None = None
) -> Run:
    """The run `digits-default`, made from the shipped files if it does not exist yet."""
    from backend.data import load_split
    from backend.services.analysis import analyze_run
    from backend.services.projection import project_run
    from backend.services.vectors import finish_run

    reporter = reporter or Reporter()
    store = RunStore(home or get_settings().home)
    if DEFAULT_RUN in store.ids():
        if not force:
            return store.open(DEFAULT_RUN)
        shutil.rmtree(store.runs_dir / DEFAULT_RUN)
    weights, vectors_file, description = shipped_files()
    if not weights.exists():
        raise SemvecError(
            f"the shipped checkpoint {weights} is missing; re-make it with "
            "`semvec default-checkpoint`"
        )
    shipped = json.loads(description.read_text())
    device = resolve_device("cpu")
    model = build_model(shipped["arch"], shipped["arch_kwargs"])
    load_into(model, read_state_dict(weights), shipped["arch"])
    saved = read_state_dict(vectors_file)["vectors"]
    vectors = SemanticVectors(saved.shape[0], saved.shape[1])
    with torch.no_grad():
        vectors.weight.copy_(saved)
    data = DataConfig.model_validate(shipped["dataset"])
    test = load_split(data.spec(), "test")
    meta = RunMeta.model_validate(shipped | {"id": DEFAULT_RUN, "source": str(weights)})

    def maps(run: Run) -> None:
        analyze_run(run, device="cpu", reporter=reporter)
        project_run(run, "pca", {}, reporter)
        project_run(run, "umap", {}, reporter)

    with store.writer(DEFAULT_RUN) as writer:
        extra = {"shipped_metrics": shipped.get("metrics", {})}
        return finish_run(writer, meta, model.eval(), vectors, test, device, extra, reporter, maps)

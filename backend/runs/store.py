"""Run folders: one trained or loaded model with its artifacts, under <home>/runs/<id>/.

    run.json              self-description: architecture + arguments, dataset, probed
                          layers (with widths), how the vectors were made
    weights.safetensors   model weights
    vectors.safetensors   semantic vectors E (N, d)
    metrics.json          quality summary and per-epoch history
    quality.safetensors   per-neuron quality
    analysis.*            top-k images, class selectivity, histograms (backend.analysis)
    projections/          cached 2-D maps (backend.projection)

A run is written into a hidden `.partial-*` folder and renamed into place only when
complete, so a failure never leaves a half-made run behind.
"""

import json
import re
import shutil
import time
import uuid
from pathlib import Path

import torch
from pydantic import BaseModel, Field
from safetensors.torch import load_file

from backend.core.errors import RunNotFoundError, SemvecError
from backend.runs.checkpoint import load_into, read_state_dict, save_state_dict
from backend.semantic.neurons import NeuronIndex

RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")


class RunMeta(BaseModel):
    id: str
    created: float = Field(default_factory=time.time)
    kind: str
    """How the vectors were made: `train` (with alignment) or `align` (post hoc)."""
    arch: str
    arch_kwargs: dict = {}
    dataset: dict
    layers: list[dict]
    logit_layer: str
    vector_dim: int
    config: dict = {}
    source: str | None = None
    """For aligned runs: the checkpoint or run the weights came from."""

    def layer_paths(self) -> list[str]:
        return [layer["path"] for layer in self.layers]


def check_run_id(run_id: str) -> str:
    if not RUN_ID.match(run_id) or ".." in run_id:
        raise SemvecError(
            f"invalid run name {run_id!r}: use 1-80 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return run_id


class Run:
    """An existing, complete run folder."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.id = folder.name
        self.meta = RunMeta.model_validate_json((folder / "run.json").read_text())

    def index(self) -> NeuronIndex:
        return NeuronIndex.from_dict(self.meta.layers)

    def layer_paths(self) -> list[str]:
        return self.meta.layer_paths()

    def build_model(self) -> torch.nn.Module:
        """The model, rebuilt from run.json and loaded with the run's weights (eval mode)."""
        from backend.services.models import build_model

        model = build_model(self.meta.arch, self.meta.arch_kwargs)
        load_into(model, read_state_dict(self.folder / "weights.safetensors"), self.meta.arch)
        return model.eval()

    def vectors(self) -> torch.Tensor:
        return load_file(str(self.folder / "vectors.safetensors"))["vectors"]

    def metrics(self) -> dict:
        path = self.folder / "metrics.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def write_metrics(self, metrics: dict) -> None:
        write_json(self.folder / "metrics.json", metrics)

    def per_neuron_quality(self) -> dict[str, torch.Tensor]:
        path = self.folder / "quality.safetensors"
        return load_file(str(path)) if path.exists() else {}

    @property
    def projections_dir(self) -> Path:
        return self.folder / "projections"


class RunWriter:
    """Builds a new run in a hidden folder; `commit()` moves it into place."""

    def __init__(self, runs_dir: Path, run_id: str):
        """Use `RunStore.writer`, which checks the name first."""
        self.runs_dir, self.id = runs_dir, run_id
        for stale in runs_dir.glob(f".partial-{run_id}-*"):  # left by a killed process
            shutil.rmtree(stale, ignore_errors=True)
        self.folder = runs_dir / f".partial-{run_id}-{uuid.uuid4().hex[:6]}"
        self.folder.mkdir(parents=True)

    def write_meta(self, meta: RunMeta) -> None:
        write_json(self.folder / "run.json", meta.model_dump())

    def write_weights(self, state: dict[str, torch.Tensor]) -> None:
        save_state_dict(state, self.folder / "weights.safetensors")

    def write_vectors(self, vectors: torch.Tensor) -> None:
        save_state_dict({"vectors": vectors.float()}, self.folder / "vectors.safetensors")

    def write_quality(self, per_neuron: dict[str, torch.Tensor]) -> None:
        save_state_dict(per_neuron, self.folder / "quality.safetensors")

    def write_metrics(self, metrics: dict) -> None:
        write_json(self.folder / "metrics.json", metrics)

    def commit(self) -> Run:
        final = self.runs_dir / self.id
        if final.exists():
            raise SemvecError(f"a run named {self.id!r} appeared meanwhile; nothing was replaced")
        self.folder.rename(final)
        return Run(final)

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> "RunWriter":
        return self

    def __exit__(self, exc_type, *_exc) -> None:
        if self.folder.exists():  # not committed: an error happened
            self.discard()


class RunStore:
    def __init__(self, home: Path):
        self.runs_dir = Path(home) / "runs"

    def new_id(self, prefix: str) -> str:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        base = check_run_id(f"{prefix}-{stamp}")
        run_id, n = base, 1
        while (self.runs_dir / run_id).exists():
            n += 1
            run_id = f"{base}-{n}"
        return run_id

    def ensure_free(self, run_id: str) -> None:
        """Fail early (before hours of training) when the name is taken or invalid."""
        if (self.runs_dir / check_run_id(run_id)).exists():
            raise SemvecError(
                f"a run named {run_id!r} already exists; choose another name (--name)"
            )

    def writer(self, run_id: str) -> RunWriter:
        self.ensure_free(run_id)
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        return RunWriter(self.runs_dir, run_id)

    def ids(self) -> list[str]:
        if not self.runs_dir.exists():
            return []
        return sorted(
            p.name
            for p in self.runs_dir.iterdir()
            if p.is_dir() and not p.name.startswith(".") and (p / "run.json").exists()
        )

    def open(self, run_id: str) -> Run:
        check_run_id(run_id)
        folder = self.runs_dir / run_id
        if not (folder / "run.json").exists():
            known = ", ".join(self.ids()) or "none yet"
            raise RunNotFoundError(f"no run named {run_id!r} in {self.runs_dir}; runs: {known}")
        return Run(folder)

    def runs(self) -> list[Run]:
        return [Run(self.runs_dir / run_id) for run_id in self.ids()]


def write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=_jsonable))
    tmp.replace(path)


def _jsonable(value):
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")

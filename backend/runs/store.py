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
complete, so a failure never leaves a half-made run behind. While it writes, the writer
holds a lock on `.partial-*.lock` beside it; a killed writer's lock is free, and the next
writer (or the next server start) removes what it left (`RunStore.clean_leftovers`).

Entries of runs/ are never followed when they are symbolic links: a link could point
anywhere outside the data home.
"""

import fcntl
import json
import os
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

RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}")
PARTIAL = ".partial-"


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
    arch_code: dict | None = None
    """For a user's own architecture (`file.py:build`): the kept copy of the file under
    code/ (`file`), its SHA-256 and the function's name (`attribute`)."""
    model_classes: list[str] | None = None
    """The model's own class names (e.g. ImageNet's 1,000 from published weights), when
    they are not the dataset's."""

    def layer_paths(self) -> list[str]:
        return [layer["path"] for layer in self.layers]


def check_run_id(run_id: str) -> str:
    """`run_id` when it is a safe folder name: no separators, no dots first, no `..`."""
    if not isinstance(run_id, str) or not RUN_ID.fullmatch(run_id) or ".." in run_id:
        raise SemvecError(
            f"invalid run name {run_id!r}: use 1-80 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return run_id


class Run:
    """An existing, complete run folder (or one being finished by a `RunWriter`)."""

    def __init__(self, folder: Path, run_id: str | None = None):
        self.folder = folder
        self.id = run_id or folder.name
        self.meta = RunMeta.model_validate_json((folder / "run.json").read_text())

    def index(self) -> NeuronIndex:
        return NeuronIndex.from_dict(self.meta.layers)

    def layer_paths(self) -> list[str]:
        return self.meta.layer_paths()

    def build_model(self) -> torch.nn.Module:
        """The model, rebuilt from run.json and loaded with the run's weights (eval mode)."""
        from backend.services.models import build_model

        model = build_model(self.meta.arch, self.meta.arch_kwargs, code=self.code_copy())
        load_into(model, read_state_dict(self.folder / "weights.safetensors"), self.meta.arch)
        return model.eval()

    def code_copy(self):
        """The run's copy of a user's model file (None for other architectures)."""
        from backend.models import CodeCopy

        kept = self.meta.arch_code
        if not kept:
            return None
        text = (self.folder / "code" / kept["file"]).read_text()
        return CodeCopy(kept["file"], kept["sha256"], kept["attribute"], text)

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
        name = f"{PARTIAL}{run_id}-{uuid.uuid4().hex[:8]}"
        self._lock = _lock(runs_dir / f"{name}.lock", create=True)  # first: see clean_leftovers
        self.folder = runs_dir / name
        self.folder.mkdir()

    def preview(self) -> Run:
        """The run as written so far, still hidden (for analysis before it appears)."""
        return Run(self.folder, self.id)

    def write_meta(self, meta: RunMeta) -> None:
        write_json(self.folder / "run.json", meta.model_dump())

    def write_code(self, copy) -> dict:
        """Keep a user's model file (a `backend.models.CodeCopy`); returns its record."""
        folder = self.folder / "code"
        folder.mkdir(exist_ok=True)
        (folder / copy.filename).write_text(copy.text)
        return copy.to_dict()

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
        if _taken(final):
            raise SemvecError(f"a run named {self.id!r} appeared meanwhile; nothing was replaced")
        try:
            self.folder.rename(final)
        except OSError as err:  # another writer committed the same name a moment earlier
            raise SemvecError(f"could not put run {self.id!r} in place: {err}") from err
        self._release()
        return Run(final)

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
        self._release()

    def _release(self) -> None:
        if self._lock is not None:
            Path(self._lock.name).unlink(missing_ok=True)
            self._lock.close()
            self._lock = None

    def __enter__(self) -> "RunWriter":
        return self

    def __exit__(self, exc_type, *_exc) -> None:
        if self._lock is not None:  # not committed: an error happened
            self.discard()


class RunStore:
    def __init__(self, home: Path):
        self.runs_dir = Path(home) / "runs"

    def new_id(self, prefix: str) -> str:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        base = check_run_id(f"{prefix}-{stamp}")
        run_id, n = base, 1
        while _taken(self.runs_dir / run_id):
            n += 1
            run_id = f"{base}-{n}"
        return run_id

    def ensure_free(self, run_id: str) -> None:
        """Fail early (before hours of training) when the name is taken or invalid."""
        if _taken(self.runs_dir / check_run_id(run_id)):
            raise SemvecError(
                f"a run named {run_id!r} already exists in {self.runs_dir}; "
                "choose another name (--name)"
            )

    def writer(self, run_id: str) -> RunWriter:
        self.ensure_free(run_id)
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        self.clean_leftovers()
        return RunWriter(self.runs_dir, run_id)

    def clean_leftovers(self) -> list[str]:
        """Remove the hidden folders of writers that died mid-write; returns their names.

        A live writer holds its lock, so its folder is kept. A folder with no lock file
        was left by an older semvec, or its writer has just committed (then it is gone).
        """
        if not self.runs_dir.is_dir():
            return []
        removed = []
        for lock_path in self.runs_dir.glob(f"{PARTIAL}*.lock"):
            lock = _lock(lock_path, create=False)
            if lock is None:  # held by a live writer, or just removed
                continue
            with lock:
                folder = lock_path.with_suffix("")
                if _remove(folder):
                    removed.append(folder.name)
                lock_path.unlink(missing_ok=True)
        for folder in self.runs_dir.glob(f"{PARTIAL}*"):
            lock_path = folder.with_name(f"{folder.name}.lock")
            if folder.suffix != ".lock" and not lock_path.exists() and _remove(folder):
                removed.append(folder.name)
        return removed

    def ids(self) -> list[str]:
        """The complete runs: real folders (never links) with a run.json."""
        if not self.runs_dir.exists():
            return []
        return sorted(
            p.name
            for p in self.runs_dir.iterdir()
            if not p.name.startswith(".")
            and not p.is_symlink()
            and p.is_dir()
            and (p / "run.json").exists()
        )

    def open(self, run_id: str) -> Run:
        return Run(self.folder_of(run_id))

    def folder_of(self, run_id: str) -> Path:
        """The folder of an existing, complete run (checked as `open` does, not read)."""
        check_run_id(run_id)
        folder = self.runs_dir / run_id
        if folder.is_symlink():
            raise SemvecError(
                f"{folder} is a symbolic link (to {os.readlink(folder)}); semvec never follows "
                "links in runs/, as they could lead outside the data home: move the run "
                "folder itself into runs/"
            )
        if not (folder / "run.json").exists():
            known = ", ".join(self.ids()) or "none yet"
            raise RunNotFoundError(f"no run named {run_id!r} in {self.runs_dir}; runs: {known}")
        return folder

    def runs(self) -> list[Run]:
        return [Run(self.runs_dir / run_id) for run_id in self.ids()]


def _taken(path: Path) -> bool:
    """Whether anything is at `path`, a dangling link included."""
    return path.is_symlink() or path.exists()


def _remove(folder: Path) -> bool:
    if folder.is_symlink() or not folder.is_dir():
        return False
    shutil.rmtree(folder, ignore_errors=True)
    return True


def _lock(path: Path, create: bool):
    """An open file holding an exclusive flock on `path` (None when taken or missing).

    The kernel frees the lock when its process dies, however it dies (SIGKILL included).
    """
    try:
        handle = path.open("a" if create else "r")
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


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

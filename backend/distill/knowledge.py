"""Static knowledge: a teacher's semantic vectors for its logit layer and for chosen hint
layers, in one small safetensors file (docs/design.md §1). A student trains from this file alone.

File layout (`knowledge.safetensors`, by default inside the teacher's run folder):

    tensors    vectors.<layer path>   (width, d) float32, the run's vector rows of that layer
    metadata   format                 "semvec-knowledge/1"
               teacher                the teacher's run id
               arch, arch_kwargs      the teacher's architecture (for the record only)
               dataset                the teacher's data spec (the student trains on it)
               classes                class names, label k = classes[k]
               logit_layer            the layer whose neurons are the classes
               vector_dim             d
               layers                 [{path, width, spatial, names}] in file order
                                      (hint layers in the teacher's order, the logit layer last)

Metadata values are JSON text (safetensors keeps only strings). Reading the file reads
these tensors and nothing else: no weights, no model.
"""

import json
import uuid
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors import SafetensorError, safe_open
from safetensors.torch import save, save_file

from backend.core.errors import CheckpointError, DatasetMissingError, UnknownNameError
from backend.runs.store import Run

FORMAT = "semvec-knowledge/1"
KNOWLEDGE_FILE = "knowledge.safetensors"


@dataclass(frozen=True)
class KnowledgeLayer:
    path: str
    vectors: torch.Tensor
    """(width, d) float32."""
    names: list[str]
    spatial: bool

    @property
    def width(self) -> int:
        return self.vectors.shape[0]

    def similarity(self) -> torch.Tensor:
        """S_T: cosine similarity of the teacher's vectors (width, width)."""
        unit = F.normalize(self.vectors.float(), dim=1)
        return unit @ unit.T


@dataclass(frozen=True)
class Knowledge:
    teacher: str
    arch: str
    arch_kwargs: dict
    dataset: dict
    classes: list[str]
    logit_layer: str
    vector_dim: int
    layers: list[KnowledgeLayer]

    def layer(self, path: str) -> KnowledgeLayer:
        for layer in self.layers:
            if layer.path == path:
                return layer
        raise UnknownNameError("knowledge layer", path, [lay.path for lay in self.layers])

    def hint_layers(self) -> list[str]:
        return [lay.path for lay in self.layers if lay.path != self.logit_layer]

    def metadata(self) -> dict:
        """What the file says besides the vectors (JSON-ready)."""
        return {
            "format": FORMAT,
            "teacher": self.teacher,
            "arch": self.arch,
            "arch_kwargs": self.arch_kwargs,
            "dataset": self.dataset,
            "classes": self.classes,
            "logit_layer": self.logit_layer,
            "vector_dim": self.vector_dim,
            "layers": [
                {"path": lay.path, "width": lay.width, "spatial": lay.spatial, "names": lay.names}
                for lay in self.layers
            ],
        }


def class_names(run: Run) -> list[str]:
    """The run's class names: from its analysis when there is one, else from its dataset,
    else (the dataset is not on this machine) the class numbers."""
    analysis = run.folder / "analysis.json"
    if analysis.exists():
        names = json.loads(analysis.read_text()).get("class_names")
        if names:
            return list(names)
    from backend.data import load_split
    from backend.training.config import DataConfig

    try:
        return load_split(DataConfig.model_validate(run.meta.dataset).spec(), "test").classes
    except DatasetMissingError:
        width = run.index().layer(run.meta.logit_layer).width
        return [str(k) for k in range(width)]


def knowledge_of(run: Run, hint_layers: list[str] | None = None) -> Knowledge:
    """The run's knowledge: the logit layer plus `hint_layers` (default: none)."""
    index = run.index()
    logit = run.meta.logit_layer
    wanted = [p for p in (hint_layers or []) if p != logit]
    for path in wanted:
        index.layer(path)  # an unknown layer names the run's layers
    wanted = [lay.path for lay in index.layers if lay.path in wanted] + [logit]
    vectors = run.vectors()
    layers = []
    for path in wanted:
        info = index.layer(path)
        rows = vectors[info.offset : info.offset + info.width].float().clone()
        names = [f"{path}:{c}" for c in range(info.width)]
        layers.append(KnowledgeLayer(path, rows, names, info.spatial))
    return Knowledge(
        teacher=run.id,
        arch=run.meta.arch,
        arch_kwargs=run.meta.arch_kwargs,
        dataset=run.meta.dataset,
        classes=class_names(run),
        logit_layer=logit,
        vector_dim=int(vectors.shape[1]),
        layers=layers,
    )


def _payload(knowledge: Knowledge) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    tensors = {f"vectors.{lay.path}": lay.vectors.contiguous() for lay in knowledge.layers}
    return tensors, {k: json.dumps(v) for k, v in knowledge.metadata().items()}


def file_size(knowledge: Knowledge) -> int:
    """Bytes the file of `knowledge` takes, without writing it."""
    return len(save(*_payload(knowledge)))


def save_knowledge(knowledge: Knowledge, path: Path) -> Path:
    """Write the file atomically (a unique temporary name, then a rename), so two jobs
    that make the same file at once never see half of it."""
    path = Path(path)
    tensors, metadata = _payload(knowledge)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    save_file(tensors, str(tmp), metadata=metadata)
    tmp.replace(path)
    return path


def export_knowledge(
    run: Run, hint_layers: list[str] | None = None, out: Path | None = None
) -> Path:
    """Write the run's knowledge file (default: <run>/knowledge.safetensors)."""
    return save_knowledge(knowledge_of(run, hint_layers), out or run.folder / KNOWLEDGE_FILE)


def load_knowledge(path: Path) -> Knowledge:
    """Read a knowledge file; a file that is not one says so (CheckpointError)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"knowledge file {path} does not exist")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            if meta.get("format") != json.dumps(FORMAT):
                raise CheckpointError(f"{path.name} is not a semvec knowledge file")
            info = {k: json.loads(v) for k, v in meta.items()}
            layers = [
                KnowledgeLayer(
                    lay["path"],
                    f.get_tensor(f"vectors.{lay['path']}").float(),
                    list(lay["names"]),
                    bool(lay["spatial"]),
                )
                for lay in info["layers"]
            ]
    except (SafetensorError, OSError, ValueError, KeyError) as err:
        raise CheckpointError(f"{path.name} is not a readable knowledge file: {err}") from err
    return Knowledge(
        teacher=info["teacher"],
        arch=info["arch"],
        arch_kwargs=info.get("arch_kwargs", {}),
        dataset=info["dataset"],
        classes=list(info["classes"]),
        logit_layer=info["logit_layer"],
        vector_dim=int(info["vector_dim"]),
        layers=layers,
    )


def _wanted_hints(run: Run, hint_layers: list[str] | None) -> list[str]:
    """The hint layers asked for (the logit layer left out), in the run's order."""
    hints = [p for p in (hint_layers or []) if p != run.meta.logit_layer]
    wanted = [lay.path for lay in run.index().layers if lay.path in hints]
    if len(wanted) != len(hints):
        missing = next(p for p in hints if p not in wanted)
        raise UnknownNameError("teacher layer", missing, run.layer_paths())
    return wanted


def knowledge_path(run: Run, hint_layers: list[str] | None) -> Path:
    """Where `ensure_knowledge` reads (or would write) the file with these hint layers:
    the run's `knowledge.safetensors` when it holds them (or is still to be made with
    none), else `knowledge-<layers>.safetensors`. Writes nothing."""
    wanted = _wanted_hints(run, hint_layers)
    default = run.folder / KNOWLEDGE_FILE
    fits = load_knowledge(default).hint_layers() == wanted if default.exists() else not wanted
    if fits:
        return default
    return run.folder / f"knowledge-{'+'.join(wanted) or 'logits'}.safetensors"


def ensure_knowledge(run: Run, hint_layers: list[str]) -> Path:
    """A knowledge file of `run` holding exactly these hint layers (and the logit layer),
    at `knowledge_path`, made from the run's vectors when missing. An existing file is
    never overwritten."""
    path = knowledge_path(run, hint_layers)
    return path if path.exists() else export_knowledge(run, _wanted_hints(run, hint_layers), path)

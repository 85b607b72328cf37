"""`Analysis`: what one pass over a dataset learnt about every neuron, and its files.

A run folder holds it as `analysis.safetensors` (every tensor; the top images' maps of
spatial layer `p` under `maps.p`) beside `analysis.json` (k, bins, image count, layers,
class names).
"""

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from backend.core.errors import SemvecError
from backend.semantic.neurons import NeuronIndex

TENSORS_FILE = "analysis.safetensors"
META_FILE = "analysis.json"
FORMAT_VERSION = 1
_MAPS_PREFIX = "maps."
_EPS = 1e-8
_TENSOR_FIELDS = (
    "top_values",
    "top_indices",
    "class_means",
    "class_counts",
    "dominant_class",
    "selectivity",
    "hist_counts",
    "hist_lo",
    "hist_hi",
    "mean",
    "std",
    "dead",
)


def selectivity(class_means: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Dominant class and class selectivity of each neuron from its class means (N, C).

    With mu_max the largest class mean and mu_rest the mean of the other classes,

        selectivity = (mu_max - mu_rest) / (|mu_max| + |mu_rest| + eps)

    For non-negative activations (after a ReLU) this is the usual
    (max - rest) / (max + rest): 0 when every class drives the neuron equally, 1 when
    only one does. The absolute values keep it in [0, 1] for signed activations too
    (e.g. logits). Classes without images (NaN means) are left out; with fewer than two
    classes present the selectivity is 0.

    Returns:
        dominant (N,) int64 and selectivity (N,) float32.
    """
    present = ~torch.isnan(class_means)
    filled = torch.where(present, class_means.double(), float("-inf"))
    top, dominant = filled.max(dim=1)
    others = present.sum(dim=1) - 1
    rest_sum = torch.where(present, class_means.double(), 0.0).sum(dim=1) - top
    rest = rest_sum / others.clamp(min=1)
    score = (top - rest) / (top.abs() + rest.abs() + _EPS)
    score = torch.where(others > 0, score, 0.0)
    return dominant, score.float()


@dataclass
class Analysis:
    """Per-neuron results of `analyze`; N neurons in `index` order, C classes.

    Attributes:
        index: the neurons (layers in order, channels in order).
        num_images: images seen in the pass.
        k, bins: top images and histogram bins kept per neuron.
        top_values: (N, k) float32, pooled activation of the top images, descending.
            Slots beyond the dataset's size hold -inf.
        top_indices: (N, k) int64 dataset index of each top image (-1 in empty slots).
        top_maps: per spatial layer path, (width, k, h, w) float16 activation map of
            each top image (for heatmaps); vector layers have none.
        class_means: (N, C) float32 mean pooled activation per class (NaN: no images).
        class_counts: (C,) int64 images per class.
        dominant_class: (N,) int64 argmax of the class means.
        selectivity: (N,) float32, see `selectivity`.
        hist_counts: (N, bins) int64; each row sums to num_images.
        hist_lo, hist_hi: (N,) float64 histogram range; edges are linspace(lo, hi, bins + 1)
            and bins are half-open [e_j, e_j+1).
        mean, std: (N,) float64 mean and population std of the pooled activation.
        dead: (N,) bool, std <= 1e-6 over the dataset.
        class_names: names of the C classes, when known.
    """

    index: NeuronIndex
    num_images: int
    k: int
    bins: int
    top_values: torch.Tensor
    top_indices: torch.Tensor
    top_maps: dict[str, torch.Tensor]
    class_means: torch.Tensor
    class_counts: torch.Tensor
    dominant_class: torch.Tensor
    selectivity: torch.Tensor
    hist_counts: torch.Tensor
    hist_lo: torch.Tensor
    hist_hi: torch.Tensor
    mean: torch.Tensor
    std: torch.Tensor
    dead: torch.Tensor
    class_names: list[str] | None = field(default=None)

    def __len__(self) -> int:
        return len(self.index)

    def hist_edges(self, neuron_id: int | None = None) -> torch.Tensor:
        """Histogram edges: (N, bins + 1) float64, or (bins + 1,) for one neuron."""
        lo, hi = self.hist_lo, self.hist_hi
        if neuron_id is not None:
            lo, hi = lo[neuron_id : neuron_id + 1], hi[neuron_id : neuron_id + 1]
        steps = torch.linspace(0.0, 1.0, self.bins + 1, dtype=torch.float64)
        edges = lo.unsqueeze(1) + (hi - lo).unsqueeze(1) * steps
        return edges[0] if neuron_id is not None else edges

    def maps_of(self, neuron_id: int) -> torch.Tensor | None:
        """(k, h, w) float16 maps of the neuron's top images, or None for a vector layer."""
        layer = self.index.layer_of(neuron_id)
        if layer.path not in self.top_maps:
            return None
        return self.top_maps[layer.path][neuron_id - layer.offset]

    def neuron_summary(self, neuron_id: int) -> dict:
        """Everything the neuron panel shows about one neuron, as JSON-ready Python values."""
        layer = self.index.layer_of(neuron_id)
        i = neuron_id
        dominant = int(self.dominant_class[i])
        top = [
            (float(value), int(image))
            for value, image in zip(
                self.top_values[i].tolist(), self.top_indices[i].tolist(), strict=True
            )
            if image >= 0
        ]
        return {
            "id": i,
            "name": self.index.name(i),
            "layer": layer.path,
            "channel": i - layer.offset,
            "spatial": layer.spatial,
            "dominant_class": dominant,
            "dominant_class_name": self.class_names[dominant] if self.class_names else None,
            "selectivity": float(self.selectivity[i]),
            "dead": bool(self.dead[i]),
            "mean": float(self.mean[i]),
            "std": float(self.std[i]),
            "class_means": [None if math.isnan(v) else v for v in self.class_means[i].tolist()],
            "top": top,
            "histogram": {
                "counts": self.hist_counts[i].tolist(),
                "edges": self.hist_edges(i).tolist(),
            },
        }

    def save(self, folder: Path) -> None:
        """Write `analysis.safetensors` and `analysis.json` into `folder` (created)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        tensors = {name: getattr(self, name).contiguous() for name in _TENSOR_FIELDS}
        for path, maps in self.top_maps.items():
            tensors[_MAPS_PREFIX + path] = maps.contiguous()
        meta = {
            "format": FORMAT_VERSION,
            "k": self.k,
            "bins": self.bins,
            "num_images": self.num_images,
            "layers": self.index.to_dict(),
            "class_names": self.class_names,
        }
        # Tensors first: a folder with the JSON is then always complete.
        tmp = folder / (TENSORS_FILE + ".tmp")
        save_file(tensors, str(tmp))
        os.replace(tmp, folder / TENSORS_FILE)
        tmp = folder / (META_FILE + ".tmp")
        tmp.write_text(json.dumps(meta, indent=1))
        os.replace(tmp, folder / META_FILE)

    @classmethod
    def load(cls, folder: Path) -> "Analysis":
        """Read what `save` wrote; a missing or inconsistent file raises SemvecError."""
        folder = Path(folder)
        meta_path, tensors_path = folder / META_FILE, folder / TENSORS_FILE
        if not (meta_path.is_file() and tensors_path.is_file()):
            raise SemvecError(f"no analysis in {folder}: {META_FILE} or {TENSORS_FILE} missing")
        meta = json.loads(meta_path.read_text())
        if meta.get("format") != FORMAT_VERSION:
            raise SemvecError(f"{meta_path}: unknown analysis format {meta.get('format')!r}")
        tensors = load_file(str(tensors_path))
        missing = [name for name in _TENSOR_FIELDS if name not in tensors]
        if missing:
            raise SemvecError(f"{tensors_path} lacks tensors {missing}")
        index = NeuronIndex.from_dict(meta["layers"])
        maps = {
            key[len(_MAPS_PREFIX) :]: value
            for key, value in tensors.items()
            if key.startswith(_MAPS_PREFIX)
        }
        analysis = cls(
            index=index,
            num_images=int(meta["num_images"]),
            k=int(meta["k"]),
            bins=int(meta["bins"]),
            top_maps=maps,
            class_names=meta.get("class_names"),
            **{name: tensors[name] for name in _TENSOR_FIELDS},
        )
        if analysis.top_values.shape != (len(index), analysis.k):
            raise SemvecError(f"{tensors_path} does not match the {len(index)} neurons of its json")
        return analysis

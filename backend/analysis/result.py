"""`Analysis`: what one pass over a dataset learnt about every neuron, and its files.

A run folder holds it as `analysis.safetensors` (every tensor; the top images' maps of
spatial layer `p` under `maps.p`) beside `analysis.json` (k, bins, image count, layers,
class names). Format 1 (before bottom and random samples and the model's predictions)
still loads, without those.
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
FORMAT_VERSION = 2
_READABLE = (1, 2)
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
_OPTIONAL_FIELDS = (
    "bottom_values",
    "bottom_indices",
    "random_values",
    "random_indices",
    "image_labels",
    "predictions",
    "confidence",
)


SELECTIVITY = (
    "point-biserial correlation between the activation and 'the image is of the dominant "
    "class': 0 when the class makes no difference, 1 when the activation alone tells that "
    "class from the others"
)
"""What `selectivity` measures, in words for the page."""


def selectivity(
    class_means: torch.Tensor, class_counts: torch.Tensor, mean: torch.Tensor, std: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Dominant class and class selectivity of each neuron.

    The dominant class c is the one with the largest mean activation. The selectivity is
    the point-biserial correlation between the activation and the indicator "image is of
    class c" over all images,

        r = (mu_c - mu_rest) / std * sqrt(p (1 - p)),   p = n_c / n,

    with mu_rest the mean activation of the other images. Unlike (max - rest) / (max +
    rest), it does not depend on the activation's offset: that ratio is 1 for any neuron
    whose other classes have negative means (every logit), so it could not rank logits.
    A dead neuron (std 0), or fewer than two classes with images, scores 0.

    Args:
        class_means: (N, C) mean activation per class (NaN: a class with no images).
        class_counts: (C,) images per class.
        mean, std: (N,) mean and population std over all n = sum(class_counts) images.

    Returns:
        dominant (N,) int64 (-1 when C is 0) and selectivity (N,) float32 (NaN when C is 0).
    """
    n_neurons, n_classes = class_means.shape
    if n_classes == 0:
        return torch.full((n_neurons,), -1, dtype=torch.int64), torch.full((n_neurons,), math.nan)
    present = ~torch.isnan(class_means)
    means = class_means.double()
    top, dominant = torch.where(present, means, float("-inf")).max(dim=1)
    counts = class_counts.double()
    n = counts.sum()
    n_top = counts[dominant]
    rest = (n * mean.double() - n_top * top) / (n - n_top).clamp(min=1)
    p = n_top / n.clamp(min=1)
    score = (top - rest) / std.double().clamp(min=_EPS) * torch.sqrt(p * (1 - p))
    usable = (present.sum(dim=1) > 1) & (std.double() > _EPS) & (n_top < n)
    score = torch.where(usable, score, 0.0).clamp(-1.0, 1.0)
    return dominant, score.float()


def _pairs(values, indices, row: int | None = None) -> list[tuple[float, int]]:
    """(value, image) pairs of one neuron, without empty slots (index -1); [] if absent."""
    if values is None or indices is None:
        return []
    if row is not None:
        values = values[row]
    if indices.dim() > 1:
        indices = indices[row]
    pairs = zip(values.tolist(), indices.tolist(), strict=True)
    return [(float(v), int(j)) for v, j in pairs if j >= 0]


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
        bottom_values, bottom_indices: (N, s) the s lowest activations, ascending, and
            their images (as the top ones).
        random_values: (N, r) every neuron's activation on r images drawn at random
            (seeded), whose dataset indices are random_indices (r,).
        image_labels: (M,) int64 label of each dataset index 0..M-1 (-1: none or unseen).
        predictions: (M,) int64 the model's top class for each image (argmax of its
            output), and confidence (M,) float32 its softmax probability; None when the
            model's output is not a (B, K) tensor.
        num_outputs: K, the width of the model's output.
        Fields after class_names are None in an analysis of format 1.
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
    bottom_values: torch.Tensor | None = None
    bottom_indices: torch.Tensor | None = None
    random_values: torch.Tensor | None = None
    random_indices: torch.Tensor | None = None
    image_labels: torch.Tensor | None = None
    predictions: torch.Tensor | None = None
    confidence: torch.Tensor | None = None
    num_outputs: int | None = None
    selectivity_measure: str | None = SELECTIVITY

    @property
    def labelled(self) -> bool:
        """Whether the images had class labels (an unlabelled folder has C = 0)."""
        return self.class_means.shape[1] > 0

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
        """Everything the neuron panel shows about one neuron, as JSON-ready Python values.

        `top`, `bottom` and `random` are lists of (activation, dataset index); a class is
        None where the images had no labels."""
        layer = self.index.layer_of(neuron_id)
        i = neuron_id
        dominant = int(self.dominant_class[i]) if self.labelled else None
        score = float(self.selectivity[i])
        return {
            "id": i,
            "name": self.index.name(i),
            "layer": layer.path,
            "channel": i - layer.offset,
            "spatial": layer.spatial,
            "dominant_class": dominant,
            "dominant_class_name": (
                self.class_names[dominant] if self.class_names and dominant is not None else None
            ),
            "selectivity": None if math.isnan(score) else score,
            "dead": bool(self.dead[i]),
            "mean": float(self.mean[i]),
            "std": float(self.std[i]),
            "class_means": [None if math.isnan(v) else v for v in self.class_means[i].tolist()],
            "top": _pairs(self.top_values[i], self.top_indices[i]),
            "bottom": _pairs(self.bottom_values, self.bottom_indices, i),
            "random": _pairs(self.random_values, self.random_indices, i),
            "histogram": {
                "counts": self.hist_counts[i].tolist(),
                "edges": self.hist_edges(i).tolist(),
            },
        }

    def image_facts(self, image: int) -> dict:
        """{label, prediction, confidence} of dataset index `image`, each None if unknown."""

        def at(values: torch.Tensor | None):
            if values is None or not 0 <= image < len(values):
                return None
            value = values[image].item()
            return None if value == -1 or value != value else value

        return {
            "label": at(self.image_labels),
            "prediction": at(self.predictions),
            "confidence": at(self.confidence),
        }

    def save(self, folder: Path) -> None:
        """Write `analysis.safetensors` and `analysis.json` into `folder` (created)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        tensors = {name: getattr(self, name).contiguous() for name in _TENSOR_FIELDS}
        for name in _OPTIONAL_FIELDS:
            if getattr(self, name) is not None:
                tensors[name] = getattr(self, name).contiguous()
        for path, maps in self.top_maps.items():
            tensors[_MAPS_PREFIX + path] = maps.contiguous()
        meta = {
            "format": FORMAT_VERSION,
            "k": self.k,
            "bins": self.bins,
            "num_images": self.num_images,
            "layers": self.index.to_dict(),
            "class_names": self.class_names,
            "num_outputs": self.num_outputs,
            "selectivity_measure": self.selectivity_measure,
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
        if meta.get("format") not in _READABLE:
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
            num_outputs=meta.get("num_outputs"),
            # Format 1 stored (max - rest) / (|max| + |rest|) and did not say so.
            selectivity_measure=meta.get("selectivity_measure"),
            **{name: tensors[name] for name in _TENSOR_FIELDS},
            **{name: tensors.get(name) for name in _OPTIONAL_FIELDS},
        )
        if analysis.top_values.shape != (len(index), analysis.k):
            raise SemvecError(f"{tensors_path} does not match the {len(index)} neurons of its json")
        return analysis

"""The CIFAR-10 KD benchmark's teacher side: the public ResNet-56 (option A) loaded from its
checkpoint, its knowledge file made with semvec's aligner, and its outputs on a fixed set
of augmented epochs, computed once and replayed to every method that reads the teacher.

Why replay: a ResNet-56 forward costs ~2.4 resnet8 training steps on one CPU core, and kd,
rkd and sp need it on every batch of every seed. The augmentation of epoch e is the same
for every method and seed (bench/kd_cifar.py), so the teacher's outputs for it are
computed once; the student then sees exactly what a live teacher would have given it.
"""

import json
import time
from pathlib import Path

import numpy as np
import torch

import model_zoo
from backend.data.augment import ShiftFlip
from backend.data.memory import ArraySplit
from backend.distill.knowledge import Knowledge, KnowledgeLayer, load_knowledge, save_knowledge
from backend.distill.taps import Features, Taps
from backend.runs.checkpoint import load_into, read_state_dict
from backend.runs.store import RunMeta
from backend.semantic.alignment import SemanticVectors
from backend.semantic.neurons import neuron_index
from backend.training.align import align_frozen
from backend.training.config import AlignConfig, DataConfig
from bench import cifar_data
from bench.own_model import CIFAR_MEAN, CIFAR_STD, TEACHER, _need

ARCH, TEACHER_ID = "resnet56_a", "resnet56-cifar10"
KNOWLEDGE_LAYERS = ["layer2.8", "layer3.8", "linear"]
"""The last block of stages 2 and 3 (the penultimate features: their pooled output is
what `linear` reads) and the logit layer."""


def load_teacher(device: torch.device) -> torch.nn.Module:
    """The public checkpoint in the zoo's resnet56_a, frozen, in eval mode."""
    model = model_zoo.get_model(ARCH, num_classes=10)
    load_into(model, read_state_dict(_need(TEACHER)), ARCH)
    return model.to(device).eval().requires_grad_(False)


def dataset_spec() -> dict:
    """What the knowledge file records as its data: the unpacked JPEG folders."""
    root = cifar_data.folder("train").parent
    cifar_data.folder("test")
    return DataConfig(
        name="imagefolder", root=str(root), mean=CIFAR_MEAN, std=CIFAR_STD
    ).model_dump()


def array_split(x: torch.Tensor, y: torch.Tensor, classes: list[str], part: str) -> ArraySplit:
    """uint8 (N, 3, 32, 32) images as a semvec split (what the aligner reads)."""
    raw = x.permute(0, 2, 3, 1).contiguous().numpy()
    return ArraySplit(
        raw=raw,
        positions=np.arange(len(x)),
        pool_labels=y,
        pixels=x.float() / 255.0,
        name="cifar10-jpeg",
        split=part,
        classes=classes,
        in_channels=3,
        image_size=32,
        mean=CIFAR_MEAN,
        std=CIFAR_STD,
        augment=ShiftFlip(4, flip=True),
    )


def teacher_meta(model: torch.nn.Module) -> RunMeta:
    """The teacher's description (its layers), which rkd and sp set themselves up from."""
    sample = torch.zeros(1, 3, 32, 32, device=next(model.parameters()).device)
    index = neuron_index(model, list(model.probed_layers), sample)
    return RunMeta(
        id=TEACHER_ID,
        kind="align",
        arch=ARCH,
        dataset={},
        layers=index.to_dict(),
        logit_layer=model.logit_layer,
        vector_dim=64,
        source=str(TEACHER),
    )


def make_knowledge(path: Path, device: torch.device) -> Knowledge:
    """The teacher's knowledge file at `path` (made once): semantic vectors of
    KNOWLEDGE_LAYERS aligned post hoc on the 50,000 training photos, 200 steps from the
    eigen-start (semvec's defaults), one cached forward pass over the photos."""
    if path.exists():
        return load_knowledge(path)
    x, y, classes = cifar_data.load("train")
    split = array_split(x, y, classes, "train")
    model = load_teacher(device)
    sample = split.batches(1).__next__()[0].to(device)
    index = neuron_index(model, KNOWLEDGE_LAYERS, sample)
    vectors = SemanticVectors(len(index), 64, seed=0)
    started = time.perf_counter()
    cfg = AlignConfig(reference_images=len(split))
    align_frozen(model, KNOWLEDGE_LAYERS, split, vectors, cfg, device, amp=False)
    weight = vectors.weight.detach().float().cpu()
    layers = [
        KnowledgeLayer(
            lay.path,
            weight[lay.offset : lay.offset + lay.width].clone(),
            [f"{lay.path}:{c}" for c in range(lay.width)],
            lay.spatial,
        )
        for lay in index.layers
    ]
    knowledge = Knowledge(
        teacher=TEACHER_ID,
        arch=ARCH,
        arch_kwargs={"num_classes": 10},
        dataset=dataset_spec(),
        classes=classes,
        logit_layer=model.logit_layer,
        vector_dim=64,
        layers=layers,
    )
    save_knowledge(knowledge, path)
    print(f"knowledge file {path} made in {time.perf_counter() - started:.0f} s", flush=True)
    return knowledge


class TeacherTable:
    """The teacher's logits, embedding and `layers`' outputs for every image of every
    augmented epoch, on disk (float16 .npy, memory-mapped), made once per protocol."""

    def __init__(self, folder: Path, layers: list[str]):
        self.folder, self.layers = folder, list(layers)

    def _file(self, epoch: int, name: str) -> Path:
        return self.folder / f"e{epoch:03d}-{name}.npy"

    def build(self, model, images_of_epoch, epochs: int, device, batch: int = 250) -> float:
        """Compute what is missing; returns the teacher's forward seconds per epoch (the
        mean over the epochs computed now, else the one recorded before): process CPU
        time, which leaves out the time other processes take the shared cores away."""
        self.folder.mkdir(parents=True, exist_ok=True)
        timing = self.folder / "seconds.json"
        spent = []
        with Taps(model, self.layers, embedding_of=model.logit_layer) as taps:
            for epoch in range(epochs):
                if self._file(epoch, "logits").exists():
                    continue
                x = images_of_epoch(epoch)
                started = time.process_time()
                parts: dict[str, list] = {}
                with torch.no_grad():
                    for i in range(0, len(x), batch):
                        f = taps.features(model(cifar_data.normalise(x[i : i + batch].to(device))))
                        named = {"logits": f.logits, "embedding": f.embedding, **f.outputs}
                        for name, t in named.items():
                            parts.setdefault(name, []).append(t.half().cpu())
                spent.append(time.process_time() - started)
                for name, chunks in parts.items():  # logits last: it marks a finished epoch
                    if name != "logits":
                        np.save(self._file(epoch, name), torch.cat(chunks).numpy())
                np.save(self._file(epoch, "logits"), torch.cat(parts["logits"]).numpy())
                print(f"  teacher epoch {epoch + 1}/{epochs}: {spent[-1]:.1f} s", flush=True)
        if spent:
            timing.write_text(json.dumps({"seconds_per_epoch": sum(spent) / len(spent)}))
        return json.loads(timing.read_text())["seconds_per_epoch"]

    def epoch(self, epoch: int) -> dict[str, np.ndarray]:
        names = ["logits", "embedding", *self.layers]
        return {n: np.load(self._file(epoch, n), mmap_mode="r") for n in names}


class ReplayTeacher:
    """Stands where the trainer's live teacher stands (`teacher(x) -> Features`), and
    answers with the table's rows for the batch the loop announced with `at`."""

    def __init__(self, table: TeacherTable, device: torch.device):
        self.table, self.device = table, device
        self._epoch, self._rows, self._idx = -1, {}, None

    def at(self, epoch: int, idx: torch.Tensor) -> None:
        if epoch != self._epoch:
            self._epoch, self._rows = epoch, self.table.epoch(epoch)
        self._idx = np.sort(idx.numpy()), idx.numpy()

    def __call__(self, x: torch.Tensor) -> Features:
        order, idx = self._idx
        # Memory-mapped rows read fastest in file order; then put back in batch order.
        back = np.searchsorted(order, idx)

        def rows(name: str) -> torch.Tensor:
            t = torch.from_numpy(np.ascontiguousarray(self._rows[name][order][back]))
            return t.to(self.device, torch.float32)

        outputs = {name: rows(name) for name in self.table.layers}
        return Features(rows("logits"), outputs, rows("embedding"))

"""A student's neurons on its teacher's map.

Both models see the same held-out images; each student neuron is placed among the
teacher neurons its activations correlate with most (a weighted mean of their map
positions), and the logit neurons, which mean the same class in both, are matched one
to one. The matching runs both models, so it is a job (`place`); the page only reads
its result, `placements/<teacher>.json` in the student's run folder.
"""

from pathlib import Path

import numpy as np
import torch

from backend.core.devices import resolve_device
from backend.core.errors import SemvecError
from backend.core.progress import Reporter
from backend.runs.store import Run, write_json
from backend.semantic.quality import collect_activations, standardise
from backend.training.config import DataConfig

TOP_K = 5
MAX_IMAGES = 2048


def placement_path(student: Run, teacher_id: str) -> Path:
    return student.folder / "placements" / f"{teacher_id}.json"


def _logit_offset(run: Run) -> tuple[int, int]:
    """(first neuron id, width) of the run's logit layer (else its last probed layer)."""
    index = run.index()
    name = run.meta.logit_layer
    paths = [layer.path for layer in index.layers]
    layer = index.layers[paths.index(name)] if name in paths else index.layers[-1]
    return layer.offset, layer.width


def place_on_teacher(
    student: Run, teacher: Run, device: str = "auto", reporter: Reporter | None = None
) -> Path:
    reporter = reporter or Reporter()
    s_data, t_data = student.meta.dataset.get("name"), teacher.meta.dataset.get("name")
    if s_data != t_data:
        raise SemvecError(
            f"{student.id} learned {s_data} and {teacher.id} learned {t_data}: a student can "
            "only be drawn on a teacher trained on the same dataset"
        )
    from backend.data import load_split

    dev = resolve_device(device)
    split = load_split(DataConfig.model_validate(teacher.meta.dataset).spec(), "test")
    images = min(len(split), MAX_IMAGES)
    reporter.stage("activations of both models", 2 * images)
    acts = []
    for run in (student, teacher):
        model = run.build_model().to(dev)
        with torch.no_grad():
            acts.append(
                collect_activations(
                    model,
                    run.layer_paths(),
                    split.batches(256, shuffle=False),
                    dev,
                    max_images=images,
                    progress=reporter.advance,
                )
            )
    (z_s, _), (z_t, _) = (standardise(h) for h in acts)
    corr = (z_s.T @ z_t).numpy()  # (student neurons, teacher neurons), Pearson r
    k = min(TOP_K, corr.shape[1])
    top = np.argsort(-corr, axis=1)[:, :k]
    s_logit, s_width = _logit_offset(student)
    t_logit, t_width = _logit_offset(teacher)
    pairs = (
        [[s_logit + c, t_logit + c, round(float(corr[s_logit + c, t_logit + c]), 4)]
         for c in range(s_width)]
        if s_width == t_width
        else []
    )  # fmt: skip
    path = placement_path(student, teacher.id)
    path.parent.mkdir(exist_ok=True)
    write_json(
        path,
        {
            "student": student.id,
            "teacher": teacher.id,
            "images": images,
            "top_ids": top.tolist(),
            "top_corr": np.take_along_axis(corr, top, axis=1).round(4).tolist(),
            "logit_pairs": pairs,
        },
    )
    reporter.message(f"placed {corr.shape[0]} neurons of {student.id} on {teacher.id}")
    return path


def student_positions(placement: dict, teacher_xy: np.ndarray) -> np.ndarray:
    """(student neurons, 2): each at the correlation-weighted mean of its best teacher
    neurons' positions (weights: positive r; the single best when none is positive);
    logit neurons exactly on their teacher counterpart."""
    ids = np.asarray(placement["top_ids"])
    corr = np.asarray(placement["top_corr"], dtype=np.float64)
    weights = np.clip(corr, 0, None)
    none_positive = weights.sum(axis=1) == 0
    weights[none_positive, 0] = 1.0
    weights /= weights.sum(axis=1, keepdims=True)
    xy = (teacher_xy[ids] * weights[..., None]).sum(axis=1)
    for s_id, t_id, _ in placement["logit_pairs"]:
        xy[s_id] = teacher_xy[t_id]
    return xy.astype(np.float32)

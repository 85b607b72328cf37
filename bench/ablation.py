"""Do semantic neighbours matter more than random neurons? (issue 15's study)

On the digits teacher (`digits-default`, made from the shipped checkpoint): for every
neuron, its 10 nearest semantic neighbours (64-d cosine, the neuron itself left out) are
knocked out together, and, as the control, `--draws` sets of 10 random neurons with the
same count in each layer. Every group runs on the 359 held-out images in the same
batched passes (backend/ablation). Per group: the drop of accuracy (points) and the
largest drop of one class's accuracy; the table compares the semantic groups with their
controls (paired, anchor by anchor), overall and by the anchor's layer.

With `--model resnet56`: the same on the public CIFAR-10 ResNet-56 of ../shared/data,
aligned post hoc by semvec's own `align_run` on 5,000 of the CIFAR-10 training photos (500
per class) and ablated on `--test-per-class` × 10 test photos; `--anchors` neurons drawn
at random serve as anchors (every neuron × (1 + draws) full passes is hours on 2 CPUs). The
run is made once and kept in bench/out/ablation-cifar-home/.

Run: `make bench-ablation` (or `.venv/bin/python -m bench.ablation [--modes zero,mean]`),
`make bench-ablation-cifar`; writes bench/out/ablation[-resnet56].json.
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from backend.ablation.control import control_draws, keep_masks
from backend.ablation.measure import (
    ablate_replicas,
    base_class_correct,
    baseline,
    class_counts,
)
from backend.data import load_split
from backend.projection.neighbors import all_neighbors
from backend.services.ablation import SPLIT
from backend.services.default_run import ensure_default_run
from backend.training.config import DataConfig

OUT = Path(__file__).resolve().parent / "out"


def _effects(stats, counts, base_correct) -> tuple[np.ndarray, np.ndarray]:
    """Per replica: drop of accuracy (points) and the largest drop of one class (points)."""
    n = counts.clamp(min=1).float()
    base_total = base_correct.sum() / counts.sum()
    total = stats.correct.sum(dim=1) / counts.sum()
    per_class = (stats.correct / n - base_correct / n) * 100
    return ((base_total - total) * 100).numpy(), (-per_class.min(dim=1).values).numpy()


def _paired(semantic: np.ndarray, control: np.ndarray) -> dict:
    diff = semantic - control
    return {
        "semantic": round(float(semantic.mean()), 3),
        "random": round(float(control.mean()), 3),
        "difference": round(float(diff.mean()), 3),
        "stderr": round(float(diff.std(ddof=1) / np.sqrt(len(diff))), 3),
        "semantic_worse_share": round(float((diff > 0).mean()), 3),
        "anchors": len(diff),
    }


def study(run, mode: str, draws: int, k: int, seed: int, anchors: int | None = None) -> dict:
    """Semantic groups against their controls; every neuron is an anchor, or `anchors`
    of them drawn at random."""
    device = torch.device("cpu")
    index = run.index()
    split = load_split(DataConfig.model_validate(run.meta.dataset).spec(), SPLIT)
    model = run.build_model()
    paths = [layer.path for layer in index.layers]
    base = baseline(model, paths, split.batches(256), device)
    neighbours, _ = all_neighbors(run.vectors(), k=k)
    chosen = range(len(index))
    if anchors is not None and anchors < len(index):
        chosen = sorted(np.random.default_rng(seed).choice(len(index), anchors, replace=False))
    groups, controls = [], []
    for anchor in chosen:
        group = sorted(int(i) for i in neighbours[anchor])
        groups.append(group)
        controls += control_draws(index, group, draws, seed + anchor)
    masks = keep_masks(index, groups + controls)
    fill = {p: base.means[p] for p in masks} if mode == "mean" else None
    started = time.perf_counter()
    stats = ablate_replicas(model, paths, masks, base, split, device, len(split.classes), fill)
    seconds = time.perf_counter() - started
    counts = class_counts(base, len(split.classes))
    drop, class_drop = _effects(stats, counts, base_class_correct(base, len(split.classes)))
    n = len(groups)
    sem_drop, ctl_drop = drop[:n], drop[n:].reshape(n, draws).mean(axis=1)
    sem_class, ctl_class = class_drop[:n], class_drop[n:].reshape(n, draws).mean(axis=1)
    layer_of = np.array([index.layer_of(int(i)).path for i in chosen])
    by_layer = {
        path: _paired(sem_drop[layer_of == path], ctl_drop[layer_of == path])
        for path in paths
        if (layer_of == path).sum() > 1
    }
    return {
        "model": run.meta.arch,
        "neurons": len(index),
        "base_accuracy": round(
            float(base_class_correct(base, len(split.classes)).sum()) / base.images * 100, 2
        ),
        "mode": mode,
        "anchors": n,
        "group_size": k,
        "draws": draws,
        "images": base.images,
        "replicas": n * (1 + draws),
        "seconds": round(seconds, 1),
        "accuracy_drop": _paired(sem_drop, ctl_drop),
        "largest_class_drop": _paired(sem_class, ctl_class),
        "accuracy_drop_by_anchor_layer": by_layer,
    }


def cifar_run(home: Path, test_per_class: int):
    """The ResNet-56 run of the study (made once): aligned on 500 training photos per
    class, its held-out split `test_per_class` test photos per class."""
    from backend.runs.store import RunStore
    from backend.services.vectors import align_run
    from backend.training.config import AlignConfig, PostHocConfig
    from bench.own_model import CIFAR_MEAN, CIFAR_STD, TEACHER, _need, _subset_folder, _unpack

    name = f"resnet56-cifar-t{test_per_class}"
    store = RunStore(home)
    if name in store.ids():
        return store.open(name)
    full = _unpack(home)
    root = home / "datasets" / f"cifar-5000-t{test_per_class}"
    if not root.exists():
        _subset_folder(full / "train", root / "train", 500)
        _subset_folder(full / "test", root / "test", test_per_class)
    cfg = PostHocConfig(
        checkpoint=str(_need(TEACHER)),
        arch="resnet56_a",
        data=DataConfig(name="imagefolder", root=str(root), mean=CIFAR_MEAN, std=CIFAR_STD),
        device="cpu",
        align=AlignConfig(reference_images=5000),
    )
    started = time.perf_counter()
    run = align_run(cfg, name=name, home=home)
    print(f"{name}: aligned in {time.perf_counter() - started:.0f} s", flush=True)
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["digits", "resnet56"], default="digits")
    parser.add_argument("--modes", default="zero,mean")
    parser.add_argument("--draws", type=int, default=5)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--anchors", type=int, help="anchors drawn at random (default: all)")
    parser.add_argument("--test-per-class", type=int, default=50)
    args = parser.parse_args()
    torch.set_num_threads(1)
    modes = args.modes.split(",")
    if args.model == "resnet56":
        run = cifar_run(OUT / "ablation-cifar-home", args.test_per_class)
        with torch.no_grad():
            results = [study(run, m, args.draws, args.k, args.seed, args.anchors) for m in modes]
    else:
        with tempfile.TemporaryDirectory() as home, torch.no_grad():
            run = ensure_default_run(home=Path(home))
            results = [study(run, m, args.draws, args.k, args.seed, args.anchors) for m in modes]
    OUT.mkdir(exist_ok=True)
    suffix = "" if args.model == "digits" else f"-{args.model}"
    (OUT / f"ablation{suffix}.json").write_text(json.dumps(results, indent=2))
    for r in results:
        a, c = r["accuracy_drop"], r["largest_class_drop"]
        print(
            f"{r['mode']}: {r['anchors']} anchors × (1 + {r['draws']}) groups of {r['group_size']}"
            f" in {r['seconds']} s · accuracy drop semantic {a['semantic']} vs random "
            f"{a['random']} points (paired diff {a['difference']} ± {a['stderr']}, semantic "
            f"worse for {a['semantic_worse_share']:.0%}) · largest class drop "
            f"{c['semantic']} vs {c['random']}"
        )
        for path, row in r["accuracy_drop_by_anchor_layer"].items():
            print(
                f"   anchors in {path}: {row['semantic']} vs {row['random']} "
                f"(diff {row['difference']} ± {row['stderr']}, n={row['anchors']})"
            )


if __name__ == "__main__":
    main()

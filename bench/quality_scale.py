"""Steps and time to reach the rank-d bound, eigen-start vs random start, at ~1k and ~9k
neurons on CIFAR-10 JPEGs (docs/quality.md). Reads ../shared/data (see its README).

1. The public CIFAR-10 ResNet-56 (1,018 neurons: 27 block outputs + logits), trained.
2. torchvision ResNet-50 at 32 px, layer1-3 block outputs + a 10-way fc (8,970 neurons).
   No pretrained weights are on this machine, so it has its random initialisation.

For each: the reference (ceiling and bound, from REFERENCE_IMAGES class-balanced training
images) once, then each start aligns until its held-out P@10 is >= 0.97 of the bound's,
checked every CHECK steps, at most MAX_STEPS. Times exclude the checks. About 100k
neurons is not measured: see docs/benchmarks.md.

Run with `make bench-quality-scale` (about 25 minutes on 2 shared CPU cores);
writes bench/out/quality_scale.json.
"""

import json
import os
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import torch

import model_zoo
from backend.data import DataSpec, load_split
from backend.runs.checkpoint import load_into, read_state_dict
from backend.semantic.alignment import SemanticVectors
from backend.semantic.quality import collect_activations, evaluate_quality, reference_figures
from backend.semantic.reference import reference_for
from backend.semantic.sample import balanced_sample
from backend.training.align import align_frozen
from backend.training.config import AlignConfig
from backend.training.evaluate import accuracy

OUT = Path(__file__).parent / "out"
SHARED = Path(os.environ.get("SEMVEC_SHARED_DATA", Path(__file__).parents[1] / "../shared/data"))
REFERENCE_IMAGES, HELD_OUT, CHECK, MAX_STEPS, GOAL = 8192, 2048, 25, 1500, 0.97
CPU = torch.device("cpu")


def unpack(tmp: Path) -> Path:
    for name in ("train", "test"):
        archive = SHARED / "cifar10" / f"{name}.tar.gz"
        if not archive.exists():
            sys.exit(f"missing {archive}; see ../shared/data/README.md")
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")
    return tmp / "cifar10"


def resnet50_10k(_split):
    import torchvision

    torch.manual_seed(0)
    model = torchvision.models.resnet50(num_classes=10).eval()
    layers = [f"layer{s}.{i}" for s, n in ((1, 3), (2, 4), (3, 6)) for i in range(n)] + ["fc"]
    return model, layers


CIFAR = {"mean": (0.4914, 0.4822, 0.4465), "std": (0.2023, 0.1994, 0.2010)}
"""The normalisation the public ResNet-56 was trained with."""


def resnet56_1k(split):
    """The public checkpoint through semvec's own path: the zoo's option-A `resnet56_a`."""
    teacher = SHARED / "teachers" / "resnet56-cifar10.th"
    if not teacher.exists():
        sys.exit(f"missing {teacher}")
    model = model_zoo.get_model("resnet56_a")
    load_into(model, read_state_dict(teacher), "resnet56_a")
    return model.eval(), model.probed_layers


def race(model, layers, train, h, reference, bound_p, init: str) -> dict:
    """Align from `init` until P@10 >= GOAL * bound; steps, seconds and the trace."""
    vectors = SemanticVectors(h.shape[1], 64)
    trace, checking, started = [], [0.0], time.perf_counter()

    def check(step, v):
        if step % CHECK:
            return False
        t = time.perf_counter()
        p = evaluate_quality(v.unit().cpu(), h).precision_at_k
        checking[0] += time.perf_counter() - t
        trace.append([step, round(time.perf_counter() - started - checking[0], 1), round(p, 4)])
        return p >= GOAL * bound_p

    cfg = AlignConfig(init=init, steps=MAX_STEPS, reference_images=REFERENCE_IMAGES)
    align_frozen(model, layers, train, vectors, cfg, CPU, on_step=check, reference=reference)
    reached = trace[-1][2] >= GOAL * bound_p
    return {
        "reached": reached,
        "steps": trace[-1][0] if reached else None,
        "align_seconds": trace[-1][1] if reached else None,
        "best_p_at_10": max(p for *_, p in trace),
        "trace": trace,
    }


def case(label, build, root: Path, **data) -> dict:
    spec = DataSpec(name="imagefolder", root=str(root), image_size=32, **data)
    train, test = load_split(spec, "train"), load_split(spec, "test")
    model, layers = build(train)
    held = balanced_sample(test, HELD_OUT)
    h = collect_activations(model, layers, held.batches(256), CPU, max_images=HELD_OUT)
    t = time.perf_counter()
    reference = reference_for(model, layers, train, CPU, h.shape[1], 64, REFERENCE_IMAGES)
    ref_seconds = time.perf_counter() - t
    figures = reference_figures(reference, h)
    bound_p = figures["bound"]["precision_at_10"]
    row = {
        "neurons": h.shape[1],
        "held_out_images": HELD_OUT,
        "test_accuracy": accuracy(model, held.batches(512), CPU),
        "reference_seconds": round(ref_seconds, 1),
        **figures,
    }
    for init in ("eigen", "random"):
        result = race(model, layers, train, h, reference, bound_p, init)
        if result["reached"]:
            # the random start needs the reference only for the report; the eigen-start
            # cannot begin without it
            result["seconds_to_bound"] = result["align_seconds"] + (
                row["reference_seconds"] if init == "eigen" else 0.0
            )
        row[init] = result
        print(
            label,
            init,
            json.dumps({k: v for k, v in result.items() if k != "trace"}),
            file=sys.stderr,
            flush=True,
        )
    return row


def main() -> None:
    torch.set_num_threads(2)
    results = {
        "load": f"measured on 2 CPU cores shared with other work ({os.getloadavg()[0]:.1f} load)"
    }
    with tempfile.TemporaryDirectory() as tmp:
        root = unpack(Path(tmp))
        for label, build, data in (
            ("resnet56 (1k)", resnet56_1k, CIFAR),
            ("resnet50 random init (9k)", resnet50_10k, {}),
        ):
            results[label] = case(label, build, root, **data)
    OUT.mkdir(exist_ok=True)
    (OUT / "quality_scale.json").write_text(json.dumps(results, indent=2))
    for label, row in results.items():
        if label == "load":
            continue
        ceiling, bound = row["ceiling"]["precision_at_10"], row["bound"]["precision_at_10"]
        print(
            f"{label:28s} N {row['neurons']:5d}  ceiling P@10 {ceiling:.3f}  bound {bound:.3f}"
            f"  reference {row['reference_seconds']:.0f} s"
        )
        for init in ("eigen", "random"):
            r = row[init]
            reach = (
                f"{r['steps']} steps, {r['seconds_to_bound']:.0f} s"
                if r["reached"]
                else "not reached"
            )
            print(f"    {init:6s} start: {reach} (best P@10 {r['best_p_at_10']:.3f})")


if __name__ == "__main__":
    main()

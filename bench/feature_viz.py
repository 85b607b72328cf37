"""What feature visualisation costs on this machine (issue 15): seconds per optimiser step
of one batch of images at each model's input size, and from that what one neuron and a
whole layer take at the defaults a `visualize` job uses (`settings_for`: steps and batch by
input size and device).

- the digits teacher (8 px, `digits-default` from the shipped checkpoint): its last
  convolution, both signs, optimised in full;
- the public CIFAR-10 ResNet-56 (32 px, ../shared/data): `layer3.8`, `--steps` steps of one
  batch timed;
- torchvision resnet50 (224 px) with random weights (no ImageNet weights are on this
  machine; a step costs the same with any weights): `layer3.5` and `layer4.2`, `--steps`
  steps of one batch timed.

A layer of W neurons costs `steps_needed(2 W)` steps (an exciting and a suppressing image
per neuron), at the seconds per step measured here.

Run: `make bench-feature-viz` (or `.venv/bin/python -m bench.feature_viz [--steps 8]`);
writes bench/out/feature_viz.json. The ResNet-56 part needs ../shared/data.
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch
import torchvision

from backend.analysis.feature_viz import Preprocess, optimise, settings_for, steps_needed
from backend.semantic.neurons import resolve_modules
from backend.services.default_run import ensure_default_run
from backend.services.feature_viz import preprocess_of

OUT = Path(__file__).resolve().parent / "out"
IMAGENET = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def _width(model: torch.nn.Module, layer: str, pre: Preprocess) -> int:
    """Channels of `layer`'s output, from one forward pass."""
    (module,) = resolve_modules(model, [layer])
    seen = []
    handle = module.register_forward_hook(lambda _m, _i, out: seen.append(out.shape[1]))
    with torch.no_grad():
        model.eval()(torch.zeros(1, pre.channels, pre.size, pre.size))
    handle.remove()
    return seen[0]


def time_layer(model, layer: str, pre: Preprocess, steps: int | None, colour=None) -> dict:
    """One batch of the default size (half exciting, half suppressing images) for `steps`
    steps (the default count when None); the layer's cost extrapolated from it."""
    device = torch.device("cpu")
    defaults = settings_for(pre.size, device)
    settings = settings_for(pre.size, device, steps)
    width = _width(model, layer, pre)
    half = min(width, settings.batch // 2)
    channels = list(range(half))
    started = time.perf_counter()
    result = optimise(
        model, layer, channels * 2, [1] * half + [-1] * half, pre, settings, colour, device
    )
    seconds = time.perf_counter() - started
    per_step = seconds / settings.steps
    layer_steps = steps_needed(2 * width, defaults)
    return {
        "layer": layer,
        "size": pre.size,
        "width": width,
        "batch": 2 * half,
        "steps_timed": settings.steps,
        "seconds_timed": round(seconds, 2),
        "seconds_per_step": round(per_step, 4),
        "default_steps": defaults.steps,
        "neuron_pair_seconds": round(per_step * defaults.steps / max(2 * half, 1) * 2, 2),
        "layer_steps": layer_steps,
        "layer_seconds": round(per_step * layer_steps, 1),
        "excited_mean": round(float(result.activation[:half].mean()), 3),
        "suppressed_mean": round(float(result.activation[half:].mean()), 3),
    }


def digits(steps: int | None) -> list[dict]:
    with tempfile.TemporaryDirectory() as home:
        run = ensure_default_run(home=Path(home))
        pre, colour = preprocess_of(run)
        model = run.build_model()
        last_conv = [lay.path for lay in run.index().layers if lay.spatial][-1]
        return [time_layer(model, last_conv, pre, steps, colour) | {"model": "digits CNN"}]


def resnet56(steps: int) -> list[dict]:
    from bench.cifar_teacher import load_teacher
    from bench.own_model import CIFAR_MEAN, CIFAR_STD

    model = load_teacher(torch.device("cpu"))
    pre = Preprocess(3, 32, tuple(CIFAR_MEAN), tuple(CIFAR_STD))
    return [time_layer(model, "layer3.8", pre, steps) | {"model": "ResNet-56 (CIFAR-10)"}]


def resnet50(steps: int) -> list[dict]:
    model = torchvision.models.resnet50(weights=None)
    pre = Preprocess(3, 224, *IMAGENET)
    return [
        time_layer(model, layer, pre, steps) | {"model": "torchvision resnet50"}
        for layer in ("layer3.5", "layer4.2")
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=8, help="steps timed on the big models")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = digits(None) + resnet56(args.steps) + resnet50(args.steps)
    OUT.mkdir(exist_ok=True)
    (OUT / "feature_viz.json").write_text(json.dumps(rows, indent=2))
    print(f"{'model':24} {'layer':9} {'px':>4} {'width':>5} {'s/step (batch)':>16} "
          f"{'one neuron, 2 images':>21} {'whole layer':>12}")  # fmt: skip
    for r in rows:
        print(
            f"{r['model']:24} {r['layer']:9} {r['size']:>4} {r['width']:>5} "
            f"{r['seconds_per_step']:>9.3f} ({r['batch']:>3}) {r['neuron_pair_seconds']:>19.1f} s"
            f" {r['layer_seconds'] / 60:>9.1f} min"
        )


if __name__ == "__main__":
    main()

"""GPU checks (issues 2 and 3), for a machine with CUDA: `make bench-gpu`.

1. alignment step / plain step on resnet18 (CIFAR stem, batch 256, all block outputs
   + logits), bf16 autocast, measured side by side (goal <= 1.10).
2. a `train` job with alignment on CUDA through the job runner; prints its epochs.

`--device cpu --steps 3` runs the same code as a smoke test on a CPU machine.
Writes bench/out/gpu.json.
"""

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

import model_zoo
from backend.core.devices import autocast
from backend.semantic.alignment import SemanticVectors, alignment_loss
from backend.semantic.neurons import ActivationProbe, neuron_index
from bench.timing import interleaved, median, paired_ratio

OUT = Path(__file__).parent / "out"


def alignment_ratio(device: torch.device, steps: int, batch: int = 256) -> dict:
    torch.manual_seed(0)
    model = model_zoo.get_model("resnet18", num_classes=10).to(device).train()
    layers = model.probed_layers
    n = len(neuron_index(model, layers, torch.zeros(1, 3, 32, 32, device=device)))
    model.train()
    vectors = SemanticVectors(n, 64).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    vec_opt = torch.optim.Adam(vectors.parameters(), lr=0.03)
    x = torch.randn(batch, 3, 32, 32, device=device)
    y = torch.randint(0, 10, (batch,), device=device)
    probe = ActivationProbe(model, layers)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    def plain():
        for _ in range(steps):
            with autocast(device):
                loss = F.cross_entropy(model(x).float(), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        sync()

    def aligned():
        with probe:
            for _ in range(steps):
                with autocast(device):
                    logits = model(x)
                loss = F.cross_entropy(logits.float(), y)
                loss = loss + alignment_loss(probe.pooled().detach(), vectors)
                opt.zero_grad(set_to_none=True)
                vec_opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                vec_opt.step()
        sync()

    t = interleaved({"plain": plain, "aligned": aligned}, rounds=7)
    return {
        "neurons": n,
        "batch": batch,
        "plain_step_ms": 1e3 * median(t["plain"]) / steps,
        "aligned_step_ms": 1e3 * median(t["aligned"]) / steps,
        "ratio": paired_ratio(t["aligned"], t["plain"]),
        "goal": "<= 1.10",
    }


def train_job(
    device: str, epochs: int, arch: str = "resnet20", image_size: int = 32, align_steps: int = 200
) -> dict:
    """A real job through the runner, on `device` (bench/gpu_all.py --tiny: a toy size)."""
    from backend.jobs.builtin import TrainJob
    from backend.jobs.runner import Runner

    with tempfile.TemporaryDirectory() as home:
        os.environ["SEMVEC_HOME"] = home
        runner = Runner(Path(home), slots=1)
        config = TrainJob(
            arch=arch,
            data={"name": "digits", "image_size": image_size},
            epochs=epochs,
            device=device,
            align={"steps": align_steps},
        )
        job = runner.store.create("train", config.model_dump())
        started = time.perf_counter()
        while runner.store.get(job.id).state in ("queued", "running"):
            runner.tick()
            time.sleep(0.2)
        done = runner.store.get(job.id)
        epochs_seen = runner.store.metrics(job.id)
        for row in epochs_seen:
            print("  epoch", json.dumps(row))
        return {
            "state": done.state,
            "error": done.error,
            "epochs": epochs_seen,
            "seconds": time.perf_counter() - started,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    device = torch.device(args.device)
    info = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    results = {"device": info, "torch": torch.__version__}
    results["alignment_resnet18"] = alignment_ratio(device, args.steps)
    print("alignment ratio:", json.dumps(results["alignment_resnet18"]), flush=True)
    results["train_job"] = train_job(args.device, args.epochs)
    print("train job:", results["train_job"]["state"], results["train_job"]["error"] or "")
    OUT.mkdir(exist_ok=True)
    (OUT / "gpu.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

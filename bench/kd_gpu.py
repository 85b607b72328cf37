"""Static knowledge distillation on a GPU (issue 5): `make bench-kd-gpu`.

CIFAR-100 shapes: a resnet32x4 teacher and a resnet8x4 student, random 32x32 images in
batches of 128, bf16 autocast. The teacher is a run made on the spot (random weights and
vectors: only the cost is measured, not the accuracy). Side by side, in interleaved rounds:

1. static step / CE step, logit layer only (goal <= 1.03), and with the hint layer
   layer3.4 -> layer3.0 (256 -> 256 channels, no adapter);
2. KD step (the live teacher's forward on every batch) / static step.

Every step is the trainer's own (backend.distill.trainer.StudentStep).
`--device cpu --steps 2 --batch 8` runs the same code as a smoke test on a CPU machine.
Writes bench/out/kd_gpu.json.
"""

import argparse
import json
import tempfile
from pathlib import Path

import torch

from backend.distill.config import DistillConfig
from backend.distill.knowledge import ensure_knowledge, load_knowledge
from backend.distill.methods import MethodSetup
from backend.distill.registry import get_method
from backend.distill.teacher import LiveTeacher
from backend.distill.trainer import StudentStep, make_optimizer
from backend.runs.store import RunMeta, RunStore
from backend.semantic.neurons import neuron_index
from backend.services.models import build_model
from bench.timing import interleaved, median, paired_ratio

OUT = Path(__file__).parent / "out"
CLASSES, SIZE = 100, 32


def make_teacher(store: RunStore, arch: str, device: torch.device):
    """A run of `arch` with random weights and random vectors (CIFAR-100 shapes)."""
    kwargs = {"num_classes": CLASSES, "in_channels": 3}
    model = build_model(arch, kwargs).to(device)
    index = neuron_index(model, model.probed_layers, torch.zeros(1, 3, SIZE, SIZE, device=device))
    with store.writer("teacher") as writer:
        writer.write_meta(
            RunMeta(
                id="teacher",
                kind="train",
                arch=arch,
                arch_kwargs=kwargs,
                dataset={"name": "cifar100", "image_size": SIZE},
                layers=index.to_dict(),
                logit_layer=model.logit_layer,
                vector_dim=64,
            )
        )
        writer.write_weights(model.state_dict())
        writer.write_vectors(torch.randn(len(index), 64))
        return writer.commit()


def contender(method: str, student_arch: str, teacher_run, device, hints=None, amp=True):
    cfg = DistillConfig(teacher="teacher", student=student_arch, method=method, hint_layers=hints)
    torch.manual_seed(0)
    student = build_model(student_arch, {"num_classes": CLASSES, "in_channels": 3}).to(device)
    info = get_method(method)
    knowledge = None
    if info.reads_knowledge:
        teacher_side = [h.partition("=")[0] for h in hints or []]
        knowledge = load_knowledge(ensure_knowledge(teacher_run, teacher_side))
    setup = MethodSetup(
        student=student,
        sample=torch.zeros(1, 3, SIZE, SIZE, device=device),
        lam=info.default_lam,
        hint_layers=hints,
        knowledge=knowledge,
        teacher=teacher_run.meta,
    )
    m = info.cls(setup).to(device)
    teacher = None
    if info.needs_teacher:
        teacher = LiveTeacher(teacher_run, device, m.teacher_layers, m.teacher_embedding, amp)
    student.train()
    return StudentStep(student, m, make_optimizer(student, m, cfg), device, amp, teacher)


def ratios(device: torch.device, steps: int, batch: int, rounds: int) -> dict:
    x = torch.randn(batch, 3, SIZE, SIZE, device=device)
    y = torch.randint(0, CLASSES, (batch,), device=device)
    with tempfile.TemporaryDirectory() as home:
        store = RunStore(Path(home))
        teacher_run = make_teacher(store, "resnet32x4", device)
        steppers = {
            "ce": contender("ce", "resnet8x4", teacher_run, device),
            "static": contender("static", "resnet8x4", teacher_run, device),
            "static + layer3": contender(
                "static", "resnet8x4", teacher_run, device, ["layer3.4=layer3.0"]
            ),
            "kd": contender("kd", "resnet8x4", teacher_run, device),
        }

        def timed(step):
            def run():
                with step.taps:
                    for _ in range(steps):
                        loss, _ = step(x, y, 0.01)
                        loss.item()  # as the training loop does, once a step
                if device.type == "cuda":
                    torch.cuda.synchronize()

            return run

        t = interleaved({k: timed(v) for k, v in steppers.items()}, rounds=rounds, warmup=2)
    return {
        "batch": batch,
        "steps_per_round": steps,
        "rounds": rounds,
        "step_ms": {k: 1e3 * median(v) / steps for k, v in t.items()},
        "static_over_ce": paired_ratio(t["static"], t["ce"]),
        "static_layer3_over_ce": paired_ratio(t["static + layer3"], t["ce"]),
        "kd_over_static": paired_ratio(t["kd"], t["static"]),
        "goal": "static / ce <= 1.03",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=11)
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    info = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    results = {"device": info, "torch": torch.__version__}
    results["resnet32x4_to_resnet8x4"] = ratios(device, args.steps, args.batch, args.rounds)
    print(json.dumps(results, indent=2))
    OUT.mkdir(exist_ok=True)
    (OUT / "kd_gpu.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

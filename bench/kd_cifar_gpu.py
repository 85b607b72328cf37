"""The CIFAR-10 KD benchmark at full size on one GPU (issue 14): all 50,000 training photos,
every method of a seed trained at once, in one prepared run that fits a time budget.

A CIFAR ResNet is far too small to fill a big GPU, so:
- the photos live on the GPU as uint8 (150 MB), random crop (pad 4) and flip are one gather
  there (bench/cifar_data.crop_flip), and batches are indexed there: no DataLoader;
- bf16 autocast (semvec's trainer does it on CUDA) and channels-last tensors;
- the students of one seed (one per method) train in lockstep on the same batches, with one
  live teacher forward a batch shared by kd, rkd and sp; nothing waits on the GPU inside
  an epoch, so the students' kernels queue back to back.
It first reports images/s of a plain DataLoader loop (per-image augmentation in workers,
float32), of one resident student, and of the lockstep group; then it picks the epochs
that fit `--budget-s` for `--seeds` seeds (kept in plan.json, so a rerun resumes the same
protocol), and trains seed by seed, saving every (method, seed) as kd_cifar.py does.

Run: `make bench-kd-cifar-gpu` (default budget 420 s of training); a CPU smoke test:
`python -m bench.kd_cifar_gpu --device cpu --quick`. Writes bench/out/kd_cifar_gpu.json.
"""

import argparse
import contextlib
import dataclasses
import json
import os
import sys
import time

import torch
from torch.utils.data import DataLoader, Dataset

import model_zoo
from backend.distill.registry import get_method
from backend.distill.taps import Taps
from backend.distill.trainer import StudentStep, cosine, make_optimizer
from backend.training.evaluate import accuracy
from bench import cifar_data, cifar_teacher
from bench.kd_cifar import (
    LABELS,
    TEACHER_FREE_RIVALS,
    Data,
    Protocol,
    build_method,
    code_stamp,
    distill_config,
    method_of,
    runnable,
)
from bench.kd_cifar_report import report

WORK = cifar_data.OUT / "kd_cifar_gpu"


def _log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class SharedTeacher:
    """The live teacher's features of the current batch, computed once for the group."""

    features = None

    def __call__(self, x):
        return self.features


@dataclasses.dataclass
class Member:
    label: str
    student: torch.nn.Module
    step: StudentStep
    live: bool


def build_group(labels, seed, data, ctx, shared) -> list[Member]:
    members = []
    for label in labels:
        torch.manual_seed(seed)  # every method of a seed starts from the same weights
        student = model_zoo.get_model(data.protocol.student, num_classes=len(data.classes))
        student = student.to(data.device, memory_format=torch.channels_last)
        sample = cifar_data.normalise(data.x[:1])
        method, live = build_method(label, student, data, ctx["knowledge"], ctx["meta"], sample)
        student.train()
        method.to(data.device).train()
        optimizer = make_optimizer(student, method, ctx["config"])
        step = StudentStep(student, method, optimizer, data.device, True, shared if live else None)
        members.append(Member(label, student, step, live))
    return members


def teacher_taps(ctx, members: list[Member]) -> Taps:
    layers = sorted({p for m in members if m.live for p in m.step.method.teacher_layers})
    return Taps(ctx["teacher"], layers, embedding_of=ctx["teacher"].logit_layer)


def run_group(members, data, ctx, seed: int, epochs: int, steps: int | None = None) -> float:
    """Train the group for `epochs` (or only `steps` batches: a timing); returns seconds."""
    p, device, shared = data.protocol, data.device, ctx["shared"]
    n, bs = len(data.x), p.batch_size
    per_epoch = n // bs
    total, step = epochs * per_epoch, 0
    live = any(m.live for m in members)
    with contextlib.ExitStack() as stack, teacher_taps(ctx, members) as taps:
        for m in members:
            stack.enter_context(m.step.taps)
        _sync(device)
        started = time.perf_counter()
        for epoch in range(epochs):
            gen = torch.Generator().manual_seed(p.augment_seed * 1_000_003 + epoch)
            images = cifar_data.crop_flip(data.x, gen)
            order = torch.randperm(
                n, generator=torch.Generator().manual_seed(seed * 100_003 + epoch)
            )
            order = order.to(device)
            for b in range(per_epoch):
                idx = order[b * bs : (b + 1) * bs]
                x = cifar_data.normalise(images[idx]).contiguous(memory_format=torch.channels_last)
                y = data.y[idx]
                if live:
                    shared.features = ctx["teacher_forward"](taps, x)
                lr = cosine(p.lr, step, total)
                for m in members:
                    m.step(x, y, lr)
                step += 1
                if steps is not None and step >= steps:
                    _sync(device)
                    return time.perf_counter() - started
        _sync(device)
    return time.perf_counter() - started


class _PlainImages(Dataset):
    """The usual way: per-image crop and flip in DataLoader workers, float32 out."""

    def __init__(self, x, y):
        from torchvision import transforms

        self.x, self.y = x, y
        self.t = transforms.Compose(
            [transforms.RandomCrop(32, padding=4), transforms.RandomHorizontalFlip()]
        )

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return cifar_data.normalise(self.t(self.x[i])[None])[0], self.y[i]


def plain_rate(data: Data, ctx, steps: int, workers: int) -> float:
    """Images/s of a CE student fed by a DataLoader from CPU memory, float32, no tricks."""
    device, p = data.device, data.protocol
    torch.manual_seed(0)
    student = model_zoo.get_model(p.student, num_classes=10).to(device).train()
    opt = torch.optim.SGD(student.parameters(), lr=p.lr, momentum=0.9, nesterov=True)
    images = _PlainImages(data.x.cpu(), data.y.cpu())
    loader = DataLoader(
        images,
        batch_size=p.batch_size,
        shuffle=True,
        num_workers=workers,
        pin_memory=device.type == "cuda",
        drop_last=True,
        persistent_workers=workers > 0,
    )
    done, started = 0, None
    while done < steps + 3:
        for x, y in loader:
            if done == 3:  # the workers' start is not the loop's speed
                _sync(device)
                started = time.perf_counter()
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            loss = torch.nn.functional.cross_entropy(student(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            done += 1
            if done >= steps + 3:
                break
    _sync(device)
    return steps * p.batch_size / (time.perf_counter() - started)


def _teacher_forward(teacher, device):
    from backend.core.devices import autocast

    @torch.no_grad()
    def forward(taps, x):
        with autocast(device, True):
            return taps.features(teacher(x))

    return forward


def prepare(protocol: Protocol, device: torch.device) -> dict:
    data = Data(protocol, device)
    knowledge = cifar_teacher.make_knowledge(
        cifar_data.OUT / "kd_cifar" / "resnet56-knowledge.safetensors", device
    )
    teacher = cifar_teacher.load_teacher(device).to(memory_format=torch.channels_last)
    config = distill_config(protocol, device)
    return {
        "data": data,
        "knowledge": knowledge,
        "teacher": teacher,
        "meta": cifar_teacher.teacher_meta(teacher),
        "shared": SharedTeacher(),
        "teacher_forward": _teacher_forward(teacher, device),
        "config": config,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--methods", help="comma-separated labels (default: all the code has)")
    parser.add_argument("--train-size", type=int, default=50_000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--epochs", type=int, help="fixed epochs (default: what fits the budget)")
    parser.add_argument("--max-epochs", type=int, default=30)
    parser.add_argument("--budget-s", type=float, default=420.0, help="training seconds in all")
    parser.add_argument("--student", default="resnet8_a")
    parser.add_argument("--workers", type=int, default=min(8, os.cpu_count() or 1))
    parser.add_argument("--quick", action="store_true", help="smoke test: 640 images, 1 epoch")
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    labels = runnable(args.methods.split(",") if args.methods else LABELS)
    size = 640 if args.quick else args.train_size
    base = Protocol(student=args.student, train_size=size, batch_size=args.batch_size, epochs=1)
    ctx = prepare(base, device)
    data = ctx["data"]
    timing_steps = 4 if args.quick else 50
    shared_seed = 0
    group = build_group(labels, shared_seed, data, ctx, ctx["shared"])
    run_group(group, data, ctx, shared_seed, 1, steps=2)  # warm-up (cudnn, allocator)
    group_s = run_group(group, data, ctx, shared_seed, 1, steps=timing_steps) / timing_steps
    single = build_group(["ce"], shared_seed, data, ctx, ctx["shared"])
    run_group(single, data, ctx, shared_seed, 1, steps=2)
    single_s = run_group(single, data, ctx, shared_seed, 1, steps=timing_steps) / timing_steps
    speed = {
        "plain_dataloader_images_per_s": plain_rate(data, ctx, timing_steps, args.workers),
        "resident_one_student_images_per_s": base.batch_size / single_s,
        "resident_group_images_per_s": len(group) * base.batch_size / group_s,
        "group_students": len(group),
        "group_step_ms": 1e3 * group_s,
        "workers": args.workers,
        "batch_size": base.batch_size,
    }
    _log(json.dumps(speed))
    plan_path = WORK / ("plan-quick.json" if args.quick else "plan.json")
    WORK.mkdir(parents=True, exist_ok=True)
    per_epoch_s = group_s * (size // base.batch_size)
    if args.epochs:
        epochs = args.epochs
    elif plan_path.exists():
        epochs = json.loads(plan_path.read_text())["epochs"]
    else:
        fits = int(args.budget_s / (per_epoch_s * args.seeds))
        epochs = max(1, min(args.max_epochs, fits)) if not args.quick else 1
    plan_path.write_text(json.dumps({"epochs": epochs, "estimated_epoch_s": per_epoch_s}))
    protocol = dataclasses.replace(base, epochs=epochs)
    data.protocol = protocol
    tag = "quick" if args.quick else f"{protocol.student}-n{size}-e{epochs}-b{protocol.batch_size}"
    results_dir = WORK / "results" / tag
    results_dir.mkdir(parents=True, exist_ok=True)
    stamps = {label: code_stamp(label, protocol, device) for label in labels}
    teacher_acc = accuracy(ctx["teacher"], data.test_batches(), device, True)
    info = {
        "protocol": dataclasses.asdict(protocol),
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "teacher_test_accuracy": teacher_acc,
        "teacher_seconds_per_epoch": 0.0,
        "speed": speed,
    }
    rows, summary = [], None
    for seed in range(args.seeds):
        paths = {label: results_dir / f"{label}-s{seed}.json" for label in labels}
        saved = {k: json.loads(p.read_text()) for k, p in paths.items() if p.exists()}
        todo = [k for k in labels if saved.get(k, {}).get("stamp") != stamps[k]]
        if todo:
            members = build_group(todo, seed, data, ctx, ctx["shared"])
            seconds = run_group(members, data, ctx, seed, epochs)
            for m in members:
                saved[m.label] = {
                    "label": m.label,
                    "seed": seed,
                    "accuracy": accuracy(m.student, data.test_batches(), device, True),
                    "seconds_per_epoch": seconds / epochs / len(members),
                    "group_seconds_per_epoch": seconds / epochs,
                    "teacher_forward": m.live,
                    "reads_knowledge": get_method(method_of(m.label)).reads_knowledge,
                    "stamp": stamps[m.label],
                }
                paths[m.label].write_text(json.dumps(saved[m.label], indent=1))
            _log(f"seed {seed}: {len(members)} students, {seconds:.0f} s")
        rows += [saved[k] for k in labels]
        summary = report(rows, info, TEACHER_FREE_RIVALS)
        out = cifar_data.OUT / ("kd_cifar_gpu-quick.json" if args.quick else "kd_cifar_gpu.json")
        out.write_text(json.dumps(summary, indent=2))
    print(summary["markdown"])


if __name__ == "__main__":
    main()

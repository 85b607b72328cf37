"""Static KD on real photos (issue 14): CIFAR-10 JPEGs, the public ResNet-56 as teacher.

Protocol (the same for every method; only the method differs):
- data: a stratified 5,000-image subset of the 50,000 training photos (500 a class, drawn
  once with seed 0), the full 10,000 test photos; normalised with the teacher's mean/std;
  random crop (pad 4) + flip on tensors. The augmentation of epoch e is drawn from a fixed
  seed, the same for every method and seed, so the teacher's outputs on it are computed
  once and replayed (bench/cifar_teacher.py); the seed sets the student's initialisation
  and the batch order.
- teacher: resnet56-cifar10.th as the zoo's resnet56_a; its knowledge file holds the
  vectors of layer2.8, layer3.8 and the logits, aligned on the 50,000 training photos.
- student: resnet8_a (16-32-64, one block a stage, 75 k weights), 30 epochs of batch 64
  (2,340 steps), SGD + Nesterov, lr 0.05 cosine, weight decay 5e-4: semvec's student
  trainer (StudentStep, the methods' default λ and T).
- why resnet8 and 30 epochs: on one core (OMP_NUM_THREADS=1) a resnet8_a step trains
  ~830 images/s, resnet20_a ~420, and a ResNet-56 forward runs ~350 images/s. With the
  teacher replayed, every method costs about a resnet8 epoch (measured: 4.2-4.8 s of CPU),
  so 11 methods x 30 epochs is ~27 minutes of one core per seed (plus the teacher's
  outputs, once: ~6 minutes); resnet20 would fit half the epochs. A live teacher would
  add ~12 s an epoch (3.5x) to kd, rkd and sp: the table's `live teacher` column.
- methods: ce, ls, tfkd, kd, rkd, sp, static (logit layer only), static_corr (issue 5's
  loss), static_free (the same loss, teacher-free S), static_shuffled (static with S's
  classes permuted: right structure, wrong classes), static_both (the teacher's S in the
  soft target as well, static's form before issue 14's split trial); those the code has.

Seeds run in order (seed 0 of every method, then seed 1, ...), so a partial run is a
complete paired table for fewer seeds. Every finished (method, seed) is written at once to
bench/out/kd_cifar/results/ under a stamp of the protocol and of the code that trains it
(the method's class, the student step, this loop); a rerun skips those. Writes
bench/out/kd_cifar.json and prints a markdown table.

Run: `make bench-kd-cifar` (OMP_NUM_THREADS=1; ~2 CPU hours for 5 seeds); smoke test:
`--quick`; trials of other settings: `--methods ce,static:rho=1,static:rho=0`. Needs
../shared/data (says which file is missing).
"""

import argparse
import dataclasses
import hashlib
import inspect
import json
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch

import model_zoo
from backend.distill import losses, relation, trainer
from backend.distill.methods import MethodSetup
from backend.distill.registry import get_method, list_methods
from backend.distill.trainer import StudentStep, cosine, make_optimizer
from backend.training.evaluate import accuracy
from bench import cifar_data, cifar_teacher
from bench.kd_cifar_report import report

OUT = cifar_data.OUT
WORK = OUT / "kd_cifar"
LABELS = [
    "ce",
    "ls",
    "tfkd",
    "kd",
    "rkd",
    "sp",
    "static",
    "static_corr",
    "static_free",
    "static_shuffled",
    "static_both",
]
"""Run order within a seed; a label runs when the code has its method."""
TEACHER_FREE_RIVALS = ["ls", "tfkd", "static_free"]
LOOP_VERSION = 1
"""Part of every result's stamp: bump it when `Data`, `epoch_images`, `build_method` or
`train_one` change what a student learns (formatting and reporting changes do not)."""


@dataclasses.dataclass(frozen=True)
class Protocol:
    student: str = "resnet8_a"
    train_size: int = 5000
    epochs: int = 30
    batch_size: int = 64
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    subset_seed: int = 0
    augment_seed: int = 0


def _log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


VARIANT_KEYS = {"lam": "lam", "t": "temperature", "beta": "beta", "rho": "rho"}
"""A label `label:key=value+key=value` trains the label's method with these settings
overridden (`static:rho=1`, `static:rho=1+beta=2`; `+`, not `,`, which `--methods`
splits on): the trials of other formulations on the same protocol."""


def base_label(label: str) -> str:
    """The label without its overrides: `static` for `static:rho=1`."""
    return label.partition(":")[0]


S_CONTROLS = {
    "static_shuffled": "S's classes permuted (right structure, wrong classes)",
    "static_both": "the teacher's S in the soft target as well (static until issue 14's split)",
    "static_softonly": "the teacher's S in the soft target only; the simplex in the relation term",
    "static_amplified": "the teacher's departures from the simplex doubled (does more help more?)",
    "static_profile": "S from the penultimate layer's vectors: each class's profile over them",
}
"""Labels that train static with another S: the controls and the split trial (issue 14)."""


def method_of(label: str) -> str:
    """The registered method a label trains (the S_CONTROLS are static with another S)."""
    base = base_label(label)
    return "static" if base in S_CONTROLS else base


def overrides(label: str) -> dict:
    """MethodSetup fields a variant label sets: {'rho': 1.0} for `static:rho=1`."""
    settings = label.partition(":")[2]
    pairs = (item.split("=") for item in settings.split("+")) if settings else ()
    return {VARIANT_KEYS[k]: float(v) for k, v in pairs}


def runnable(labels: list[str]) -> list[str]:
    """The labels whose method this code has (an S control trains static)."""
    known = set(list_methods())
    return [label for label in labels if method_of(label) in known]


def code_stamp(label: str, protocol: Protocol, device: torch.device) -> str:
    """What decides a result: the protocol, the device type, torch, and the source of the
    method's class (with its bases), the values of its registered defaults (a source names
    DEFAULT_RHO, not its value), the losses (relation.py too for the methods with a β: it
    holds their loss), the student step and LOOP_VERSION."""
    info = get_method(method_of(label))
    parts = [json.dumps(dataclasses.asdict(protocol), sort_keys=True), label, device.type]
    parts += [torch.__version__, str(LOOP_VERSION)]
    parts += [
        f"{k}={v!r}"
        for k, v in (("beta", info.default_beta), ("rho", info.default_rho))
        if v is not None
    ]
    for cls in info.cls.__mro__:
        if cls.__module__.startswith("backend."):
            parts.append(inspect.getsource(cls))
    parts += [inspect.getsource(losses), inspect.getsource(StudentStep)]
    if info.default_beta is not None:
        parts.append(inspect.getsource(relation))
    parts.append(inspect.getsource(trainer.cosine))
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


class Data:
    """The training subset and test photos (uint8), and the fixed augmentation by epoch."""

    def __init__(self, protocol: Protocol, device: torch.device):
        x, y, self.classes = cifar_data.load("train")
        per_class = protocol.train_size // len(self.classes)
        keep = cifar_data.stratified(y, per_class, protocol.subset_seed)
        self.x, self.y = x[keep].to(device), y[keep].to(device)
        tx, ty, _ = cifar_data.load("test")
        self.test_x, self.test_y = tx.to(device), ty
        self.protocol, self.device = protocol, device

    def test_batches(self, size: int = 500):
        for i in range(0, len(self.test_x), size):
            yield cifar_data.normalise(self.test_x[i : i + size]), self.test_y[i : i + size]


def epoch_images(data: Data, epoch: int) -> torch.Tensor:
    """The augmented training images of `epoch`: the same for every method and seed."""
    gen = torch.Generator().manual_seed(data.protocol.augment_seed * 1_000_003 + epoch)
    return cifar_data.crop_flip(data.x, gen)


def build_method(label: str, student, data: Data, knowledge, meta, sample):
    info = get_method(method_of(label))
    static_like = info.reads_knowledge
    setup = MethodSetup(
        student=student,
        sample=sample,
        lam=info.default_lam,
        hint_layers=[] if static_like else None,  # the logit layer only
        knowledge=knowledge if static_like else None,
        teacher=meta if info.needs_teacher else None,
    )
    method = info.cls(dataclasses.replace(setup, **overrides(label)))
    if base_label(label) in S_CONTROLS:
        set_control(method.targets, base_label(label), knowledge)
    return method, info.needs_teacher


AMPLIFY = 2.0
"""static_amplified's γ: cat–dog 0.37 becomes 0.85, automobile–truck 0.42 becomes 0.95."""


def amplified_similarity(s: torch.Tensor, gamma: float) -> torch.Tensor:
    """The simplex plus γ times S's departures from it, clipped to [−1, 1]: the teacher's
    structure made γ times stronger."""
    simplex = relation.simplex_similarity(len(s)).to(s)
    return (simplex + gamma * (s - simplex)).clamp_(-1.0, 1.0).fill_diagonal_(1.0)


def set_control(targets, control: str, knowledge=None) -> None:
    """Give a static method's SoftRelation the S of an S_CONTROLS label (static_profile
    reads the penultimate layer, the last hint layer, of the teacher's `knowledge`)."""
    s = targets.similarity  # the teacher's: static's relation term
    if control == "static_shuffled":
        targets.set_similarity(relation.shuffled_similarity(s, seed=0))
    elif control == "static_amplified":
        targets.set_similarity(amplified_similarity(s, AMPLIFY))
    elif control == "static_profile":
        if knowledge is None or not knowledge.hint_layers():
            raise ValueError("static_profile needs a knowledge file with a hint layer")
        logit, layer = (
            knowledge.layer(path).vectors
            for path in (knowledge.logit_layer, knowledge.hint_layers()[-1])
        )
        targets.set_similarity(relation.profile_similarity(logit, layer).to(s))
    elif control == "static_both":
        targets.set_similarity(s, soft_similarity=s)
    else:
        targets.set_similarity(relation.simplex_similarity(len(s)), soft_similarity=s)


def train_one(label: str, seed: int, data: Data, ctx: dict) -> dict:
    """One student; its test accuracy, seconds per epoch and what it read of the teacher."""
    p, device = data.protocol, data.device
    torch.manual_seed(seed)
    student = model_zoo.get_model(p.student, num_classes=len(data.classes)).to(device)
    sample = cifar_data.normalise(data.x[:1])
    method, live = build_method(label, student, data, ctx["knowledge"], ctx["meta"], sample)
    student.train()
    method.to(device).train()
    cfg = ctx["config"]
    optimizer = make_optimizer(student, method, cfg)
    teacher = ctx["replay"]() if live else None
    if teacher is not None:
        missing = set(method.teacher_layers) - set(ctx["table"].layers)
        if missing:
            raise SystemExit(f"{label} reads teacher layers {missing} the table lacks")
    step_fn = StudentStep(student, method, optimizer, device, cfg.amp, teacher)
    n = len(data.x)
    per_epoch = n // p.batch_size
    total, step, seconds = p.epochs * per_epoch, 0, []
    with step_fn.taps:
        for epoch in range(p.epochs):
            images = epoch_images(data, epoch)
            order = torch.randperm(
                n, generator=torch.Generator().manual_seed(seed * 100_003 + epoch)
            )
            started = time.process_time()  # CPU time: the cores are shared
            for b in range(per_epoch):
                idx = order[b * p.batch_size : (b + 1) * p.batch_size]
                if teacher is not None:
                    teacher.at(epoch, idx)
                x = cifar_data.normalise(images[idx.to(device)])
                step_fn(x, data.y[idx.to(device)], cosine(p.lr, step, total))
                step += 1
            seconds.append(time.process_time() - started)
    acc = accuracy(student, data.test_batches(), device, cfg.amp)
    return {
        "label": label,
        "method": method.__class__.__name__,
        "seed": seed,
        "accuracy": acc,
        "seconds_per_epoch": sum(seconds) / len(seconds),
        "lam": method.lam,
        "teacher_forward": live,
        "reads_knowledge": get_method(method_of(label)).reads_knowledge,
    }


def speed(data: Data, ctx: dict, labels: list[str], steps: int = 10, rounds: int = 15) -> dict:
    """Training steps of `labels` (methods that do not run the teacher) on the same batches,
    in interleaved rounds (bench.timing), process CPU time: ms per step and each / CE."""
    from bench.timing import interleaved, median, paired_ratio

    p, device, cfg = data.protocol, data.device, ctx["config"]
    batches = [(cifar_data.normalise(data.x[i : i + p.batch_size]), data.y[i : i + p.batch_size])
               for i in range(0, 8 * p.batch_size, p.batch_size)]  # fmt: skip
    contenders = {}
    for label in labels:
        torch.manual_seed(0)
        student = model_zoo.get_model(p.student, num_classes=len(data.classes)).to(device)
        method, _ = build_method(
            label, student, data, ctx["knowledge"], ctx["meta"], batches[0][0][:1]
        )
        student.train()
        method.to(device).train()
        step = StudentStep(student, method, make_optimizer(student, method, cfg), device, cfg.amp)

        def run(step=step):
            with step.taps:
                for i in range(steps):
                    step(*batches[i % len(batches)], 0.01)[0].item()

        contenders[label] = run
    t = interleaved(contenders, rounds=rounds, warmup=2, clock=time.process_time)
    return {
        "student": p.student,
        "batch": p.batch_size,
        "step_ms": {k: round(1e3 * median(v) / steps, 2) for k, v in t.items()},
        "over_ce": {k: round(paired_ratio(t[k], t["ce"]), 3) for k in t if k != "ce"},
        "steps_per_round": steps,
        "rounds": rounds,
        "clock": "process CPU time",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0 .. N-1")
    parser.add_argument("--methods", help="comma-separated labels (default: all the code has)")
    parser.add_argument("--train-size", type=int, default=5000)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--student", default="resnet8_a")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--quick", action="store_true", help="smoke test: 500 images, 1 epoch")
    parser.add_argument(
        "--speed",
        action="store_true",
        help="only the step times of ce, ls, tfkd, static, static_free",
    )
    args = parser.parse_args()
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    device = torch.device(args.device)
    protocol = Protocol(
        student=args.student,
        train_size=500 if args.quick else args.train_size,
        epochs=1 if args.quick else args.epochs,
    )
    tag = "quick" if args.quick else f"{protocol.student}-n{protocol.train_size}-e{protocol.epochs}"
    labels = runnable(args.methods.split(",") if args.methods else LABELS)
    skipped = [m for m in (args.methods.split(",") if args.methods else LABELS) if m not in labels]
    if skipped:
        _log(f"not in this code (skipped): {', '.join(skipped)}")
    # Stamped before the long part: the sources are read now, not after an edit.
    stamps = {label: code_stamp(label, protocol, device) for label in labels}
    ctx = prepare(protocol, device, tag)
    data = ctx["data"]
    if args.speed:
        result = speed(data, ctx, ["ce", "ls", "tfkd", "static", "static_free"])
        (OUT / "kd_cifar-speed.json").write_text(json.dumps(result, indent=2))
        print(json.dumps(result, indent=2))
        return
    results_dir = WORK / "results" / tag
    results_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for seed in range(args.seeds):
        for label in labels:
            stamp = stamps[label]
            path = results_dir / f"{label.replace(':', '@')}-s{seed}.json"
            saved = json.loads(path.read_text()) if path.exists() else {}
            if saved.get("stamp") != stamp:
                started = time.perf_counter()
                saved = train_one(label, seed, data, ctx) | {"stamp": stamp}
                saved["measured"] = time.strftime("%Y-%m-%d %H:%M")
                path.write_text(json.dumps(saved, indent=1))
                took = time.perf_counter() - started
                _log(
                    f"seed {seed} {label:16s} {100 * saved['accuracy']:6.2f} %  "
                    f"{saved['seconds_per_epoch']:.2f} s/epoch  ({took:.0f} s)"
                )
            rows.append(saved)
            summary = report(rows, ctx["info"], TEACHER_FREE_RIVALS)
            out = OUT / ("kd_cifar-quick.json" if args.quick else "kd_cifar.json")
            out.write_text(json.dumps(summary, indent=2))
    print(summary["markdown"])


def distill_config(protocol: Protocol, device: torch.device):
    """The protocol as semvec's student settings (what make_optimizer and the step read)."""
    from backend.distill.config import DistillConfig

    return DistillConfig(
        teacher=cifar_teacher.TEACHER_ID,
        student=protocol.student,
        batch_size=protocol.batch_size,
        lr=protocol.lr,
        momentum=protocol.momentum,
        weight_decay=protocol.weight_decay,
        epochs=protocol.epochs,
        device=device.type,
    )


def prepare(protocol: Protocol, device: torch.device, tag: str) -> dict:
    """Data, knowledge file, teacher description and the replayed teacher outputs."""
    data = Data(protocol, device)
    knowledge = cifar_teacher.make_knowledge(WORK / "resnet56-knowledge.safetensors", device)
    teacher = cifar_teacher.load_teacher(device)
    meta = cifar_teacher.teacher_meta(teacher)
    table = cifar_teacher.TeacherTable(
        WORK / "teacher" / f"{tag}-a{protocol.augment_seed}", ["layer3.8"]
    )
    info: dict = {}

    def replay() -> cifar_teacher.ReplayTeacher:
        """The table, built when the first method that reads the teacher comes."""
        if "teacher_seconds_per_epoch" not in info:
            info["teacher_seconds_per_epoch"] = table.build(
                teacher, lambda e: epoch_images(data, e), protocol.epochs, device
            )
        return cifar_teacher.ReplayTeacher(table, device)

    teacher_acc_file = WORK / f"teacher-accuracy-{device.type}.json"
    if not teacher_acc_file.exists():
        teacher_acc_file.write_text(
            json.dumps(accuracy(teacher, data.test_batches(), device, False))
        )
    config = distill_config(protocol, device)
    size = (WORK / "resnet56-knowledge.safetensors").stat().st_size
    info |= {
        "protocol": dataclasses.asdict(protocol),
        "device": str(device),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "teacher": cifar_teacher.TEACHER_ID,
        "teacher_test_accuracy": json.loads(teacher_acc_file.read_text()),
        "knowledge_file": {
            "bytes": size,
            "layers": [{"path": lay.path, "width": lay.width} for lay in knowledge.layers],
        },
    }
    return {
        "data": data,
        "knowledge": knowledge,
        "meta": meta,
        "table": table,
        "replay": replay,
        "config": config,
        "info": info,
    }


if __name__ == "__main__":
    main()

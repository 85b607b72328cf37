"""Static knowledge distillation benchmark (issues 5 and 14), on the CPU (1 thread by default).

Teacher: the shipped digits run `digits-default` (digits_cnn, 234 neurons). Student:
digits_cnn_small (8-16-32 channels). Every student trains with the same trainer, data,
augmentation, schedule and seeds (backend.distill.trainer); only the method changes.

1. test accuracy of every method, 5 seeds, on 200 training images (160 epochs) and on the
   full training split (1,079 images, 30 epochs): 480 steps of batch 64 either way; with the
   controls and trials of static: S shuffled across classes, S from the penultimate layer's
   vectors, the hint layer conv3;
2. paired differences by seed, static against every rival and its teacher-free twin, with
   standard errors;
3. stability: static at the ends of the ranges of λ, ρ, β and T (200 images);
4. speed, side by side in interleaved rounds: static step / CE step (goal <= 1.10) and
   KD step (live teacher) / static step.

Run with `make bench-kd` (about 2 hours on a quiet 2-core machine); writes
bench/out/kd.json. Finished groups are kept in bench/out/kd.partial.json, so an interrupted
bench goes on where it stopped (`--fresh` starts over). `--seeds 1 --quick` is a smoke test.
"""

import argparse
import hashlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch

from backend.distill.config import BETA_RANGE, RHO_RANGE, DistillConfig
from backend.distill.registry import list_methods
from backend.distill.relation import profile_similarity
from backend.distill.trainer import StudentStep, make_optimizer
from backend.distill.trainer import train_student as train
from backend.runs.store import RunStore
from backend.services.default_run import ensure_default_run
from backend.services.distill import prepare_student
from bench.kd_cifar import set_control
from bench.timing import interleaved, median, paired_ratio

OUT = Path(__file__).parent / "out"
TEACHER = "digits-default"
SIZES = {"200": (200, 160), "full": (None, 30)}  # train_size, epochs: 480 steps each
PENULTIMATE = "conv3"
"""The teacher's last layer before its logits (digits_cnn: conv3, 128 channels)."""


def _log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def student(store: RunStore, plain: bool = False, control=None, s_from=None, **kw):
    """Train one student; returns its final test accuracy and seconds per epoch.

    plain: static_corr's plain Pearson loss (no variance floor). control: static with
    another S, one of bench.kd_cifar's S_CONTROLS (the shuffle is the same for every
    seed). s_from: static with S made from that layer's vectors in the teacher's run
    (`profile_similarity`)."""
    if control == "static_profile":  # kd_cifar reads it off the knowledge file; here, the run
        control, s_from = None, s_from or PENULTIMATE
    cfg = DistillConfig(teacher=TEACHER, device="cpu", **kw)
    s = prepare_student(cfg, store)
    if plain:
        s.method.targets.eps = 1e-12
    if control:
        set_control(s.method.targets, control)
    if s_from:
        run = store.open(TEACHER)
        index, vectors = run.index(), run.vectors()
        layer, logit = (
            vectors[r.offset : r.offset + r.width]
            for r in (index.layer(s_from), index.layer(run.meta.logit_layer))
        )
        s.method.targets.set_similarity(profile_similarity(logit, layer))
    history = train(s.model, s.method, s.train, s.test, cfg, s.device, s.teacher)
    return {
        "accuracy": history[-1]["test_accuracy"],
        "seconds_per_epoch": statistics.mean(h["seconds"] for h in history),
        "lam": s.lam,
    }


def summary(results: list[dict]) -> dict:
    accs = [r["accuracy"] for r in results]
    return {
        "mean": statistics.mean(accs),
        "std": statistics.stdev(accs) if len(accs) > 1 else 0.0,
        "per_seed": accs,
        "seconds_per_epoch": statistics.mean(r["seconds_per_epoch"] for r in results),
        "lam": results[0]["lam"],
    }


CACHE = OUT / "kd.partial.json"
"""Finished groups, so that an interrupted bench goes on where it stopped."""


def code_stamp() -> str:
    """A hash of the code that trains the students (backend/, model_zoo/, this file) and
    of torch's version: the cache holds only groups finished by the same code."""
    repo = Path(__file__).resolve().parent.parent
    files = sorted([*(repo / "backend").rglob("*.py"), *(repo / "model_zoo").rglob("*.py")])
    digest = hashlib.sha256(torch.__version__.encode())
    for path in [*files, Path(__file__).resolve()]:
        digest.update(str(path.relative_to(repo)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


CODE = code_stamp()


def _cached_groups() -> dict:
    saved = json.loads(CACHE.read_text()) if CACHE.exists() else {}
    return saved.get("groups", {}) if saved.get("code") == CODE else {}


def group(store: RunStore, seeds: int, size: str, label: str, epochs=None, **kw) -> dict:
    train_size, default_epochs = SIZES[size]
    key = json.dumps([size, seeds, epochs, kw], sort_keys=True)
    cache = _cached_groups()
    if key in cache:
        return cache[key]
    started = time.perf_counter()
    runs = [
        student(store, seed=seed, train_size=train_size, epochs=epochs or default_epochs, **kw)
        for seed in range(seeds)
    ]
    out = summary(runs)
    _log(
        f"{size:>4s} {label:22s} {100 * out['mean']:6.2f} ± {100 * out['std']:.2f}  "
        f"{out['seconds_per_epoch']:.3f} s/epoch  ({time.perf_counter() - started:.0f} s)"
    )
    OUT.mkdir(exist_ok=True)
    CACHE.write_text(json.dumps({"code": CODE, "groups": cache | {key: out}}, indent=1))
    return out


def paired(a: dict, b: dict) -> dict:
    """a − b per seed (the same seed: the same initialisation, batches and subset), with
    the standard error of the mean difference."""
    diffs = [x - y for x, y in zip(a["per_seed"], b["per_seed"], strict=True)]
    std = statistics.stdev(diffs) if len(diffs) > 1 else 0.0
    return {
        "mean": statistics.mean(diffs),
        "std": std,
        "se": std / len(diffs) ** 0.5,
        "wins": sum(d > 0 for d in diffs),
        "ties": sum(d == 0 for d in diffs),
    }


TRIALS = {
    "static, S shuffled": {"method": "static", "control": "static_shuffled"},
    "static, S in both terms": {"method": "static", "control": "static_both"},
    "static, S from conv3": {"method": "static", "s_from": PENULTIMATE},
    "static + conv3": {"method": "static", "hint_layers": ["conv3"]},
}
"""Static's control (S with its classes permuted), its form until issue 14's split (the
teacher's S in the soft target too), and trials of more knowledge: the relation term's S
from the penultimate layer's vectors, and conv3 as a hint layer (static_corr's term,
weighted by ρ)."""
FIRST = ["ce", "ls", "tfkd", "static", "static_free", "static, S shuffled", "rkd", "sp"]
"""The groups that answer the issue's question run first (the bench resumes)."""
RIVALS = [
    *["ce", "ls", "tfkd", "kd", "rkd", "sp", "static_free", "static_corr"],
    *["static, S shuffled", "static, S in both terms"],
]


def accuracy_tables(store: RunStore, seeds: int, quick: bool) -> dict:
    epochs = 2 if quick else None
    setups = {m: {"method": m} for m in list_methods()} | TRIALS
    order = FIRST + [label for label in setups if label not in FIRST]
    out: dict = {}
    for size in SIZES:
        rows = {label: group(store, seeds, size, label, epochs, **setups[label]) for label in order}
        rows = {label: rows[label] for label in setups}
        rows["paired"] = {f"static − {r}": paired(rows["static"], rows[r]) for r in RIVALS}
        rows["paired"]["static_free − tfkd"] = paired(rows["static_free"], rows["tfkd"])
        out[size] = rows
    return out


ENDS = {
    # the Distillation tab's λ range (100 collapsed: docs/research/static-distillation.md)
    "lam": (0.01, 30.0),
    "rho": RHO_RANGE,
    "beta": BETA_RANGE,
    "temperature": (1.0, 50.0),
}
"""static at both ends of every range it offers (the other settings at their defaults)."""


def stability(store: RunStore, seeds: int, quick: bool) -> dict:
    """200 images: static at the ends of the ranges of λ, ρ, β and T."""
    epochs = 2 if quick else None
    out = {}
    for name, ends in ENDS.items():
        for value in ends:
            key = f"static {name}={value:g}"
            out[key] = group(store, seeds, "200", key, epochs, method="static", **{name: value})
    return out


def timed_steps(store: RunStore, setups: dict[str, dict]) -> tuple[dict[str, StudentStep], list]:
    """A fresh student's StudentStep for every setup (DistillConfig fields), and 16
    augmented batches of the digits that all of them take, for timing side by side."""
    steps, batches = {}, None
    for label, kw in setups.items():
        cfg = DistillConfig(teacher=TEACHER, device="cpu", **kw)
        s = prepare_student(cfg, store)
        if batches is None:
            batches = list(s.train.batches(cfg.batch_size, shuffle=True, augment=True))[:16]
        s.model.train()
        optimizer = make_optimizer(s.model, s.method, cfg)
        steps[label] = StudentStep(s.model, s.method, optimizer, s.device, cfg.amp, s.teacher)
    return steps, batches


def speed_ratios(store: RunStore, steps: int, rounds: int) -> dict:
    """Steps of every method (and static + conv3) on the same batches, round by round."""
    contenders = {}
    setups = {m: {"method": m} for m in list_methods()}
    setups["static + conv3"] = TRIALS["static + conv3"]
    made, batches = timed_steps(store, setups)
    for label, step in made.items():

        def run(step=step, batches=batches):
            with step.taps:
                for i in range(steps):
                    x, y, _ = batches[i % len(batches)]
                    loss, _ = step(x, y, 0.01)
                    loss.item()  # as the loop does, for its progress line

        contenders[label] = run
    t = interleaved(contenders, rounds=rounds, warmup=2, clock=time.process_time)
    ms = {k: 1e3 * median(v) / steps for k, v in t.items()}
    return {
        "step_ms": ms,
        "static_over_ce": paired_ratio(t["static"], t["ce"]),
        "static_free_over_ce": paired_ratio(t["static_free"], t["ce"]),
        "static_corr_over_ce": paired_ratio(t["static_corr"], t["ce"]),
        "static_conv3_over_ce": paired_ratio(t["static + conv3"], t["ce"]),
        "kd_over_static": paired_ratio(t["kd"], t["static"]),
        "goal": "static / ce <= 1.10",
        "steps_per_round": steps,
        "rounds": rounds,
        "clock": "process CPU time",
        "code": CODE,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="2 epochs per student")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads (a second one only adds waits)"
    )
    parser.add_argument("--fresh", action="store_true", help="forget finished groups")
    parser.add_argument(
        "--speed-only", action="store_true", help="re-measure the speed ratios into kd.json"
    )
    parser.add_argument("--stability-only", action="store_true", help="only part 3, into kd.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.fresh or args.quick:
        CACHE.unlink(missing_ok=True)
    results = {"torch": torch.__version__, "threads": args.threads, "seeds": args.seeds}
    results["code"] = CODE  # `--speed-only` keeps the rest: its "speed" has its own "code"
    with tempfile.TemporaryDirectory() as home:
        started = time.perf_counter()
        ensure_default_run(home=Path(home))
        store = RunStore(Path(home))
        saved = json.loads((OUT / "kd.json").read_text()) if (OUT / "kd.json").exists() else {}
        if args.stability_only:
            part = {"stability": stability(store, args.seeds, args.quick)}
            OUT.mkdir(exist_ok=True)
            (OUT / "kd.json").write_text(json.dumps(saved | part, indent=2))
            _log(json.dumps(part, indent=1))
            return
        results["speed"] = speed_ratios(store, steps=5 if args.quick else 20, rounds=41)
        _log(json.dumps(results["speed"]))
        if args.speed_only:
            OUT.mkdir(exist_ok=True)
            (OUT / "kd.json").write_text(json.dumps(saved | {"speed": results["speed"]}, indent=2))
            return
        results["accuracy"] = accuracy_tables(store, args.seeds, args.quick)
        results["stability"] = stability(store, args.seeds, args.quick)
        results["seconds"] = time.perf_counter() - started
    OUT.mkdir(exist_ok=True)
    (OUT / "kd.json").write_text(json.dumps(results, indent=2))
    CACHE.unlink(missing_ok=True)
    print(json.dumps(results["speed"], indent=2))


if __name__ == "__main__":
    main()

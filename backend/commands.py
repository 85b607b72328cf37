"""What each `semvec` subcommand does (the parser lives in backend.cli)."""

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

from backend.core.errors import SemvecError
from backend.core.progress import TqdmReporter
from backend.core.settings import get_settings

COMMANDS: dict[str, Callable[[argparse.Namespace], int | None]] = {}


def command(name: str):
    def wrap(fn):
        COMMANDS[name] = fn
        return fn

    return wrap


def _layers(text: str | None) -> list[str] | None:
    return [p.strip() for p in text.split(",") if p.strip()] if text else None


def _params(pairs: list[str]) -> dict:
    """`key=value` pairs; values parsed as JSON when they can be (numbers, booleans)."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SemvecError(f"parameter {pair!r} must look like name=value")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def _data_config(args):
    from backend.training.config import DataConfig

    return DataConfig(
        name=args.dataset,
        root=args.root,
        seed=args.data_seed,
        image_size=args.image_size,
        download=args.download,
        crop=args.crop,
        mean=args.mean,
        std=args.std,
        channels=args.channels,
    )


def _align_config(args, **extra):
    from backend.training.config import AlignConfig

    return AlignConfig(
        dim=args.dim,
        subset=args.subset,
        lr=args.align_lr,
        steps=args.align_steps,
        batch_size=args.align_batch_size,
        init=args.align_init,
        **extra,
    )


def _device(args) -> str:
    from backend.core.settings import get_settings

    return args.device or get_settings().device


def _after_vectors(args, reporter):
    """Analysis and a PCA map of a new run before it appears, so it opens on the map at
    once (and a failure there leaves no run behind); None with --no-analyze."""
    from backend.services.analysis import analyze_run
    from backend.services.projection import project_run

    def finish(run) -> None:
        analyze_run(run, device=_device(args), reporter=reporter)
        project_run(run, "pca", {}, reporter)

    return None if args.no_analyze else finish


def _make_run(make, cfg, args, **extra) -> None:
    """Make a run with vectors (train_run or align_run), analyse it, say where it is.
    Under torchrun (`world` in `extra`) rank 0 alone reports and writes."""
    from backend.core.progress import Reporter

    world = extra.get("world")
    reporter = TqdmReporter() if world is None or world.is_main else Reporter()
    finish = _after_vectors(args, reporter)
    run = make(cfg, name=args.name, reporter=reporter, before_commit=finish, **extra)
    if isinstance(reporter, TqdmReporter):
        reporter.close()
    if run is not None:
        print(f"run {run.id}: {run.folder}")


@command("train")
def train(args) -> None:
    from backend.services.vectors import train_run
    from backend.training.config import TrainConfig

    cfg = TrainConfig(
        arch=args.arch,
        data=_data_config(args),
        layers=_layers(args.layers),
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
        augment=args.augment,
        device=_device(args),
        amp=not args.no_amp,
        align=_align_config(args, weight=args.align_weight, grad_to_network=args.align_grad),
    )
    _make_run(train_run, cfg, args)


def _start_ranks(args) -> int | None:
    """With --gpus N outside torchrun: the same command as N ranks under torchrun (its
    exit code); None when this process is to do the work (one process, or a rank)."""
    import os

    if args.gpus < 1:
        raise SemvecError(f"--gpus {args.gpus}: give 1 or more processes")
    if args.gpus == 1 or "WORLD_SIZE" in os.environ:
        return None
    from backend.jobs.checks import ranks_fit

    try:
        ranks_fit(args.gpus)
    except ValueError as err:
        raise SemvecError(str(err).replace("gpus", "--gpus", 1)) from err
    from backend.training.distributed import run_ranks

    return run_ranks(args.gpus, ["backend.cli", *args.argv])


@command("align")
def align(args) -> int | None:
    from backend.services.loading import WrongArchitectureError
    from backend.services.vectors import align_run
    from backend.training.config import PostHocConfig
    from backend.training.distributed import from_environment

    if (code := _start_ranks(args)) is not None:
        return code

    cfg = PostHocConfig(
        run=args.run,
        checkpoint=args.checkpoint,
        arch=args.arch,
        download_weights=args.download,
        data=_data_config(args),
        layers=_layers(args.layers),
        device=_device(args),
        amp=not args.no_amp,
        align=_align_config(args),
    )
    try:
        _make_run(align_run, cfg, args, world=from_environment())
    except WrongArchitectureError as err:  # the CLI's own way to name another architecture
        raise SemvecError(f"{err} (or bring your own: --arch path/to/file.py:build)") from err


@command("analyze")
def analyze(args) -> None:
    from backend.runs.store import RunStore
    from backend.services.analysis import analyze_run
    from backend.training.config import AnalyzeConfig

    run = RunStore(get_settings().home).open(args.run)
    reporter = TqdmReporter()
    cfg = AnalyzeConfig(split=args.split, k=args.k, device=_device(args))
    analyze_run(run, cfg=cfg, reporter=reporter)
    reporter.close()
    print(f"analysis of {run.id}: {run.folder / 'analysis.safetensors'}")


@command("project")
def project(args) -> None:
    from backend.runs.store import RunStore
    from backend.services.projection import project_run

    run = RunStore(get_settings().home).open(args.run)
    reporter = TqdmReporter()
    started = time.perf_counter()
    result = project_run(run, args.method, _params(args.param), reporter)
    reporter.close()
    how = "from cache" if result.hit else "computed"
    print(
        f"{args.method} map of {run.id} {how} in {time.perf_counter() - started:.2f} s: "
        f"{result.path}"
    )


@command("export")
def export(args) -> None:
    from backend.runs.store import RunStore
    from backend.services.export import export_run

    run = RunStore(get_settings().home).open(args.run)
    out = Path(args.out) if args.out else run.folder / "export"
    for path in export_run(run, out):
        print(path)


@command("runs")
def runs(_args) -> None:
    from backend.runs.store import RunStore

    store = RunStore(get_settings().home)
    # CEIL and BOUND: the training correlation itself and its rank-d fit, measured the
    # same way (docs/method.md): what the r and P@10 beside them could be at most.
    head = ("RUN", "KIND", "ARCH", "DATASET", "NEURONS", "r", "P@10", "CEIL r/P@10")
    rows = [(*head, "BOUND r/P@10", "IMAGES/CLASSES", "ACC")]
    for run in store.runs():
        q = run.metrics().get("quality", {})
        acc = run.metrics().get("test_accuracy")
        held = q.get("held_out")
        rows.append(
            (
                run.id,
                run.meta.kind,
                run.meta.arch,
                run.meta.dataset.get("name", "?"),
                str(len(run.index())),
                _fmt(q.get("r")),
                _fmt(q.get("precision_at_10")),
                _pair(q.get("ceiling")),
                _pair(q.get("bound")),
                f"{held['images']}/{held['classes']}" if held else "-",
                _fmt(acc),
            )
        )
    if len(rows) == 1:
        print(f"no runs in {store.runs_dir}; make one with `semvec quickstart` or `semvec train`")
        return
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.3f}"


def _pair(figures: dict | None) -> str:
    if not figures:
        return "-"
    return f"{_fmt(figures.get('r'))}/{_fmt(figures.get('precision_at_10'))}"


@command("models")
def models(args) -> None:
    from backend.models import catalogue

    for entry in catalogue():
        names = entry["names"]
        prefix = "" if entry["source"] in ("zoo", "file") else f"{entry['source']}:"
        print(f"{entry['title']} ({len(names)})")
        shown = names if args.all or len(names) <= 100 else names[:30]
        for name in shown:
            print(f"  {prefix}{name}")
        if len(shown) < len(names):
            print(f"  ... and {len(names) - len(shown)} more (--all lists them)")


@command("layers")
def layers(args) -> None:
    from backend.services.layers import layer_table

    table = layer_table(
        args.target, _data_config(args) if args.dataset else None, _layers(args.layers)
    )
    print(f"{table.model} on {table.input_label}")
    width = max(len(row.path) for row in table.modules)
    print(f"  {'MODULE':{width}s}  {'TYPE':22s} {'OUTPUT':18s} {'CHANNELS':>8s}")
    for row in table.modules:
        mark = "*" if row.path in table.probed else " "
        shape = "x".join(map(str, row.shape))
        print(f"{mark} {row.path:{width}s}  {row.kind:22s} {shape:18s} {row.channels:8d}")
    print(
        f"* probed: {len(table.probed)} layers, {table.neurons} neurons "
        f"(logit layer {table.probed[-1]}); choose others with --layers (names or globs)"
    )


@command("quickstart")
def quickstart(args) -> None:
    from backend.services.default_run import ensure_default_run

    reporter = TqdmReporter()
    run = ensure_default_run(force=args.force, reporter=reporter)
    reporter.close()
    q = run.metrics()["quality"]
    print(
        f"\nThe digits default is ready: run {run.id!r} in {run.folder}\n"
        f"  {len(run.index())} neurons, held-out r {q['r']:.3f}, "
        f"precision@10 {q['precision_at_10']:.3f}\n"
        f"  maps: {run.projections_dir}\n"
        f"  browse its neurons with `semvec runs`, `semvec export {run.id}`",
        file=sys.stdout,
    )


@command("default-checkpoint")
def default_checkpoint(args) -> None:
    from backend.services.default_run import make_default_checkpoint

    reporter = TqdmReporter()
    paths = make_default_checkpoint(epochs=args.epochs, device=args.device, reporter=reporter)
    reporter.close()
    for path in paths:
        print(path)


@command("jobs")
def jobs(args) -> int:
    from backend.jobs.cli import jobs_command

    return jobs_command(args)


@command("serve")
def serve(args) -> int:
    from backend.jobs.cli import serve as serve_app

    return serve_app(args)


@command("knowledge")
def knowledge(args) -> None:
    from backend.distill.knowledge import export_knowledge, load_knowledge
    from backend.runs.store import RunStore

    run = RunStore(get_settings().home).open(args.run)
    path = export_knowledge(run, _layers(args.layers), Path(args.out) if args.out else None)
    k = load_knowledge(path)
    shown = ", ".join(f"{lay.path} ({lay.width})" for lay in k.layers)
    print(f"knowledge of {run.id}: {shown}; d = {k.vector_dim}; {path.stat().st_size} bytes")
    print(path)


@command("distill")
def distill(args) -> None:
    from backend.distill.config import DistillConfig
    from backend.distill.registry import get_method
    from backend.services.distill import distill_run
    from backend.training.config import AlignConfig

    get_method(args.method)  # an unknown method fails before anything is loaded
    rows = []
    for seed in range(args.seeds):
        cfg = DistillConfig(
            teacher=args.teacher,
            knowledge=args.knowledge,
            student=args.student,
            method=args.method,
            seed=seed,
            epochs=args.epochs,
            lam=args.lam,
            temperature=args.temperature,
            beta=args.beta,
            rho=args.rho,
            train_size=args.train_size,
            hint_layers=_layers(args.hint_layers),
            batch_size=args.batch_size,
            lr=args.lr,
            device=_device(args),
            align=AlignConfig(steps=args.align_steps),
        )
        reporter = TqdmReporter()
        name = f"{args.name}-s{seed}" if args.name else None
        finish = _after_vectors(args, reporter)
        run = distill_run(cfg, name=name, reporter=reporter, before_commit=finish)
        reporter.close()
        metrics = run.metrics()
        seconds = sum(h["seconds"] for h in metrics["history"]) / len(metrics["history"])
        rows.append((run.id, seed, metrics["test_accuracy"], seconds))
    _print_distill_table(args.method, rows)


def _print_distill_table(method: str, rows: list[tuple]) -> None:
    import statistics

    print(f"\n{'RUN':44s} {'METHOD':7s} {'SEED':>4s} {'TEST ACC':>9s} {'S/EPOCH':>8s}")
    for run_id, seed, acc, seconds in rows:
        print(f"{run_id:44s} {method:7s} {seed:4d} {acc:9.4f} {seconds:8.3f}")
    accs = [acc for _, _, acc, _ in rows]
    spread = statistics.stdev(accs) if len(accs) > 1 else 0.0
    mean = statistics.mean(accs)
    print(f"{'mean ± std':44s} {method:7s} {len(rows):4d} {mean:9.4f} ± {spread:.4f}")

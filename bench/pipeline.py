"""A whole post-hoc run against one bare decode + forward of the same images.

What a user waits for: `semvec align` of a model over an image folder, with the analysis
and the first (PCA) map that the CLI makes before the run appears. The floor is one
plain torchvision loop over the same folder: decode, resize, normalise, forward, once.
Both run on one thread, each in a fresh process (so the timing includes start-up and the
peak memory is that of one run), in interleaved rounds; the ratio is the median of the
per-round ratios (bench/timing.py).

Two models, both on photos of ../shared/data's CIFAR-10 test JPEGs:
- the public CIFAR-10 ResNet-56 (../shared/data/teachers/resnet56-cifar10.th) on the
  10,000 test JPEGs at 32 px (the folder splits 8,000 / 1,000 / 1,000);
- torchvision resnet50 at 224 px (random weights saved to a file: the time does not
  depend on them) on 2,000 of those photos (200 a class), resized to 256, cropped to 224.
Then the peak memory (RSS) of the whole run at 2,000 and at 10,000 images (ResNet-56).

Run: `make bench-pipeline` (or `.venv/bin/python -m bench.pipeline [--quick]`); writes
bench/out/pipeline.json. Each ratio is given in wall seconds and in CPU seconds of the
child processes (on one thread the latter leaves out the time other processes take the
shared cores away). `--quick` (a few minutes) uses 2,000 ResNet-56 images, 200
ResNet-50 photos and one round. Needs ../shared/data; says which file is missing.
"""

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "out"


def _folder(home: Path, per_class: int | None) -> Path:
    """The CIFAR-10 test JPEGs (all, or `per_class` of each class) as root/<class>/*.jpg."""
    from bench import cifar_data
    from bench.own_model import _subset_folder

    test = cifar_data.folder("test")
    if per_class is None:
        return test
    target = home / f"cifar-test-{per_class * 10}"
    return target if target.is_dir() else _subset_folder(test, target, per_class)


def _resnet50_file(home: Path) -> Path:
    path = home / "resnet50-random.pt"
    if not path.exists():
        import torch
        from torchvision.models import resnet50

        torch.manual_seed(0)
        torch.save({"state_dict": resnet50(num_classes=10).state_dict()}, path)
    return path


MODELS = {
    # name: (arch, resize, crop, mean, std)
    "resnet56": ("resnet56_a", 32, 32, "cifar"),
    "resnet50": ("torchvision:resnet50", 256, 224, "imagenet"),
}


def _stats(kind: str) -> tuple[list[float], list[float]]:
    from bench.own_model import CIFAR_MEAN, CIFAR_STD

    return (
        (CIFAR_MEAN, CIFAR_STD)
        if kind == "cifar"
        else ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
    )


def _checkpoint(model: str, home: Path) -> Path:
    from bench.own_model import TEACHER, _need

    return _need(TEACHER) if model == "resnet56" else _resnet50_file(home)


# ---- the two contenders, each run in its own process (`--one`) ----


def bare(model: str, folder: Path, home: Path, device: str = "cpu") -> dict:
    """Decode, resize, normalise and forward every image once: a plain torchvision loop
    (on CUDA: channels_last, bf16 autocast, decoding in one worker per core)."""
    import os

    import torch
    from torchvision import datasets, transforms

    import model_zoo
    from backend.runs.checkpoint import load_into, read_state_dict

    arch, resize, crop, stats = MODELS[model]
    mean, std = _stats(stats)
    if model == "resnet56":
        net = model_zoo.get_model(arch, num_classes=10)
    else:
        from torchvision.models import resnet50

        net = resnet50(num_classes=10)
    load_into(net, read_state_dict(_checkpoint(model, home)), arch)
    dev = torch.device(device)
    cuda = dev.type == "cuda"
    net.eval().to(dev, memory_format=torch.channels_last if cuda else torch.contiguous_format)
    tf = transforms.Compose(
        [
            transforms.Resize(resize),
            transforms.CenterCrop(crop),
            transforms.ToTensor(),
            transforms.Normalize(mean, std),
        ]
    )
    workers = max(1, (os.cpu_count() or 2) - 1) if cuda else 0
    loader = torch.utils.data.DataLoader(
        datasets.ImageFolder(str(folder), tf), batch_size=256, num_workers=workers, pin_memory=cuda
    )
    images = 0
    with torch.inference_mode(), torch.autocast("cuda", torch.bfloat16, enabled=cuda):
        for x, _ in loader:
            net(x.to(dev, non_blocking=True))
            images += len(x)
    if cuda:
        torch.cuda.synchronize()
    return {"images": images}


def whole_run(model: str, folder: Path, home: Path, device: str = "cpu") -> dict:
    """`semvec align` as the CLI runs it: vectors, quality, analysis and the PCA map."""
    from backend.services.analysis import analyze_run
    from backend.services.projection import project_run
    from backend.services.vectors import align_run
    from backend.training.config import AlignConfig, DataConfig, PostHocConfig
    from bench.own_model import StageClock

    arch, resize, crop, stats = MODELS[model]
    mean, std = _stats(stats)
    clock = StageClock()

    def finish(run) -> None:
        analyze_run(run, device=device, reporter=clock)
        project_run(run, "pca", {}, clock)

    cfg = PostHocConfig(
        checkpoint=str(_checkpoint(model, home)),
        arch=arch,
        data=DataConfig(
            name="imagefolder", root=str(folder), image_size=resize, crop=crop, mean=mean, std=std
        ),
        device=device,
        align=AlignConfig(),
    )
    run = align_run(cfg, reporter=clock, home=home, before_commit=finish)
    stages = clock.finish()
    quality = run.metrics().get("quality", {})
    return {
        "stages": stages,
        "neurons": len(run.index()),
        "r": quality.get("r"),
        "precision_at_10": quality.get("precision_at_10"),
        "bound": quality.get("bound"),
        "ceiling": quality.get("ceiling"),
    }


CONTENDERS = {"bare": bare, "run": whole_run}


def _one(args) -> None:
    """Child process: one contender on one thread; prints one JSON line."""
    import torch

    if args.device == "cpu":
        torch.set_num_threads(1)
    started = time.perf_counter()
    out = CONTENDERS[args.one](args.model, Path(args.folder), Path(args.home), args.device)
    out["seconds_inside"] = round(time.perf_counter() - started, 2)
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print("RESULT " + json.dumps(out), flush=True)


def _spawn(which: str, model: str, folder: Path, home: Path, device: str = "cpu") -> dict:
    cmd = [sys.executable, "-m", "bench.pipeline", "--one", which, "--model", model]
    cmd += ["--folder", str(folder), "--home", str(home), "--device", device]
    started, cpu = time.perf_counter(), _children_cpu()
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    cpu = _children_cpu() - cpu
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
    if done.returncode or not lines:
        raise SystemExit(f"{which} {model} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return json.loads(lines[-1][7:]) | {"seconds": round(seconds, 2), "cpu_s": round(cpu, 2)}


def _children_cpu() -> float:
    """CPU seconds of the finished child processes: on one thread, a run's own work,
    without the time other processes took the shared cores away."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def compare(model: str, folder: Path, home: Path, rounds: int, device: str = "cpu") -> dict:
    """Interleaved rounds of bare and whole run; the median per-round ratio."""
    from bench.timing import median, paired_ratio

    bares, runs = [], []
    for i in range(rounds):
        bares.append(_spawn("bare", model, folder, home, device))
        runs.append(_spawn("run", model, folder, home, device))
        print(
            f"  {model} round {i + 1}/{rounds}: bare {bares[-1]['seconds']:.1f} s, "
            f"run {runs[-1]['seconds']:.1f} s",
            flush=True,
        )
    run_s = [r["seconds"] for r in runs]
    bare_s = [b["seconds"] for b in bares]
    last = runs[-1]
    stages = {k: median([r["stages"].get(k, 0.0) for r in runs]) for k in last["stages"]}
    inside = median([r["seconds_inside"] for r in runs])
    stages["start-up and loading"] = round(median(run_s) - sum(stages.values()), 2)
    total = sum(stages.values())
    return {
        "images": bares[-1]["images"],
        "neurons": last["neurons"],
        "bare_s": bare_s,
        "run_s": run_s,
        "run_inside_s": inside,
        "ratio": round(paired_ratio(run_s, bare_s), 3),
        "bare_cpu_s": [b["cpu_s"] for b in bares],
        "run_cpu_s": [r["cpu_s"] for r in runs],
        "cpu_ratio": round(
            paired_ratio([r["cpu_s"] for r in runs], [b["cpu_s"] for b in bares]), 3
        ),
        "stages_s": {k: round(v, 2) for k, v in stages.items()},
        "stage_share": {k: round(v / total, 3) for k, v in stages.items()},
        "quality": {k: last[k] for k in ("r", "precision_at_10", "bound", "ceiling")},
        "peak_rss_mb": {"bare": bares[-1]["peak_rss_mb"], "run": last["peak_rss_mb"]},
    }


def memory(home: Path, sizes: dict[str, Path]) -> dict:
    """Peak RSS of a whole ResNet-56 run at each folder size."""
    return {
        label: _spawn("run", "resnet56", folder, home)["peak_rss_mb"]
        for label, folder in sizes.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--part", choices=["resnet56", "resnet50", "memory", "all"], default="all")
    parser.add_argument("--home", help="data home to work in (default: a temporary folder)")
    parser.add_argument("--device", default="cpu", help="cpu (one thread) or cuda")
    parser.add_argument("--photos", type=int, default=2000, help="resnet50's photos (<= 10,000)")
    parser.add_argument("--out", help="JSON file to write (default: bench/out/pipeline.json)")
    parser.add_argument("--one", choices=list(CONTENDERS), help=argparse.SUPPRESS)
    parser.add_argument("--model", choices=list(MODELS), help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        return _one(args)
    home = Path(args.home) if args.home else Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    rounds = 1 if args.quick else args.rounds
    OUT.mkdir(parents=True, exist_ok=True)
    path = (
        Path(args.out)
        if args.out
        else OUT / ("pipeline-quick.json" if args.quick else "pipeline.json")
    )
    photos = 200 if args.quick else min(args.photos, 10_000)
    dev = args.device
    results = json.loads(path.read_text()) if path.exists() else {}
    parts = {
        "resnet56": lambda: compare(
            "resnet56", _folder(home, 200 if args.quick else None), home, rounds, dev
        ),
        "resnet50": lambda: compare(
            "resnet50", _folder(home, photos // 10 if photos < 10_000 else None), home, rounds, dev
        ),
        "memory": lambda: memory(home, {"2000": _folder(home, 200), "10000": _folder(home, None)}),
    }
    for name, fn in parts.items():
        if args.part in (name, "all"):
            print(f"== {name} in {home}", flush=True)
            results[name] = fn() | {"measured": time.strftime("%Y-%m-%d %H:%M")}
            path.write_text(json.dumps(results, indent=2))
            print(json.dumps(results[name], indent=2), flush=True)
    _summary(results)


def _summary(results: dict) -> None:
    for name in ("resnet56", "resnet50"):
        if name in results:
            r = results[name]
            shares = ", ".join(f"{k} {v:.0%}" for k, v in r["stage_share"].items())
            print(
                f"{name}: {r['images']} images, whole run / bare pass = {r['ratio']:.2f}x wall, "
                f"{r.get('cpu_ratio', float('nan')):.2f}x CPU time "
                f"(run {min(r['run_s']):.1f} s, bare {min(r['bare_s']):.1f} s); {shares}"
            )
    if "memory" in results:
        m = results["memory"]
        print(
            f"peak RSS of a ResNet-56 run: {m.get('2000')} MB at 2,000 images, "
            f"{m.get('10000')} MB at 10,000"
        )


if __name__ == "__main__":
    main()

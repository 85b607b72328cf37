"""Bring-your-own-model on real data (issue 11), end to end, on this machine's CPUs:

1. The public CIFAR-10 ResNet-56 (../shared/data/teachers/resnet56-cifar10.th, saved by
   its authors: `state_dict` wrapper, DataParallel keys, no BatchNorm counters, `linear`
   head, option-A shortcuts) loaded through the public path (`--arch resnet56_a`, the
   CIFAR means and stds) on the CIFAR-10 JPEG folders (50,000 train, 10,000 test).
2. torchvision:resnet50 (standard 224-px stem) on 2,000 of those photos resized to 256
   and cropped to 224, weights from a checkpoint file (random: no ImageNet weights are on
   this machine, and the time does not depend on the weights).

For each: the time of each stage (reported by the pipeline itself), the peak memory of
the process, the test accuracy, the neuron count, held-out r / P@10 with the ceiling and
the rank-d bound, then a real `semvec serve` on the result: seconds until the first map
and the first top image answer, and headless Chromium's time to a drawn map.

Run: `make bench-own-model` (or `.venv/bin/python -m bench.own_model [--part resnet56|resnet50]`);
writes bench/out/own_model.json. Needs ../shared/data; says which file is missing.
"""

import argparse
import json
import random
import resource
import shutil
import tarfile
import tempfile
import time
from pathlib import Path

import httpx
import torch

from backend.core.progress import Reporter
from backend.training.config import AlignConfig, DataConfig, PostHocConfig

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "out"
SHARED = REPO.parent / "shared" / "data"
TEACHER = SHARED / "teachers" / "resnet56-cifar10.th"
CIFAR = SHARED / "cifar10"
CIFAR_MEAN, CIFAR_STD = [0.4914, 0.4822, 0.4465], [0.2023, 0.1994, 0.2010]


class StageClock(Reporter):
    """Seconds per stage, as the pipeline names them (reference, align, quality, ...)."""

    def __init__(self):
        self.stages: list[list] = []
        self._last = time.perf_counter()

    def stage(self, name: str, total: int) -> None:
        now = time.perf_counter()
        if self.stages:
            self.stages[-1][1] += now - self._last
        self.stages.append([name, 0.0])
        self._last = now
        print(f"  {name} ...", flush=True)

    def message(self, text: str) -> None:
        print(f"  {text}", flush=True)

    def finish(self) -> dict:
        self.stage("end", 0)
        totals: dict[str, float] = {}
        for name, seconds in self.stages[:-1]:
            totals[name] = round(totals.get(name, 0.0) + seconds, 2)
        return totals


def _need(path: Path) -> Path:
    if not path.exists():
        raise SystemExit(f"missing {path}: this benchmark reads ../shared/data (see its README)")
    return path


def _unpack(home: Path) -> Path:
    root = home / "datasets" / "cifar10"
    for part in ("train", "test"):
        if not (root / part).is_dir():
            print(f"unpacking CIFAR-10 {part} ...", flush=True)
            with tarfile.open(_need(CIFAR / f"{part}.tar.gz")) as tar:
                tar.extractall(home / "datasets", filter="data")
    return root


def _subset_folder(source: Path, target: Path, per_class: int) -> Path:
    """`per_class` images of each class of `source`, copied (links that leave a folder are
    never followed)."""
    rng = random.Random(0)
    for folder in sorted(p for p in source.iterdir() if p.is_dir()):
        files = sorted(folder.iterdir())
        (target / folder.name).mkdir(parents=True, exist_ok=True)
        for f in rng.sample(files, per_class):
            shutil.copyfile(f, target / folder.name / f.name)
    return target


def _make_run(home: Path, cfg: PostHocConfig, name: str) -> dict:
    from backend.services.analysis import analyze_run
    from backend.services.projection import project_run
    from backend.services.vectors import align_run

    clock = StageClock()

    def finish(run) -> None:
        analyze_run(run, device="cpu", reporter=clock)
        project_run(run, "pca", {}, clock)

    started = time.perf_counter()
    run = align_run(cfg, name=name, reporter=clock, home=home, before_commit=finish)
    total = time.perf_counter() - started
    clock.stage("umap", 0)
    project_run(run, "umap", {}, clock)
    stages = clock.finish()
    metrics = run.metrics()
    return {
        "run": run.id,
        "arch": run.meta.arch,
        "neurons": len(run.index()),
        "layers": len(run.meta.layers),
        "test_accuracy": metrics.get("test_accuracy"),
        "quality": metrics.get("quality"),
        "warnings": metrics.get("warnings"),
        "input": metrics.get("input"),
        "seconds": {**stages, "make_run_total": round(total, 1)},
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def _first_view(home: Path, run_id: str) -> dict:
    """A fresh `semvec serve` on the home: first answers of the map and a top image, and
    Chromium's time to the drawn map."""
    from bench import browser
    from tests.backend.api.conftest import Server

    out = {}
    with Server(home) as server, httpx.Client(base_url=server.url, timeout=600) as client:
        neuron = client.get(f"/api/runs/{run_id}/neurons", params={"limit": 1}).json()
        first = neuron["data"][0]["name"] if neuron.get("data") else None
        for label, path, params in (
            ("map_s", f"/api/runs/{run_id}/projection", {"method": "umap"}),
            ("first_top_image_s", f"/api/runs/{run_id}/neurons/{first}/images/0.png", {}),
            ("second_top_image_s", f"/api/runs/{run_id}/neurons/{first}/images/1.png", {}),
        ):
            started = time.perf_counter()
            status = client.get(path, params=params).status_code
            out[label] = round(time.perf_counter() - started, 3)
            out[label.replace("_s", "_status")] = status
        chrome = browser.chromium()
        try:
            drawn = browser.open_map(chrome, f"{server.url}/?run={run_id}&method=umap")
            out["page_map_drawn_s"] = round(drawn["drawn_ms"] / 1000, 2)
            out["page_points"] = drawn["points"]
        finally:
            chrome.quit()
    return out


def resnet56(home: Path) -> dict:
    root = _unpack(home)
    cfg = PostHocConfig(
        checkpoint=str(_need(TEACHER)),
        arch="resnet56_a",
        data=DataConfig(name="imagefolder", root=str(root), mean=CIFAR_MEAN, std=CIFAR_STD),
        device="cpu",
        align=AlignConfig(),
    )
    result = _make_run(home, cfg, "resnet56-cifar10")
    return result | {"first_view": _first_view(home, result["run"])}


def resnet50(home: Path, per_class: int = 200) -> dict:
    root = _unpack(home)
    photos = _subset_folder(root / "test", home / "datasets" / "cifar-2000", per_class)
    checkpoint = home / "resnet50-random.pt"
    torch.manual_seed(0)
    from torchvision.models import resnet50 as build

    torch.save({"state_dict": build(num_classes=10).state_dict()}, checkpoint)
    cfg = PostHocConfig(
        checkpoint=str(checkpoint),
        arch="torchvision:resnet50",
        data=DataConfig(name="imagefolder", root=str(photos), image_size=256, crop=224),
        device="cpu",
        align=AlignConfig(),
    )
    result = _make_run(home, cfg, "resnet50-224")
    return result | {"first_view": _first_view(home, result["run"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["resnet56", "resnet50", "both"], default="both")
    parser.add_argument("--home", help="data home to work in (default: a temporary folder)")
    args = parser.parse_args()
    torch.set_num_threads(2)
    home = Path(args.home) if args.home else Path(tempfile.mkdtemp(prefix="bench-own-"))
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "own_model.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    for part, fn in (("resnet56", resnet56), ("resnet50", resnet50)):
        if args.part in (part, "both"):
            print(f"== {part} in {home}", flush=True)
            shutil.rmtree(home / "runs", ignore_errors=True)
            results[part] = fn(home) | {"measured": time.strftime("%Y-%m-%d %H:%M")}
            path.write_text(json.dumps(results, indent=2))
            print(json.dumps(results[part], indent=2), flush=True)


if __name__ == "__main__":
    main()

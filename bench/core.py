"""Core benchmarks (issue 2), on the CPU with 2 threads, each ratio measured side by side:

1. alignment training step / plain training step, digits CNN, batch 128   (goal <= 1.15)
2. analysis pass / forward-only pass throughput, digits CNN, batch 256     (goal >= 0.9)
3. UMAP of 10,000 x 64 vectors: cold (fresh process, numba compile) and warm (goal <= 30 s)
4. reopening a cached projection                                           (goal <= 0.2 s)

Run with `make bench`; writes bench/out/core.json.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "2")
os.environ.setdefault("OMP_NUM_THREADS", "2")

import numpy as np
import torch
import torch.nn.functional as F

import model_zoo
from backend.analysis import analyze
from backend.data import DataSpec, load_split
from backend.projection import ProjectionCache
from backend.semantic.alignment import SemanticVectors, alignment_loss
from backend.semantic.neurons import ActivationProbe
from bench.timing import interleaved, median, paired_ratio

OUT = Path(__file__).parent / "out"


def alignment_step_ratio(steps: int = 30) -> dict:
    torch.manual_seed(0)
    split = load_split(DataSpec(), "train")
    batches = list(split.batches(128, shuffle=True, drop_last=True))
    model = model_zoo.get_model("digits_cnn").train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    vectors = SemanticVectors(234, 64)
    vec_opt = torch.optim.Adam(vectors.parameters(), lr=0.03)
    gen = torch.Generator().manual_seed(0)
    probe = ActivationProbe(model, model.probed_layers)

    def plain():
        for i in range(steps):
            x, y, _ = batches[i % len(batches)]
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    def aligned():
        with probe:
            for i in range(steps):
                x, y, _ = batches[i % len(batches)]
                ce = F.cross_entropy(model(x), y)
                loss = ce + alignment_loss(probe.pooled().detach(), vectors, 2048, gen)
                opt.zero_grad(set_to_none=True)
                vec_opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                vec_opt.step()

    t = interleaved({"plain": plain, "aligned": aligned}, rounds=15)
    return {
        "plain_step_ms": 1e3 * median(t["plain"]) / steps,
        "aligned_step_ms": 1e3 * median(t["aligned"]) / steps,
        "ratio": paired_ratio(t["aligned"], t["plain"]),
        "goal": "<= 1.15",
    }


def analysis_throughput_ratio(repeat: int = 4) -> dict:
    """One pass over the digits set seen `repeat` times (7,188 images in batches of 256)."""
    torch.manual_seed(0)
    split = load_split(DataSpec(), "all")
    batches = list(split.batches(256)) * repeat
    model = model_zoo.get_model("digits_cnn").eval()
    images = len(split) * repeat

    def forward_only():
        with torch.inference_mode():
            for x, _y, _i in batches:
                model(x)

    def analysis():
        analyze(model, model.probed_layers, batches, num_classes=10, k=9)

    t = interleaved({"forward": forward_only, "analysis": analysis}, rounds=15)
    return {
        "forward_images_per_s": images / median(t["forward"]),
        "analysis_images_per_s": images / median(t["analysis"]),
        "ratio": paired_ratio(t["forward"], t["analysis"]),
        "goal": ">= 0.9",
    }


def clustered_vectors(n: int = 10_000, d: int = 64, clusters: int = 40) -> np.ndarray:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(clusters, d))
    labels = rng.integers(0, clusters, size=n)
    return (centres[labels] + 0.5 * rng.normal(size=(n, d))).astype(np.float32)


_COLD_UMAP = """
import json, sys, time
t0 = time.perf_counter()
import numpy as np
from backend.projection import project
from bench.core import clustered_vectors
v = clustered_vectors()
t1 = time.perf_counter()
project(v, "umap")
t2 = time.perf_counter()
project(v, "umap")
t3 = time.perf_counter()
print(json.dumps({"cold_s": t2 - t1, "cold_with_import_s": t2 - t0, "warm_s": t3 - t2}))
"""


def umap_times() -> dict:
    """A fresh process, so the cold number includes umap's import and numba compilation."""
    env = {**os.environ, "NUMBA_NUM_THREADS": "2", "OMP_NUM_THREADS": "2"}
    cmd = ["taskset", "-c", "0,1"] if _has_taskset() else []
    out = subprocess.run(
        [*cmd, sys.executable, "-c", _COLD_UMAP],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent.parent,
    )
    times = json.loads(out.stdout.strip().splitlines()[-1])
    return times | {"n": 10_000, "d": 64, "cores": 2, "goal": "<= 30 s"}


def _has_taskset() -> bool:
    return shutil.which("taskset") is not None and (os.cpu_count() or 1) >= 2


def cached_reopen() -> dict:
    vectors = clustered_vectors()
    with tempfile.TemporaryDirectory() as folder:
        cache = ProjectionCache(Path(folder))
        started = time.perf_counter()
        cache.get_or_compute(vectors, "pca", {})
        first = time.perf_counter() - started
        cache.get_or_compute(vectors, "umap", {})
        started = time.perf_counter()
        _, hit = cache.get_or_compute(vectors, "umap", {})
        reopen = time.perf_counter() - started
    return {"reopen_s": reopen, "hit": hit, "pca_first_s": first, "goal": "<= 0.2 s"}


def main() -> None:
    torch.set_num_threads(2)
    results = {}
    for name, fn in [
        ("alignment_step", alignment_step_ratio),
        ("analysis_pass", analysis_throughput_ratio),
        ("umap_10k", umap_times),
        ("projection_cache", cached_reopen),
    ]:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        results[name] = fn()
        print(f"{name}: " + json.dumps(results[name], default=float), flush=True)
    results["machine"] = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpus": os.cpu_count(),
    }
    OUT.mkdir(exist_ok=True)
    (OUT / "core.json").write_text(json.dumps(results, indent=2, default=float))
    print(f"wrote {OUT / 'core.json'}")


if __name__ == "__main__":
    main()

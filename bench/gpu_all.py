"""Every GPU check of the project in one run, meant to finish in under 10 minutes on one
GPU: `make bench-gpu-all`. Writes one JSON (bench/out/gpu_all.json):

1. alignment: an alignment step against a plain training step, resnet18 at batch 256,
   bf16 autocast (bench/gpu.py; goal <= 1.10);
2. amp_training: a `train` job with alignment through the job runner on the device
   (bench/gpu.py; semvec trains under bf16 autocast on CUDA);
3. pipeline: a whole post-hoc run of torchvision resnet50 @224 against one bare decode +
   forward, on 10,000 photos made from the CIFAR-10 test JPEGs (bench/pipeline.py; on
   CUDA both read in channels_last under bf16 autocast, decoding in one worker per core);
4. kd_cifar: the full CIFAR-10 distillation run of bench/kd_cifar_gpu.py, one seed, in a
   training budget that keeps the whole under 10 minutes.
A check that needs ../shared/data where it is missing is recorded as skipped, naming the
file; a check that fails is recorded with its error, and the others still run.

`--tiny` runs the first two on the CPU at toy sizes and records the other two as skipped
(their smallest settings read ../shared/data): the smoke test of tests/bench/test_gpu_all.py.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "out"
GOAL_S = 600


@dataclass
class Sizes:
    device: str
    align_steps: int
    align_batch: int
    train_epochs: int
    photos: int
    kd_args: list[str]
    timeout_s: int


FULL = Sizes("cuda", 20, 256, 3, 10_000, ["--seeds", "1", "--budget-s", "150"], 300)
TINY = Sizes("cpu", 1, 8, 1, 0, [], 120)


def alignment(s: Sizes) -> dict:
    import torch

    from bench.gpu import alignment_ratio

    return alignment_ratio(torch.device(s.device), s.align_steps, s.align_batch)


def amp_training(s: Sizes) -> dict:
    from bench.gpu import train_job

    tiny = s.device == "cpu"
    sizes = {"arch": "digits_cnn", "image_size": 8, "align_steps": 10} if tiny else {}
    job = train_job(s.device, s.train_epochs, **sizes)
    return {"state": job["state"], "error": job["error"], "seconds": round(job["seconds"], 1)}


def _module(args: list[str], s: Sizes, out: Path | None = None) -> dict:
    """`python -m <args>` within the check's time limit; its JSON `out` when it wrote one."""
    done = subprocess.run(
        [sys.executable, "-m", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=s.timeout_s,
    )
    text = done.stdout + done.stderr
    if done.returncode:
        missing = [ln for ln in text.splitlines() if ln.startswith("missing ")]
        if missing:
            return {"skipped": missing[-1]}
        return {"error": text.strip().splitlines()[-1] if text.strip() else f"rc {done.returncode}"}
    return json.loads(out.read_text()) if out is not None and out.exists() else {"ok": True}


def pipeline(s: Sizes) -> dict:
    if not s.photos:
        return {"skipped": "--tiny: the pipeline's smallest setting is `bench.pipeline --quick`"}
    out = Path(tempfile.mkdtemp(prefix="gpu-all-")) / "pipeline.json"
    args = ["bench.pipeline", "--part", "resnet50", "--rounds", "1", "--device", s.device]
    return _module([*args, "--photos", str(s.photos), "--out", str(out)], s, out).get(
        "resnet50", {}
    )


def kd_cifar(s: Sizes) -> dict:
    if not s.kd_args:
        why = "its smallest setting, `bench.kd_cifar_gpu --quick`, reads ../shared/data"
        return {"skipped": f"--tiny: {why}"}
    name = "kd_cifar_gpu.json"
    args = ["bench.kd_cifar_gpu", "--device", s.device, *s.kd_args]
    result = _module(args, s, OUT / name)
    result.pop("markdown", None)
    return result


CHECKS = {
    "alignment": alignment,
    "amp_training": amp_training,
    "pipeline": pipeline,
    "kd_cifar": kd_cifar,
}


def run_all(sizes: Sizes, only: list[str] | None = None) -> dict:
    """Every check (or those named in `only`), each timed; a failure is recorded, not raised."""
    import torch

    device = torch.device(sizes.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    results: dict = {"device": name, "torch": torch.__version__, "goal_s": GOAL_S, "checks": {}}
    started = time.perf_counter()
    for label, check in CHECKS.items():
        if only and label not in only:
            continue
        began = time.perf_counter()
        print(f"== {label}", flush=True)
        try:
            result = check(sizes)
        except subprocess.TimeoutExpired:
            result = {"error": f"did not finish in {sizes.timeout_s} s"}
        except Exception as err:  # one check's failure must not stop the others
            result = {"error": f"{type(err).__name__}: {err}"}
        result["check_seconds"] = round(time.perf_counter() - began, 1)
        results["checks"][label] = result
        print(json.dumps(result)[:400], flush=True)
    results["total_seconds"] = round(time.perf_counter() - started, 1)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="toy sizes on the CPU")
    parser.add_argument("--only", help="comma-separated checks: " + ", ".join(CHECKS))
    parser.add_argument("--out", help="JSON to write (default: bench/out/gpu_all[-tiny].json)")
    args = parser.parse_args()
    sizes = TINY if args.tiny else FULL
    if args.tiny:  # toy sizes: more threads only wait on each other (and on a shared machine)
        import torch

        torch.set_num_threads(1)
    results = run_all(sizes, args.only.split(",") if args.only else None)
    path = (
        Path(args.out) if args.out else OUT / ("gpu_all-tiny.json" if args.tiny else "gpu_all.json")
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2))
    print(f"{results['total_seconds']:.0f} s in all (goal {GOAL_S} s); wrote {path}")


if __name__ == "__main__":
    main()

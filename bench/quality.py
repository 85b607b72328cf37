"""Quality of the semantic vectors on held-out data (issue 2's floors: r >= 0.97, P@10 >= 0.85).

1. digits_cnn on digits (234 neurons, d = 64), trained with alignment.
2. resnet20 on digits upscaled to 32x32 (346 neurons) with a 128-neuron subset per step,
   so the subset sampling is exercised.
3. resnet20 as in 2, aligned post hoc (frozen) from the trained run.

Run with `make bench-quality` (about 10 minutes on 2 CPU cores); writes bench/out/quality.json.
"""

import json
import sys
import tempfile
import time
from pathlib import Path

import torch

from backend.core.progress import TqdmReporter
from backend.services.vectors import align_run, train_run
from backend.training.config import AlignConfig, DataConfig, PostHocConfig, TrainConfig

OUT = Path(__file__).parent / "out"


def summary(run, seconds: float) -> dict:
    metrics = run.metrics()
    return {
        "run": run.id,
        "neurons": len(run.index()),
        "seconds": round(seconds, 1),
        "test_accuracy": metrics["test_accuracy"],
        **metrics["quality"],
    }


def main() -> None:
    torch.set_num_threads(2)
    results = {}
    reporter = TqdmReporter()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        cases = {
            "digits_cnn (train with alignment)": TrainConfig(epochs=40, device="cpu"),
            "resnet20 @32px, subset 128 (train with alignment)": TrainConfig(
                arch="resnet20",
                data=DataConfig(image_size=32),
                epochs=15,
                device="cpu",
                align=AlignConfig(subset=128, steps=1500),
            ),
        }
        for label, cfg in cases.items():
            started = time.perf_counter()
            run = train_run(cfg, reporter=reporter, home=home)
            results[label] = summary(run, time.perf_counter() - started)
            print(label, json.dumps(results[label]), file=sys.stderr, flush=True)
        started = time.perf_counter()
        post = align_run(
            PostHocConfig(run=run.id, device="cpu", align=AlignConfig(subset=128, steps=3000)),
            reporter=reporter,
            home=home,
        )
        label = "resnet20 @32px, subset 128 (post hoc, frozen)"
        results[label] = summary(post, time.perf_counter() - started)
    reporter.close()
    OUT.mkdir(exist_ok=True)
    (OUT / "quality.json").write_text(json.dumps(results, indent=2))
    for label, row in results.items():
        print(
            f"{label:52s} N {row['neurons']:4d}  r {row['r']:.4f}  "
            f"P@10 {row['precision_at_10']:.4f}  acc {row['test_accuracy']:.4f}  "
            f"{row['seconds']:.0f} s"
        )


if __name__ == "__main__":
    main()

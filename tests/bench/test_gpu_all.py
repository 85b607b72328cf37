"""`make bench-gpu-all` at its --tiny setting on the CPU: the checks run or say why they are
skipped, into one JSON. The `train` job check is left out here (a job through the runner
takes a minute on a busy CPU); `python -m bench.gpu_all --tiny` runs it."""

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ONLY = "alignment,pipeline,kd_cifar"


def test_gpu_all_tiny_runs_every_check_and_writes_one_json(tmp_path):
    out = tmp_path / "gpu_all.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench.gpu_all", "--tiny", "--out", str(out), "--only", ONLY],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(out.read_text())
    checks = result["checks"]
    assert list(checks) == ONLY.split(",")
    assert result["device"] == "cpu" and result["goal_s"] == 600
    assert checks["alignment"]["ratio"] > 0 and checks["alignment"]["neurons"] > 0
    for skipped in ("pipeline", "kd_cifar"):
        assert (
            "shared/data" in checks[skipped]["skipped"] or "--quick" in checks[skipped]["skipped"]
        )
    assert all("error" not in c for c in checks.values())
    assert result["total_seconds"] >= sum(c["check_seconds"] for c in checks.values()) - 1

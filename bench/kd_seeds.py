"""Settings of static on the digits bench, 20 seeds, paired by seed (issue 14's trials).

The same students, data and schedule as `bench.kd` (its `group`, so finished groups are
cached with the rest); only more seeds and the settings named here. A setting is
`method` or `method:key=value+key=value` (keys: lam, t, beta, rho), read as
`bench.kd_cifar --methods` reads its labels.

    .venv/bin/python -m bench.kd_seeds --seeds 20 --settings static:beta=0.9,static:beta=4

prints every setting's mean ± std and each one's paired difference against the others
that matter (ce, ls, tfkd, its teacher-free twin at the same setting), and writes
bench/out/kd_seeds.json.
"""

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch

from backend.runs.store import RunStore
from backend.services.default_run import ensure_default_run
from bench.kd import OUT, SIZES, group, paired
from bench.kd_cifar import S_CONTROLS, base_label, method_of, overrides

BASELINES = ["ce", "ls", "tfkd"]


def parse(setting: str) -> dict:
    """`static:beta=4+rho=1` -> {"method": "static", "beta": 4.0, "rho": 1.0}; an S
    control (`static_softonly`) is static with `control` set."""
    base = base_label(setting)
    control = {"control": base} if base in S_CONTROLS else {}
    return {"method": method_of(setting), **control, **overrides(setting)}


def twin(setting: str) -> str | None:
    """static's teacher-free twin at the same setting."""
    _, sep, rest = setting.partition(":")
    return f"static_free{sep}{rest}" if method_of(setting) == "static" else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--settings", default="static:beta=0.9,static:beta=4")
    parser.add_argument("--sizes", default="200,full", help="of: 200, full")
    parser.add_argument("--baselines", default=",".join(BASELINES), help="of: ce, ls, tfkd")
    args = parser.parse_args()
    torch.set_num_threads(1)
    settings = args.settings.split(",")
    baselines = args.baselines.split(",")
    labels = list(dict.fromkeys([*baselines, *settings, *filter(None, map(twin, settings))]))
    out: dict = {"seeds": args.seeds, "threads": torch.get_num_threads()}
    out["torch"] = torch.__version__
    with tempfile.TemporaryDirectory() as home:
        ensure_default_run(home=Path(home))
        store = RunStore(Path(home))
        for size in args.sizes.split(","):
            if size not in SIZES:
                raise SystemExit(f"unknown size {size!r}; use 200 or full")
            groups = {lab: group(store, args.seeds, size, lab, **parse(lab)) for lab in labels}
            rows = {}
            for setting in settings:
                others = [*baselines, *[s for s in settings if s != setting]]
                if twin(setting):
                    others.append(twin(setting))
                rows[setting] = {o: paired(groups[setting], groups[o]) for o in others}
                for o, p in rows[setting].items():
                    print(
                        f"{size:>4s} {setting} - {o}: {100 * p['mean']:+.2f} ± "
                        f"{100 * p['se']:.2f} ({p['wins']}/{args.seeds} won, {p['ties']} ties)",
                        file=sys.stderr,
                    )
            out[size] = {"groups": groups, "paired": rows}
    OUT.mkdir(exist_ok=True)
    (OUT / "kd_seeds.json").write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

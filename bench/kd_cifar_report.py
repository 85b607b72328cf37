"""The table of bench/kd_cifar.py: accuracy by method, and differences paired by seed."""

import statistics


def _stats(values: list[float]) -> dict:
    n = len(values)
    std = statistics.stdev(values) if n > 1 else 0.0
    return {"mean": statistics.mean(values), "std": std, "se": std / n**0.5, "n": n}


def paired(a: dict[int, float], b: dict[int, float]) -> dict | None:
    """a − b over the seeds both have (the same seed: same initialisation and batches)."""
    seeds = sorted(set(a) & set(b))
    if not seeds:
        return None
    diffs = [a[s] - b[s] for s in seeds]
    return _stats(diffs) | {"wins": sum(d > 0 for d in diffs), "seeds": seeds}


def _pm(d: dict | None, scale: float = 100.0, key: str = "se") -> str:
    if d is None:
        return "—"
    return f"{scale * d['mean']:+.2f} ± {scale * d[key]:.2f} ({d['wins']}/{d['n']})"


def report(rows: list[dict], info: dict, rivals: list[str]) -> dict:
    """Summary by label (in the order the rows came), paired differences against CE and
    against the best teacher-free rival (by mean accuracy), and a markdown table."""
    by: dict[str, dict] = {}
    for r in rows:
        entry = by.setdefault(r["label"], {"acc": {}, "sec": [], "row": r})
        entry["acc"][r["seed"]] = r["accuracy"]
        entry["sec"].append(r["seconds_per_epoch"])
    methods = {}
    for label, e in by.items():
        methods[label] = _stats(list(e["acc"].values())) | {
            "per_seed": e["acc"],
            "seconds_per_epoch": statistics.mean(e["sec"]),
            "teacher_forward": e["row"]["teacher_forward"],
            "reads_knowledge": e["row"]["reads_knowledge"],
        }
    present = [r for r in rivals if r in methods]
    best = max(present, key=lambda r: methods[r]["mean"]) if present else None
    teacher_s = info.get("teacher_seconds_per_epoch", 0.0)
    for label, m in methods.items():
        m["minus_ce"] = (
            paired(m["per_seed"], methods["ce"]["per_seed"]) if "ce" in methods else None
        )
        m["minus_best_rival"] = (
            paired(m["per_seed"], methods[best]["per_seed"]) if best and best != label else None
        )
        m["seconds_per_epoch_live_teacher"] = m["seconds_per_epoch"] + (
            teacher_s if m["teacher_forward"] else 0.0
        )
    rival = best or "rival"
    lines = [
        f"| method | reads | test acc. % (mean ± std, n) | − CE (± s.e., wins) | − {rival} "
        "(± s.e., wins) | s/epoch | s/epoch, live teacher |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, m in methods.items():
        reads = "teacher" if m["teacher_forward"] else "knowledge" if m["reads_knowledge"] else "—"
        lines.append(
            f"| {label} | {reads} | {100 * m['mean']:.2f} ± {100 * m['std']:.2f} ({m['n']}) | "
            f"{_pm(m['minus_ce']) if label != 'ce' else ''} | "
            f"{_pm(m['minus_best_rival']) if label != best else '(best rival)'} | "
            f"{m['seconds_per_epoch']:.2f} | {m['seconds_per_epoch_live_teacher']:.2f} |"
        )
    return info | {
        "best_teacher_free_rival": best,
        "methods": methods,
        "markdown": "\n".join(lines),
    }

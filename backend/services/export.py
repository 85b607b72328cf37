"""Export a run's vectors and neurons: TensorBoard projector TSVs and a neurons CSV."""

import csv
import io
import math
from pathlib import Path

from backend.runs.store import Run
from backend.services.analysis import load_analysis

EXPORTS = ("vectors.tsv", "metadata.tsv", "neurons.csv")
_METADATA_COLUMNS = ["name", "layer", "label", "selectivity", "quality_r", "dead"]


def neuron_rows(run: Run) -> list[dict]:
    """One dict per neuron: name, layer, channel, label, selectivity, dead, quality."""
    index = run.index()
    analysis = load_analysis(run)
    quality = run.per_neuron_quality()
    rows = []
    for i, name in enumerate(index.names()):
        layer = index.layer_of(i)
        row = {
            "id": i,
            "name": name,
            "layer": layer.path,
            "channel": i - layer.offset,
            "label": "",
            "selectivity": "",
            "dead": "",
            "quality_r": _num(quality["r"][i]) if quality else "",
            "precision_at_10": _num(quality["precision"][i]) if quality else "",
        }
        if analysis is not None:
            dominant = int(analysis.dominant_class[i])
            names = analysis.class_names
            row["label"] = names[dominant] if names else str(dominant)
            row["selectivity"] = _num(analysis.selectivity[i])
            row["dead"] = bool(analysis.dead[i])
        rows.append(row)
    return rows


def _num(value) -> str:
    value = float(value)
    return "" if math.isnan(value) else f"{value:.4f}"


def export_text(run: Run, name: str) -> str:
    """The content of one export file (`EXPORTS`)."""
    if name == "vectors.tsv":
        return "".join("\t".join(f"{v:.6g}" for v in vec) + "\n" for vec in run.vectors().numpy())
    rows = neuron_rows(run)
    if name == "metadata.tsv":
        lines = ["\t".join(_METADATA_COLUMNS)]
        lines += ["\t".join(str(row[c]) for c in _METADATA_COLUMNS) for row in rows]
        return "\n".join(lines) + "\n"
    if name == "neurons.csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue()
    raise ValueError(f"unknown export {name!r}; choose one of {', '.join(EXPORTS)}")


def export_run(run: Run, out: Path) -> list[Path]:
    """Write vectors.tsv, metadata.tsv (projector format) and neurons.csv into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in EXPORTS:
        (out / name).write_text(export_text(run, name))
        paths.append(out / name)
    return paths

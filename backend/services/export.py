"""Export a run's vectors and neurons: TensorBoard projector TSVs and a neurons CSV."""

import csv
import math
from pathlib import Path

from backend.runs.store import Run
from backend.services.analysis import load_analysis


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
            summary_class = int(analysis.dominant_class[i])
            names = analysis.class_names
            row["label"] = names[summary_class] if names else str(summary_class)
            row["selectivity"] = _num(analysis.selectivity[i])
            row["dead"] = bool(analysis.dead[i])
        rows.append(row)
    return rows


def _num(value) -> str:
    value = float(value)
    return "" if math.isnan(value) else f"{value:.4f}"


def export_run(run: Run, out: Path) -> list[Path]:
    """Write vectors.tsv, metadata.tsv (projector format) and neurons.csv into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    vectors = run.vectors().numpy()
    rows = neuron_rows(run)
    paths = [out / "vectors.tsv", out / "metadata.tsv", out / "neurons.csv"]
    with paths[0].open("w") as f:
        for vec in vectors:
            f.write("\t".join(f"{v:.6g}" for v in vec) + "\n")
    columns = ["name", "layer", "label", "selectivity", "quality_r", "dead"]
    with paths[1].open("w") as f:
        f.write("\t".join(columns) + "\n")
        for row in rows:
            f.write("\t".join(str(row[c]) for c in columns) + "\n")
    with paths[2].open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return paths

"""What the panel says about each image it shows: the dataset index, the true class and
the model's own prediction, in words."""

from collections import Counter

from backend.analysis import Analysis
from backend.runs.store import Run


def model_class_names(run: Run, analysis: Analysis) -> list[str] | None:
    """Names of the model's outputs: its own categories when the run knows them (e.g.
    ImageNet's from published weights), else the folder's classes when the model has one
    output per class (it was trained on them), else None."""
    own = getattr(run.meta, "model_classes", None)
    if own:
        return list(own)
    names = analysis.class_names
    if names and analysis.num_outputs == len(names):
        return list(names)
    return None


def classes_differ(run: Run, analysis: Analysis) -> bool:
    """Whether the model's classes are not the images' classes (or the images have none):
    then the panel shows the model's own view of the top images besides the selectivity."""
    if analysis.predictions is None:
        return False
    own = model_class_names(run, analysis)
    return not analysis.labelled or own is None or own != list(analysis.class_names or [])


def _name(names: list[str] | None, k: int | None) -> str | None:
    if k is None:
        return None
    k = int(k)
    return names[k] if names and 0 <= k < len(names) else f"output {k}"


def image_rows(run: Run, analysis: Analysis, pairs: list[tuple[float, int]]) -> list[dict]:
    """One row per (activation, dataset index): index, value, true and predicted class."""
    model_names = model_class_names(run, analysis)
    rows = []
    for value, image in pairs:
        facts = analysis.image_facts(image)
        label = facts["label"]
        rows.append(
            {
                "image": image,
                "value": value,
                "label": label,
                "label_name": (
                    analysis.class_names[label]
                    if label is not None and analysis.class_names
                    else None
                ),
                "prediction": facts["prediction"],
                "prediction_name": _name(model_names, facts["prediction"]),
                "confidence": facts["confidence"],
            }
        )
    return rows


def model_top_classes(rows: list[dict], most: int = 3) -> list[dict]:
    """The model's most frequent predictions among `rows` (the top images): [{name, count}]."""
    counts = Counter(r["prediction_name"] for r in rows if r["prediction_name"] is not None)
    return [{"name": name, "count": count} for name, count in counts.most_common(most)]

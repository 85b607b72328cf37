"""The projection methods' parameters as the page offers them (the API's own ranges; a
run-dependent limit, such as n_neighbors below the number of neurons, comes from the API)."""

from app.components.ranges import Range

METHOD_PARAMS = {"umap": ("n_neighbors", "min_dist"), "tsne": ("perplexity",), "pca": ()}
METHOD_NAMES = {"umap": "UMAP", "tsne": "t-SNE", "pca": "PCA"}
PARAM_INPUTS = {
    # key: (label, default, what it accepts)
    "n_neighbors": ("neighbours (UMAP)", 15, Range("number of neighbours", 2, 500)),
    "min_dist": ("min. distance (UMAP)", 0.1, Range("min. distance", 0, 1, integer=False)),
    "perplexity": ("perplexity (t-SNE)", 30, Range("perplexity", 1, 1000, integer=False)),
}


def params_from_inputs(method: str, values: dict) -> dict:
    return {k: values[k] for k in METHOD_PARAMS[method] if values.get(k) is not None}


def param_problems(method: str, values: dict) -> list[str]:
    """Why the typed parameters of `method` cannot be used (empty fields mean the default)."""
    ranges = [(PARAM_INPUTS[k][2], values[k]) for k in METHOD_PARAMS[method]]
    return [p for rng, v in ranges if v is not None and (p := rng.problem(v)) is not None]

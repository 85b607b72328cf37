"""The projection methods' parameters as the page offers them."""

METHOD_PARAMS = {"umap": ("n_neighbors", "min_dist"), "tsne": ("perplexity",), "pca": ()}
PARAM_INPUTS = {
    "n_neighbors": ("neighbours (UMAP)", 15, 2, 500, 1),
    "min_dist": ("min. distance (UMAP)", 0.1, 0, 1, 0.05),
    "perplexity": ("perplexity (t-SNE)", 30, 1, 1000, 1),
}


def params_from_inputs(method: str, values: dict) -> dict:
    return {k: values[k] for k in METHOD_PARAMS[method] if values.get(k) is not None}

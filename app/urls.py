"""Deep links: the explorer's view lives in the URL's query, so a pasted link restores it.

`?run=digits-default&neuron=conv2:5&method=umap&n_neighbors=15` — every key optional.
"""

from urllib.parse import parse_qs, urlencode

PARAM_KEYS = {"n_neighbors": int, "min_dist": float, "perplexity": float, "seed": int}
METHODS = ("umap", "tsne", "pca")


def parse_view(search: str | None) -> dict:
    """{run, neuron, method, params, bad}: values that do not parse are listed in `bad`."""
    query = {k: v[-1] for k, v in parse_qs((search or "").lstrip("?")).items()}
    view = {"run": query.get("run"), "neuron": query.get("neuron"), "params": {}, "bad": []}
    method = query.get("method")
    if method is not None and method not in METHODS:
        view["bad"].append(f"method={method} (use umap, tsne or pca)")
        method = None
    view["method"] = method
    for key, cast in PARAM_KEYS.items():
        if key in query:
            try:
                view["params"][key] = cast(query[key])
            except ValueError:
                view["bad"].append(f"{key}={query[key]} (not a number)")
    return view


def format_view(run: str | None, method: str | None, params: dict, neuron: str | None) -> str:
    query = {"run": run, "method": method, **params, "neuron": neuron}
    return "?" + urlencode({k: v for k, v in query.items() if v is not None and v != ""})

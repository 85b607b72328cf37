"""Deep links: the explorer's view lives in the URL's query, so a pasted link restores it.

`?run=digits-default&neuron=conv2:5&method=umap&n_neighbors=15&view=pictures` — every key
optional (`view` is how the map draws its neurons: dots, the default, or pictures).
Neurons are written by name (`conv2:5`), as people paste them; an id (`101`) still opens.
"""

from urllib.parse import parse_qs, urlencode

from app.pages.explorer.params import METHOD_NAMES, PARAM_INPUTS

SEEDS = (0, 2**32 - 1)
LOOKS = ("dots", "pictures")


def parse_view(search: str | None) -> dict:
    """{run, neuron, method, params, look, bad}: a value that cannot be used is left out (the
    default applies) and said in `bad`, in words."""
    query = {k: v[-1] for k, v in parse_qs((search or "").lstrip("?")).items()}
    view = {"run": query.get("run"), "neuron": query.get("neuron"), "params": {}, "bad": []}
    method = query.get("method")
    if method is not None and method not in METHOD_NAMES:
        view["bad"].append(f"method={method} (use umap, tsne or pca)")
        method = None
    view["method"] = method
    look = query.get("view", "dots")
    if look not in LOOKS:
        view["bad"].append(f"view={look} (use dots or pictures)")
        look = "dots"
    view["look"] = look
    for key, (_label, default, rng) in PARAM_INPUTS.items():
        if key in query:
            problem = rng.problem(query[key])
            if problem is None:
                view["params"][key] = rng.value(query[key])
            else:
                view["bad"].append(f"{key}={query[key]} ({problem} The default {default} is used.)")
    if "seed" in query:
        seed = query["seed"]
        if seed.isdigit() and int(seed) <= SEEDS[1]:
            view["params"]["seed"] = int(seed)
        else:
            view["bad"].append(f"seed={seed} (a whole number from 0 to {SEEDS[1]})")
    return view


def format_view(
    run: str | None, method: str | None, params: dict, neuron: str | None, look: str = "dots"
) -> str:
    shown = look if look in LOOKS and look != "dots" else None  # dots: the default, unsaid
    query = {"run": run, "method": method, **params, "neuron": neuron, "view": shown}
    kept = {k: v for k, v in query.items() if v is not None and v != ""}
    return "?" + urlencode(kept, safe=":")

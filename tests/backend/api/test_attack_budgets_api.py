"""Every GET of the API, asked with the largest arguments its schema allows, against one
running token server with no token sent (what anyone who reaches the server can do):
each must answer within a few seconds and grow the server's memory by less than 300 MB.

The arguments come from the served OpenAPI: an integer gets its schema's maximum, an enum
each of its values, a free string its longest, a name the real thing (the quickstart's
run, its last neuron, a manual page), and an architecture the catalogue's largest
torchvision and timm networks. A new GET route is tried without a change here.
"""

import re

import pytest

from tests.backend.api.conftest import Server
from tests.backend.api.memory import cost_of

RUN = "digits-default"
SECONDS, GROWTH_MB = 10.0, 300
LARGEST_INT = 2**63 - 1  # a path integer with no maximum in its schema
# The largest of each family the catalogue lists (hundreds of millions to two billion
# parameters; torchvision's RegNets cannot be built on the meta device as they are).
ARCHITECTURES = [
    "torchvision:regnet_y_128gf",
    "torchvision:vit_h_14",
    "timm:vit_gigantic_patch14_clip_378",
    "timm:eva02_enormous_patch14_clip_224",
    "timm:eva_giant_patch14_560",
    "timm:convnext_xxlarge",
    "timm:regnety_1280",
]


@pytest.fixture(scope="module")
def attacked(quickstart_copy):
    server = Server(quickstart_copy("attack"), SEMVEC_TOKEN="attack-token").start()
    with server.client() as client:
        server.http = client
        # One-time costs (importing torchvision and timm, the first trace) are the
        # server's, not a request's: pay them before measuring.
        for arch in ("torchvision:resnet18", "timm:resnet18"):
            assert client.get("/api/architectures/layers", params={"arch": arch}).is_success
        yield server
    server.stop()


def _names(client) -> dict[str, list]:
    """Real values for path parameters, so that requests reach past the lookups."""
    neurons = client.get(f"/api/runs/{RUN}/neurons", params={"limit": 100000}).json()["data"]
    pages = [page["name"] for page in client.get("/api/manual").json()["data"]]
    return {
        "run": [RUN],
        "teacher": [RUN],
        "neuron": [neurons[-1]["id"], "x" * 200],
        "key": ["0" * 64],
        "name": pages[-1:] or ["index"],
        "arch": ARCHITECTURES,
        "job_id": [LARGEST_INT],
    }


def _largest(name: str, schema: dict, names: dict) -> list:
    """The values to try for one parameter: the largest its schema allows."""
    if name in names:
        return names[name]
    options = [s for s in schema.get("anyOf", [schema]) if s.get("type") != "null"]
    schema = options[0] if options else schema
    if "enum" in schema:
        return schema["enum"]
    kind = schema.get("type")
    if kind == "integer":
        return [schema.get("maximum", LARGEST_INT)]
    if kind == "number":
        return [schema.get("maximum", 1e308)]
    if kind == "boolean":
        return [True]
    if "pattern" in schema:  # a list of ids: as many of the largest as fit
        return [",".join(["9" * 18] * 200)]
    return ["x" * schema.get("maxLength", 2000)]


def _requests(spec: dict, names: dict) -> list[tuple[str, dict]]:
    """(path, query) for every GET, each parameter's values tried one at a time (the
    others at their first)."""
    found = []
    for template, operations in spec["paths"].items():
        if "get" not in operations or not template.startswith("/api/"):
            continue
        params = operations["get"].get("parameters", [])
        choices = {p["name"]: (p["in"], _largest(p["name"], p["schema"], names)) for p in params}
        variants = [{k: v[0] for k, (_in, v) in choices.items()}]
        for key, (_in, values) in choices.items():
            variants += [{**variants[0], key: value} for value in values[1:]]
        for args in variants:
            path = template
            for key in list(args):
                if choices[key][0] == "path":
                    path = path.replace("{" + key + "}", str(args.pop(key)))
            found.append((path, args))
    return found


def test_the_layers_of_a_model_too_big_to_build_are_listed_from_its_shapes(attacked):
    """torchvision's largest RegNet (644M parameters) used to be built for real: 11-42 s
    and +2.9 GB a request. Its shapes now come from a build on the meta device."""
    client, pid = attacked.http, attacked.proc.pid
    for _twice in range(2):  # the second is remembered
        with cost_of(pid) as cost:
            answer = client.get(
                "/api/architectures/layers", params={"arch": "torchvision:regnet_y_128gf"}
            )
        assert answer.status_code == 200, answer.text
        assert cost.seconds < SECONDS and cost.grew_mb < GROWTH_MB, cost
    rows = {row["path"]: row for row in answer.json()["layers"]}
    assert rows["trunk_output.block4"]["shape"] == [7392, 7, 7]
    assert rows["fc"]["shape"] == [1000]


def test_every_get_with_its_largest_arguments_is_answered_quickly_and_cheaply(attacked):
    client, pid = attacked.http, attacked.proc.pid
    spec = client.get("/openapi.json").json()
    requests = _requests(spec, _names(client))
    assert len(requests) > 50
    assert any("regnet_y_128gf" in str(query) for _path, query in requests)
    costly = []
    for path, query in requests:
        with cost_of(pid) as cost:
            answer = client.get(path, params=query, timeout=60)
        assert answer.status_code < 500, (path, query, answer.text[:300])
        if cost.seconds > SECONDS or cost.grew_mb > GROWTH_MB:
            costly.append(f"{path} {query}: {cost.seconds:.1f} s, +{cost.grew_mb:.0f} MB")
    assert not costly, "\n".join(costly)
    assert client.get("/api/health").json()["status"] == "ok"


def test_odd_requests_get_the_4xx_the_openapi_documents(attacked):
    """Answers that were 500 (Dash's), 404 (a known path, another method) or undocumented
    (400 for a body nested 1,000 deep, the guard's 413, the upload's 415)."""
    client = attacked.http
    auth = {"Authorization": "Bearer attack-token"}
    assert client.get("/_dash-component-suites/os/path.py").status_code == 404
    page = client.get("/").text
    script = re.search(r'src="(/_dash-component-suites/[^"]+)"', page).group(1)
    assert client.get(script).status_code == 200  # the page's own files still load
    plain = {"Content-Type": "text/plain"}
    assert client.post("/_dash-update-component", content=b"x", headers=plain).status_code == 415
    assert client.post("/_dash-update-component", json={}).status_code == 400
    other = client.patch("/api/jobs", headers=auth)
    assert other.status_code == 405 and other.headers["allow"] == "GET, POST", other.text
    assert client.delete("/api/no-such-thing", headers=auth).status_code == 404
    deep = client.post(
        "/api/jobs",
        content=b"[" * 1000 + b"]" * 1000,
        headers={**auth, "Content-Type": "application/json"},
    )
    assert deep.status_code == 400 and deep.json()["detail"]
    paths = client.get("/openapi.json").json()["paths"]
    assert {"400", "413"} <= paths["/api/jobs"]["post"]["responses"].keys()
    assert {"413", "415"} <= paths["/api/checkpoints"]["post"]["responses"].keys()

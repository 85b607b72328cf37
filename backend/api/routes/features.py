from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from backend.api.deps import RunStoreDep
from backend.api.schemas_views import FeaturePublic
from backend.services import explorer, images
from backend.services.explorer import NeuronNotFoundError
from backend.services.feature_viz import feature_image, feature_info

router = APIRouter(prefix="/api/runs", tags=["runs"])


@router.get("/{run}/neurons/{neuron}/feature", response_model=FeaturePublic)
def get_feature(run: str, neuron: str, store: RunStoreDep) -> dict:
    """The neuron's optimised images: whether a `visualize` job made them, and the
    activation each reaches beside the dataset's extremes."""
    data = explorer.loaded(store, run)
    return feature_info(data.run, explorer.resolve_neuron(data, neuron))


@router.get(
    "/{run}/neurons/{neuron}/feature/{kind}.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
)
def get_feature_image(
    run: str,
    neuron: str,
    kind: Literal["max", "min"],
    store: RunStoreDep,
    size: Annotated[int, Query(ge=16, le=512)] = 128,
) -> Response:
    """The image that excites (`max`) or suppresses (`min`) the neuron, enlarged to
    `size` (small inputs stay blocky: their pixels are what the model saw)."""
    data = explorer.loaded(store, run)
    i = explorer.resolve_neuron(data, neuron)
    raw = feature_image(data.run, i, kind)
    if raw is None:
        raise NeuronNotFoundError(
            f"neuron {data.index.name(i)} has no optimised image yet: start a `visualize` job "
            f'(POST /api/jobs {{"kind": "visualize", "config": {{"run": "{run}", "neurons": '
            f'["{data.index.name(i)}"]}}}})'
        )
    png = images.overlay_png(raw, None, size)
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-cache"})

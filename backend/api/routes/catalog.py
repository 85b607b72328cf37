"""What can be chosen: architectures and datasets (the forms in the UI read these)."""

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from backend.api.deps import RunnerDep
from backend.api.schemas import DatasetFolders

router = APIRouter(prefix="/api", tags=["catalog"])


@router.get("/models", response_model=list[str])
def list_models() -> list[str]:
    import model_zoo

    return model_zoo.list_models()


@router.get("/datasets", response_model=list[str])
def list_datasets() -> list[str]:
    from backend.data import list_datasets

    return list_datasets()


class ArchitectureSource(BaseModel):
    source: str
    title: str
    names: list[str]


@router.get("/architectures", response_model=list[ArchitectureSource])
def list_architectures() -> list[dict]:
    """Every architecture the server can build, by source (zoo, torchvision, timm,
    entry points, and model files its owner lists). Clients can only pick from these."""
    from backend.models import catalogue

    return catalogue()


class LayerRow(BaseModel):
    path: str
    type: str
    shape: list[int]
    channels: int
    probed: bool


class LayerTablePublic(BaseModel):
    arch: str
    input: str
    layers: list[LayerRow]
    probed: list[str]
    neurons: int


@router.get("/architectures/layers", response_model=LayerTablePublic)
def architecture_layers(
    arch: Annotated[str, Query(max_length=200, description="an architecture reference")],
) -> dict:
    """The modules of `arch` traced on a blank input of its size, the default probed
    layers and their neuron count (for the page's layer picker). Shapes come from a build
    on the meta device, never a real one: an architecture whose builder needs real
    tensors throughout is answered 422, saying to list its layers with `semvec layers`."""
    from backend.models import check_offered
    from backend.services.layers import architecture_layers

    check_offered(arch)  # a SemvecError is a 422, in words, with no server path in it
    table = architecture_layers(arch)
    probed = set(table.probed)
    return {
        "arch": arch,
        "input": table.input_label,
        "layers": [{**m.to_dict(), "probed": m.path in probed} for m in table.modules],
        "probed": table.probed,
        "neurons": table.neurons,
    }


class PublishedWeights(BaseModel):
    name: str
    file: str
    present: bool
    """Whether the file is in the server's torch hub cache, $TORCH_HOME/hub/checkpoints
    (else: put it there)."""
    preprocess: dict
    classes: int


@router.get("/architectures/weights", response_model=list[PublishedWeights])
def architecture_weights(
    arch: Annotated[str, Query(max_length=200, description="torchvision:NAME")],
) -> list[dict]:
    """Published weights of a torchvision model (other sources have none: []), with
    whether each is in the server's cache and the preprocessing it comes with."""
    from backend.models import check_offered, parse
    from backend.models.sources import torchvision_source

    check_offered(arch)
    source, name = parse(arch)
    if source is not torchvision_source:
        return []
    return torchvision_source.published(name.partition("@")[0])


@router.get("/datasets/folders", response_model=DatasetFolders)
def list_dataset_folders(runner: RunnerDep) -> DatasetFolders:
    """The folders inside the data home's `datasets/`, each with the datasets it holds
    (paths relative to the data home: the server's own layout is not shown)."""
    from backend.core.paths import shown
    from backend.services import datasets

    home = runner.home
    return DatasetFolders(
        data=datasets.dataset_folders(home),
        folder=shown(str(datasets.datasets_dir(home).absolute()), home),
        built_in=list(datasets.BUILT_IN),
    )

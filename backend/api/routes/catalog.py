"""What can be chosen: architectures and datasets (the forms in the UI read these)."""

from fastapi import APIRouter

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


@router.get("/datasets/folders", response_model=DatasetFolders)
def list_dataset_folders(runner: RunnerDep) -> DatasetFolders:
    """The folders inside the data home's `datasets/`, each with the datasets it holds."""
    from backend.services import datasets

    home = runner.home
    return DatasetFolders(
        data=datasets.dataset_folders(home),
        folder=str(datasets.datasets_dir(home).resolve()),
        built_in=list(datasets.BUILT_IN),
    )

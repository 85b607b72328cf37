"""What can be chosen: architectures and datasets (the forms in the UI read these)."""

from fastapi import APIRouter

router = APIRouter(prefix="/api", tags=["catalog"])


@router.get("/models", response_model=list[str])
def list_models() -> list[str]:
    import model_zoo

    return model_zoo.list_models()


@router.get("/datasets", response_model=list[str])
def list_datasets() -> list[str]:
    from backend.data import list_datasets

    return list_datasets()

from typing import Annotated

from fastapi import APIRouter, Query, Request

from backend.api.deps import UNAUTHORIZED, WRITE
from backend.api.schemas import Problem
from backend.api.schemas_runs import CheckpointPublic
from backend.core.settings import get_settings
from backend.services.uploads import store_upload

router = APIRouter(prefix="/api/checkpoints", tags=["checkpoints"])


@router.post(
    "",
    response_model=CheckpointPublic,
    status_code=201,
    dependencies=WRITE,
    responses={
        413: {
            "model": Problem,
            "description": "Over SEMVEC_MAX_UPLOAD_MB, or holding more tensors than "
            "SEMVEC_MAX_UPLOAD_TENSORS (counted from the file's header before it is read)",
        },
        415: {"model": Problem, "description": "Not sent as application/octet-stream"},
    }
    | UNAUTHORIZED,
)
async def upload_checkpoint(
    request: Request,
    filename: Annotated[str, Query(min_length=1, max_length=200)] = "checkpoint.safetensors",
) -> CheckpointPublic:
    """The request body is the checkpoint file (safetensors, or a weights-only torch file).
    Returns the stored file's name (inside the data home's `uploads/`) to give an `align`
    job as `checkpoint`."""
    settings = get_settings()
    stored = await store_upload(
        request.stream(),
        filename,
        settings.uploads_dir,
        settings.max_upload_mb * 2**20,
        settings.max_upload_tensors,
    )
    return CheckpointPublic(
        checkpoint=stored.path.name,
        tensors=stored.tensors,
        parameters=stored.parameters,
        bytes=stored.bytes,
    )

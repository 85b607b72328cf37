"""What this request may do: the page's sign-in badge reads it."""

from fastapi import APIRouter, Request

from backend.api.access import may_write
from backend.api.deps import CredentialsDep
from backend.api.schemas import Access

router = APIRouter(prefix="/api", tags=["access"])


@router.get("/access", response_model=Access)
def access(request: Request, credentials: CredentialsDep) -> Access:
    return Access(
        token_required=request.app.state.token is not None,
        can_write=may_write(request, credentials),
    )

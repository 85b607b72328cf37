"""The user manual: its navigation, its pages as Markdown, its pictures (what the page's
Help link shows, offline)."""

from dataclasses import asdict

from fastapi import APIRouter
from fastapi.responses import FileResponse

from backend.api.schemas_manual import ManualPagePublic, ManualPublic
from backend.services import manual

router = APIRouter(prefix="/api/manual", tags=["manual"])


@router.get("", response_model=ManualPublic)
def get_contents() -> dict:
    """The manual's pages in reading order."""
    entries = [asdict(e) for e in manual.contents()]
    return {"data": entries, "count": len(entries)}


@router.get("/pages/{name:path}", response_model=ManualPagePublic)
def get_page(name: str) -> dict:
    """One page's Markdown, by its name in the navigation (`map`, `cli`, ...)."""
    entry, markdown = manual.page(name)
    return asdict(entry) | {"markdown": markdown}


@router.get(
    "/images/{name}",
    response_class=FileResponse,
    responses={200: {"content": {"image/png": {}, "image/svg+xml": {}}}},
)
def get_image(name: str) -> FileResponse:
    """A picture the manual shows (`docs/images/<name>`)."""
    path, media_type = manual.image(name)
    return FileResponse(path, media_type=media_type)

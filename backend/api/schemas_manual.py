"""What the manual's routes return."""

from pydantic import BaseModel


class ManualEntryPublic(BaseModel):
    name: str
    """The page's name, `map` or `research/static-distillation`: its address is
    `/manual/<name>` on the page and `/api/manual/pages/<name>` here."""
    title: str
    section: str
    """The navigation's section the page sits in ("" at the top level)."""


class ManualPublic(BaseModel):
    data: list[ManualEntryPublic]
    count: int


class ManualPagePublic(ManualEntryPublic):
    markdown: str
    """The page's Markdown as in `docs/`, the command-line reference written in."""

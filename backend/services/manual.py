"""The user manual, read from the Markdown files of `docs/` in the order of `mkdocs.yml`'s
navigation: the page's Help link shows the same pages the MkDocs site is built from, with
no build step and no network."""

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from backend.cli_reference import fill
from backend.core.errors import SemvecError

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
IMAGE_TYPES = {".png": "image/png", ".svg": "image/svg+xml"}


class ManualPageNotFoundError(SemvecError):
    pass


@dataclass(frozen=True)
class ManualEntry:
    """One page of the navigation: its name (`map`, `research/static-distillation`), its
    title and the section it sits in ("" at the top level)."""

    name: str
    title: str
    section: str


@cache
def contents() -> tuple[ManualEntry, ...]:
    """The navigation of `mkdocs.yml`, flattened in reading order."""
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    return tuple(_entries(config["nav"], section=""))


def _entries(nav: list, section: str):
    for item in nav:
        ((title, target),) = item.items()
        if isinstance(target, list):
            yield from _entries(target, section=title)
        else:
            yield ManualEntry(target.removesuffix(".md"), title, section)


def page(name: str) -> tuple[ManualEntry, str]:
    """A page's entry and Markdown (the command-line reference written in), by name;
    only pages of the navigation are served."""
    entry = next((e for e in contents() if e.name == name), None)
    if entry is None:
        known = ", ".join(e.name for e in contents())
        raise ManualPageNotFoundError(f"the manual has no page {name!r}; its pages: {known}")
    return entry, fill((DOCS / f"{entry.name}.md").read_text(encoding="utf-8"))


def image(name: str) -> tuple[Path, str]:
    """A picture of the manual (`docs/images/NAME`) and its media type."""
    path = DOCS / "images" / name
    kind = IMAGE_TYPES.get(path.suffix)
    if "/" in name or name.startswith(".") or kind is None or not path.is_file():
        raise ManualPageNotFoundError(f"the manual has no picture {name!r}")
    return path, kind

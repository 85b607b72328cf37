"""MkDocs hooks (mkdocs.yml `hooks:`): the command-line page gets its reference from the
parser itself, as the page's Help link does (`backend.cli_reference`)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backend.cli_reference import fill


def on_page_markdown(markdown: str, **_) -> str:
    return fill(markdown)

"""The manual: the MkDocs site builds with --strict (a broken link, a missing anchor or a
page left out of the navigation fails), needs no network to show, and the landing page
and results pages stay the size a reader takes in."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from backend.cli import build_parser
from backend.cli_reference import reference

ROOT = Path(__file__).resolve().parents[2]
# A tag that makes a browser fetch from another host: a script, a stylesheet, a font.
REMOTE = re.compile(r"<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)=\"(?:https?:)?//", re.I)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr[-4000:]
    return out


def test_the_site_builds_strictly_and_loads_nothing_from_elsewhere(site):
    pages = list(site.rglob("*.html"))
    assert len(pages) >= 15
    for page in pages:
        remote = REMOTE.findall(page.read_text(encoding="utf-8"))
        assert not remote, f"{page.relative_to(site)} fetches from another host: {remote}"
    css = "".join(p.read_text(encoding="utf-8") for p in site.rglob("*.css"))
    assert "fonts.googleapis" not in css and "fonts.gstatic" not in css


def test_the_command_line_page_lists_every_option_with_the_parsers_default(site):
    cli_page = (site / "cli.html").read_text(encoding="utf-8")
    sections = dict(_sections(reference()))
    commands = build_parser()._subparsers._group_actions[0].choices
    leaves = {f"semvec {name}": command for name, command in commands.items() if name != "jobs"}
    for name, command in commands["jobs"]._subparsers._group_actions[0].choices.items():
        leaves[f"semvec jobs {name}"] = command
    assert set(sections) == set(leaves)
    for name, command in leaves.items():
        assert f"{name}</code>" in cli_page, name
        rows = sections[name].splitlines()
        for action in command._actions:
            if not action.option_strings or action.option_strings == ["-h", "--help"]:
                continue
            row = next(r for r in rows if r.startswith(f"| `{action.option_strings[0]}"))
            if action.default not in (None, False, []):
                assert f"| `{action.default}` |" in row, (name, row)


def _sections(markdown: str):
    for part in markdown.split("### `")[1:]:
        name, _, body = part.partition("`")
        yield name, body


def test_the_readme_is_a_landing_page():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.encode()) <= 12_000
    for target in re.findall(r"\]\(([^)#\s]+)", readme):
        if not re.match(r"[a-z]+:", target):
            assert (ROOT / target).exists(), f"README links to {target}, which does not exist"


def test_results_pages_hold_results_and_user_docs_no_history():
    assert len((ROOT / "docs" / "benchmarks.md").read_bytes()) <= 25_000
    assert len((ROOT / "docs" / "research" / "static-distillation.md").read_bytes()) <= 16_000
    assert not (ROOT / "BENCHMARKS.md").exists()
    for page in [ROOT / "README.md", *(ROOT / "docs").rglob("*.md")]:
        found = re.findall(r"\bissues? \d+|\bsession \d+", page.read_text(encoding="utf-8"), re.I)
        assert not found, f"{page.relative_to(ROOT)} tells project history: {found}"

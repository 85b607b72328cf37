"""The manual through the API (what the page's Help link reads), in-process on the real
app: its navigation is mkdocs.yml's, every page is served with the command-line reference
written in, and nothing outside the manual's pages and pictures is."""

import asyncio
from pathlib import Path

import httpx
import pytest
import yaml

from backend.api.app import create_app

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def get(tmp_path_factory, monkeypatch_module):
    monkeypatch_module.setenv("SEMVEC_HOME", str(tmp_path_factory.mktemp("manual-home")))
    app = create_app()

    def fetch(path: str) -> httpx.Response:
        async def go():
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as c:
                return await c.get(path)

        return asyncio.run(go())

    return fetch


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def _nav_pages(nav: list) -> list[str]:
    pages = []
    for item in nav:
        (target,) = item.values()
        pages += _nav_pages(target) if isinstance(target, list) else [target]
    return pages


def test_contents_follow_the_sites_navigation_and_every_page_is_served(get):
    nav = yaml.safe_load((ROOT / "mkdocs.yml").read_text())["nav"]
    listed = get("/api/manual").json()
    names = [entry["name"] for entry in listed["data"]]
    assert names == [page.removesuffix(".md") for page in _nav_pages(nav)]
    assert listed["count"] == len(names) and "research/static-distillation" in names
    for name in names:
        page = get(f"/api/manual/pages/{name}").json()
        source = (ROOT / "docs" / f"{name}.md").read_text()
        assert page["title"] and page["markdown"].startswith(source.split("\n", 1)[0])


def test_the_cli_page_carries_the_parsers_reference(get):
    markdown = get("/api/manual/pages/cli").json()["markdown"]
    assert "<!-- semvec-cli-reference -->" not in markdown
    assert "### `semvec distill`" in markdown and "### `semvec jobs submit`" in markdown
    assert "| `--beta BETA` |" in markdown


def test_unknown_pages_and_files_outside_the_manual_are_404(get):
    for path in (
        "/api/manual/pages/nope",
        "/api/manual/pages/../README",
        "/api/manual/pages/images/screenshot.png",
        "/api/manual/images/..%2Fmethod.md",
        "/api/manual/images/nope.png",
    ):
        answer = get(path)
        assert answer.status_code == 404 and answer.json()["detail"], path
    picture = get("/api/manual/images/screenshot.png")
    assert picture.status_code == 200 and picture.headers["content-type"] == "image/png"
    assert picture.content.startswith(b"\x89PNG")

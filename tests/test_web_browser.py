"""The pages in a real headless Chromium (Debian's, driven by Playwright's Python package): no
horizontal scrolling on a phone, the search form works without JavaScript, the dark scheme;
screenshots go to tests/artifacts/ for a person to look at."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from web_support import web_app, web_settings

from bot.store.store import Store
from index.search import Archive

Client = Callable[[web.Application], Awaitable[TestClient]]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = "/usr/bin/chromium"
FLAGS = [  # no network of its own: it would only knock on closed doors
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
NO_BROWSER = "no Chromium: apt-get install chromium (and pip install playwright) to run it"
PHONE = {"width": 375, "height": 812}
PAGES = {"home": "/", "issue": "/issues/2020-11-30", "search": "/search?q=%E9%87%8F%E5%8C%96"}


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    """Debian's Chromium under Playwright; the test skips, saying why, without one."""
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        pytest.skip(NO_BROWSER)
    chromium = shutil.which("chromium") or CHROMIUM
    if not Path(chromium).exists():
        pytest.skip(NO_BROWSER)
    async with async_playwright() as driver:
        launched = await driver.chromium.launch(executable_path=chromium, args=FLAGS)
        yield launched
        await launched.close()


@pytest.fixture
async def base_url(
    aiohttp_client: Client, corpus_index: Path, corpus_dir: Path, store: Store, tmp_path: Path
) -> str:
    settings = web_settings(corpus_index, corpus_dir, tmp_path / "nt.db")
    client = await aiohttp_client(web_app(settings, Archive.open(corpus_index), store))
    return str(client.make_url("")).rstrip("/")


async def overflow(page: Any) -> tuple[int, int]:
    return tuple(await page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    ))  # type: ignore[return-value]  # fmt: skip


@pytest.mark.parametrize("width", [375, 360])
async def test_no_horizontal_scrolling_on_a_phone(browser: Any, base_url: str, width: int) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page = await browser.new_page(viewport={**PHONE, "width": width}, device_scale_factor=2)
    for name, path in PAGES.items():
        response = await page.goto(base_url + path)
        assert response is not None and response.status == 200
        scroll, client = await overflow(page)
        assert scroll <= client == width, f"{name} at {width}px scrolls sideways: {scroll}px"
        if width == PHONE["width"]:
            await page.screenshot(path=str(ARTIFACTS / f"web-{name}.png"))
    await page.close()


async def test_typing_a_word_in_the_search_box_shows_results(browser: Any, base_url: str) -> None:
    context = await browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = await context.new_page()
    await page.goto(base_url + "/")
    await page.fill("input[name=q]", "量化")
    async with page.expect_navigation():
        await page.click("button[type=submit]")
    assert "/search?q=" in page.url
    hits = page.locator("ol.entries > li")
    assert await hits.count() == 10
    assert "「量化」共" in await page.locator("p.lead").inner_text()
    assert await page.locator("ol.entries mark").count() > 0
    await page.screenshot(path=str(ARTIFACTS / "web-search-typed.png"), full_page=False)
    await context.close()


async def test_the_dark_scheme_follows_the_system(browser: Any, base_url: str) -> None:
    context = await browser.new_context(viewport=PHONE, color_scheme="dark")
    page = await context.new_page()
    await page.goto(base_url + PAGES["issue"])
    background = await page.evaluate("getComputedStyle(document.body).backgroundColor")
    channels = [int(c) for c in background.removeprefix("rgb(").rstrip(")").split(",")[:3]]
    assert max(channels) < 60, background
    await page.screenshot(path=str(ARTIFACTS / "web-issue-dark.png"))
    await context.close()

"""The archive's pages over real HTTP, in the application `neuraltalk serve` runs: every issue
with all its entries, 404 and 400 pages, gzip, ETag and 304, sizes, and a new ingest picked up."""

from __future__ import annotations

import gzip
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from web_support import PUBLIC, Page, web_app, web_settings
from wechat_messages import TOKEN, WeChat

from bot.config import load_settings
from bot.store.store import Store
from index.ingest import ingest
from index.parse import parse_file
from index.search import Archive

Client = Callable[[web.Application], Awaitable[TestClient]]
MAX_PAGE_BYTES = 100 * 1024
CORPUS = Path(__file__).resolve().parent.parent / "issues"


@pytest.fixture
async def client(
    aiohttp_client: Client, corpus_index: Path, corpus_dir: Path, store: Store, tmp_path: Path
) -> TestClient:
    settings = web_settings(corpus_index, corpus_dir, tmp_path / "nt.db")
    return await aiohttp_client(web_app(settings, Archive.open(corpus_index), store))


async def get_page(client: TestClient, path: str, status: int = 200) -> tuple[Page, str]:
    response = await client.get(path)
    html = await response.text()
    assert response.status == status, html[:300]
    assert response.content_type == "text/html"
    return Page(html), html


@pytest.mark.parametrize("name", sorted(p.name for p in CORPUS.glob("*.md")))
async def test_every_issue_has_a_page_with_all_its_entries_and_links(
    client: TestClient, corpus_dir: Path, name: str
) -> None:
    issue = parse_file(corpus_dir / name)
    page, html = await get_page(client, f"/issues/{issue.date}")
    assert page.h1 == issue.title
    assert len(html.encode()) < MAX_PAGE_BYTES
    assert [s.title.strip() for s in page.entries] == [e.title for _, e in issue.entries]
    for seen, (_, entry) in zip(page.entries, issue.entries, strict=True):
        assert seen.href == (entry.url or None), entry.title
        assert seen.links == [link.url for link in entry.links], entry.title
    for section in (s for s in issue.sections if s.entries):
        assert f">{section.name}</h2>" in html
    if issue.intro:
        assert issue.intro.split("\n")[0].strip() in page.text


async def test_the_home_lists_the_newest_issues_pages_and_every_month(
    client: TestClient, corpus_dir: Path
) -> None:
    dates = sorted((parse_file(p).date for p in corpus_dir.glob("*.md")), reverse=True)
    page, html = await get_page(client, "/")
    issue_links = [h for h in page.hrefs if h.startswith("/issues/")]
    assert issue_links == [f"/issues/{d}" for d in dates[:10]]
    assert "/?page=2" in page.hrefs
    assert {f"/?month={d[:7]}" for d in dates} <= set(page.hrefs)
    assert len(html.encode()) < MAX_PAGE_BYTES
    last, _ = await get_page(client, "/?page=3")
    assert [h for h in last.hrefs if h.startswith("/issues/")] == [
        f"/issues/{d}" for d in dates[20:30]
    ]
    month, _ = await get_page(client, "/?month=2020-04")
    assert [h for h in month.hrefs if h.startswith("/issues/")] == [
        f"/issues/{d}" for d in dates if d.startswith("2020-04")
    ]


async def test_an_unknown_issue_is_a_404_with_links_to_the_nearest(client: TestClient) -> None:
    page, _ = await get_page(client, "/issues/2020-04-27", status=404)
    near = [h for h in page.hrefs if h.startswith("/issues/")]
    assert "/issues/2020-04-26" in near and "/issues/2020-05-15" in near
    assert "没有 2020-04-27 这一期" in page.text
    page, _ = await get_page(client, "/issues/not-a-date", status=404)
    assert [h for h in page.hrefs if h.startswith("/issues/")]  # the newest, then


@pytest.mark.parametrize(
    ("path", "status", "line"),
    [
        ("/?page=0", 400, "页码是从 1 起的整数"),
        ("/?page=abc", 400, "页码是从 1 起的整数"),
        ("/?month=April", 400, "月份写成 2020-04 这样"),
        ("/?page=9", 404, "往期只有 3 页"),
        ("/?month=2019-01", 404, "2019-01 没有简报"),
        ("/search?q=%21%21%21", 400, "没法按这个查询查找"),
        ("/search?q=" + "量" * 201, 400, "too long"),
        ("/search?q=量化&page=-1", 400, "页码是从 1 起的整数"),
        ("/search?q=量化&page=999", 404, "没有第 999 页"),
        ("/search", 200, "输入要找的词"),
        ("/search?q=++", 200, "输入要找的词"),
    ],
)
async def test_bad_input_gets_a_page_with_one_line(
    client: TestClient, path: str, status: int, line: str
) -> None:
    page, html = await get_page(client, path, status=status)
    assert line in page.text
    assert 'name="q"' in html  # the search box is always there


async def test_pages_are_gzipped_and_conditional_per_generation(client: TestClient) -> None:
    plain = await client.get("/issues/2020-04-26", headers={"Accept-Encoding": "identity"})
    body = await plain.read()
    assert "Content-Encoding" not in plain.headers
    squeezed = await client.get("/issues/2020-04-26", headers={"Accept-Encoding": "gzip"},
                                auto_decompress=False)  # fmt: skip
    assert squeezed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(await squeezed.read()) == body
    assert squeezed.headers["Vary"] == "Accept-Encoding"
    etag = plain.headers["ETag"]
    assert etag == squeezed.headers["ETag"] and etag.startswith('W/"')
    assert "max-age" in plain.headers["Cache-Control"]
    again = await client.get("/issues/2020-04-26", headers={"If-None-Match": etag})
    assert again.status == 304 and await again.read() == b""
    modified = {"If-Modified-Since": plain.headers["Last-Modified"]}
    since = await client.get("/issues/2020-04-26", headers=modified)
    assert since.status == 304
    other = await client.get("/issues/2020-04-26", headers={"If-None-Match": 'W/"other"'})
    assert other.status == 200


async def test_the_stylesheet_is_served_and_named_by_its_version(client: TestClient) -> None:
    _, html = await get_page(client, "/")
    href = html.split('rel="stylesheet" href="')[1].split('"')[0]
    assert href.startswith("/static/style.css?v=")
    response = await client.get(href)
    assert response.status == 200 and response.content_type == "text/css"
    css = await response.text()
    assert "prefers-color-scheme: dark" in css and "PingFang SC" in css
    assert "immutable" in response.headers["Cache-Control"]
    assert 'lang="zh-CN"' in html and 'name="viewport"' in html
    assert "<script" not in html


async def test_the_webhook_paths_are_unchanged(client: TestClient) -> None:
    health = await client.get("/healthz")
    assert health.status == 200 and (await health.json())["issues"] == 30
    handshake = await client.get("/wechat")
    assert handshake.status == 403  # no signature: refused as before


async def test_a_new_ingest_shows_up_without_a_restart(
    aiohttp_client: Client, corpus_dir: Path, store: Store, tmp_path: Path
) -> None:
    issues = tmp_path / "issues"
    issues.mkdir()
    shutil.copy(corpus_dir / "2020-04-26.md", issues)
    index_dir = tmp_path / "index"
    ingest(index_dir, [issues])
    settings = web_settings(index_dir, issues, tmp_path / "nt.db")
    client = await aiohttp_client(web_app(settings, None, store, reload_every=0.0))
    await get_page(client, "/issues/2020-04-26")
    await get_page(client, "/issues/2020-05-15", status=404)
    before = (await client.get("/")).headers["ETag"]
    shutil.copy(corpus_dir / "2020-05-15.md", issues)
    ingest(index_dir, [issues])
    await get_page(client, "/issues/2020-05-15")
    home, _ = await get_page(client, "/")
    assert "/issues/2020-05-15" in home.hrefs
    assert (await client.get("/", headers={"If-None-Match": before})).status == 200


async def test_without_an_index_the_pages_say_so(
    aiohttp_client: Client, corpus_dir: Path, store: Store, tmp_path: Path
) -> None:
    settings = web_settings(tmp_path / "no-index", corpus_dir, tmp_path / "nt.db")
    client = await aiohttp_client(web_app(settings, None, store))
    response = await client.get("/")
    assert response.status == 503
    assert "neuraltalk ingest" in await response.text()


async def test_with_public_url_the_bots_full_text_link_is_our_own_page(
    aiohttp_client: Client, corpus_index: Path, corpus_dir: Path, store: Store, tmp_path: Path
) -> None:
    env = {
        "NEURALTALK_SERVER_PUBLIC_URL": PUBLIC + "/",
        "NEURALTALK_WECHAT_TOKEN": TOKEN,
        "NEURALTALK_ARCHIVE_INDEX_DIR": str(corpus_index),
        "NEURALTALK_ARCHIVE_ISSUES_DIR": str(corpus_dir),
    }
    settings = load_settings(env=env)  # archive.issue_url left to its default
    client = await aiohttp_client(web_app(settings, Archive.open(corpus_index), store))
    wechat = WeChat(client)
    answer = await wechat.say("2020-11-30")
    for _ in range(10):  # the issue's pages, until the last one with its 全文 line
        assert answer.text is not None
        if "全文：" in answer.text:
            break
        answer = await wechat.say("更多")
    assert answer.text is not None
    link = answer.text.split("全文：")[1].split()[0]
    assert link == f"{PUBLIC}/issues/2020-11-30"
    page, _ = await get_page(client, link.removeprefix(PUBLIC))
    assert page.h1.startswith("嵌入式AI简报 (2020-11-30)")

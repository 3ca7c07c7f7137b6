"""The pages' content over real HTTP: the search is `neuraltalk search --json`'s (total, order,
searched as, suggestion), words are marked, and nothing in an issue becomes markup."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import quote

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from web_support import Page, web_app, web_settings

from bot.store.store import Store
from index.ingest import ingest
from index.search import Archive

Client = Callable[[web.Application], Awaitable[TestClient]]
Neuraltalk = Callable[..., tuple[int, str, str]]
HOSTILE = """# 嵌入式AI简报 (2030-01-01) `<script>alert(1)</script>`

> 导读：本期 `<script>alert("intro")</script>` 与 &lt;script&gt;alert(8)&lt;/script&gt; 测试

## 业界新闻

- [`<script>alert(2)</script>`标题 | 来源](javascript:alert(3))
摘要：`<script>alert(4)</script>` 量化 <img src=x onerror=alert(5)> "引号" & 'x'
- [正常条目 `<b onmouseover=alert(6)>` | 来源](https://example.org/a?x=1&y=2) [[论文]](https://arxiv.org/abs/1)
摘要：见 https://example.org/b"onclick="alert(7) 与 javascript:alert(9)
"""


@pytest.fixture
async def client(
    aiohttp_client: Client, corpus_index: Path, corpus_dir: Path, store: Store, tmp_path: Path
) -> TestClient:
    settings = web_settings(corpus_index, corpus_dir, tmp_path / "nt.db")
    return await aiohttp_client(web_app(settings, Archive.open(corpus_index), store))


def cli_search(neuraltalk: Neuraltalk, index: Path, monkeypatch: pytest.MonkeyPatch,
               tmp_path: Path, *args: str) -> dict:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NEURALTALK_CONFIG", raising=False)
    monkeypatch.setenv("NEURALTALK_ARCHIVE_INDEX_DIR", str(index))
    code, out, err = neuraltalk("search", *args, "--json")
    assert code == 0, err
    return json.loads(out)


async def search_page(client: TestClient, query: str, page: int = 1) -> Page:
    response = await client.get(f"/search?q={quote(query)}&page={page}")
    assert response.status == 200
    return Page(await response.text())


def total_of(page: Page) -> int:
    found = re.search(r"共 (\d+) 条", page.text)
    assert found, page.text[:500]
    return int(found.group(1))


@pytest.mark.parametrize("query", ["量化", "Tengine", "论文 剪枝", "如何做模型压缩"])
async def test_the_search_is_the_same_as_the_command_line(
    client: TestClient, neuraltalk: Neuraltalk, corpus_index: Path,
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, query: str,
) -> None:  # fmt: skip
    expected = cli_search(neuraltalk, corpus_index, monkeypatch, tmp_path, query)
    page = await search_page(client, query)
    assert total_of(page) == expected["total"] > 0
    shown = [(s.where.split(" · ")[0], s.title.strip(), s.href or "") for s in page.entries]
    assert shown == [(h["issue"], h["title"], h["url"]) for h in expected["results"]]
    if expected["total"] <= 10:
        response = await client.get(f"/search?q={quote(query)}&page=2")
        assert response.status == 404 and "没有第 2 页" in await response.text()
        return
    second = cli_search(neuraltalk, corpus_index, monkeypatch, tmp_path, query, "--offset", "10")
    page2 = await search_page(client, query, page=2)
    assert [s.title.strip() for s in page2.entries] == [h["title"] for h in second["results"]]


async def test_query_words_and_their_synonyms_are_marked(client: TestClient) -> None:
    page = await search_page(client, "量化")
    marked = {m.lower() for s in page.entries for m in s.marked}
    assert "量化" in marked and "quantization" in marked
    for seen in page.entries:
        assert (
            "量化" in seen.title + seen.summary or "quantiz" in (seen.title + seen.summary).lower()
        )


async def test_searched_as_and_suggestions_are_shown(
    client: TestClient, neuraltalk: Neuraltalk, corpus_index: Path,
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:  # fmt: skip
    page = await search_page(client, "模型量化部署")
    assert "按「模型 量化 部署」查找" in page.text
    expected = cli_search(neuraltalk, corpus_index, monkeypatch, tmp_path, "Tengnie")
    assert expected["suggestion"] == "Tengine"  # as the archive writes it (issue 12)
    response = await client.get("/search?q=Tengnie")
    html = await response.text()
    assert '你是不是要找：<a href="/search?q=Tengine">Tengine</a>' in html
    assert "没有找到「Tengnie」相关的条目" in Page(html).text


async def test_an_issue_with_script_in_it_renders_inert(
    aiohttp_client: Client, store: Store, tmp_path: Path
) -> None:
    issues = tmp_path / "issues"
    issues.mkdir()
    (issues / "2030-01-01.md").write_text(HOSTILE, encoding="utf-8")
    index_dir = tmp_path / "index"
    assert not ingest(index_dir, [issues]).errors
    settings = web_settings(index_dir, issues, tmp_path / "nt.db")
    client = await aiohttp_client(web_app(settings, Archive.open(index_dir), store))
    for path in ["/issues/2030-01-01", "/", "/search?q=量化", "/search?q=" + quote("<script>")]:
        response = await client.get(path)
        html = await response.text()
        assert response.status == 200, path
        assert "<script" not in html.lower() and "<img" not in html and "<b " not in html, path
        assert "javascript:" not in re.sub(r">[^<]*<", "><", html), path  # nowhere but in text
        assert 'onclick="' not in html, path
    page = Page(await (await client.get("/issues/2030-01-01")).text())
    assert "<script>alert(1)</script>" in page.h1  # shown as the editor wrote it, as text
    assert 'alert("intro")' in page.text and "<script>alert(8)</script>" in page.text
    assert page.entries[0].href is None  # the javascript: link is not a link
    assert page.entries[1].href == "https://example.org/a?x=1&y=2"
    assert page.entries[1].links == ["https://arxiv.org/abs/1"]
    feed = await (await client.get("/feed.xml")).text()
    assert "<script" not in feed.lower()

"""The Atom feeds over real HTTP, read with feedparser as a feed reader would."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import feedparser
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from web_support import PUBLIC, Page, web_app, web_settings

from bot.store.store import Store
from index.search import Archive

Client = Callable[[web.Application], Awaitable[TestClient]]


@pytest.fixture
async def client(
    aiohttp_client: Client, corpus_index: Path, corpus_dir: Path, store: Store, tmp_path: Path
) -> TestClient:
    settings = web_settings(corpus_index, corpus_dir, tmp_path / "nt.db", PUBLIC + "/")
    return await aiohttp_client(web_app(settings, Archive.open(corpus_index), store))


async def read_feed(client: TestClient, path: str) -> feedparser.FeedParserDict:
    response = await client.get(path)
    assert response.status == 200
    assert response.content_type == "application/atom+xml"
    parsed = feedparser.parse(await response.read())
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    return parsed


async def test_the_feed_has_the_newest_20_issues_linked_on_public_url(
    client: TestClient, corpus_index: Path
) -> None:
    parsed = await read_feed(client, "/feed.xml")
    archive = Archive.open(corpus_index)
    newest = [i.date for i in archive.issues()[:20]]
    assert [e.link for e in parsed.entries] == [f"{PUBLIC}/issues/{d}" for d in newest]
    assert parsed.feed.link == f"{PUBLIC}/"
    assert any(
        link.href == f"{PUBLIC}/feed.xml" and link.rel == "self" for link in parsed.feed.links
    )
    first = archive.issue(newest[0])
    assert first is not None
    entry = parsed.entries[0]
    assert entry.title == first.title and entry.updated.startswith(newest[0])
    html = Page("<ol class='entries'>" + entry.content[0].value + "</ol>")
    for hit in first.entries:
        assert hit.title in html.text
        if hit.url:
            assert hit.url in html.hrefs


async def test_a_topic_feed_has_the_newest_50_matching_entries(
    client: TestClient, corpus_index: Path
) -> None:
    parsed = await read_feed(client, "/feed.xml?topic=量化")
    archive = Archive.open(corpus_index)
    result = archive.search("量化", limit=1000)
    assert result.total > 50
    assert len(parsed.entries) == 50
    dates = [e.link.split("/issues/")[1].split("#")[0] for e in parsed.entries]
    assert dates == sorted(dates, reverse=True)
    newest_matching = sorted((h.issue for h in result.results), reverse=True)[:50]
    assert dates == newest_matching
    assert all(e.link.startswith(f"{PUBLIC}/issues/") and "#e" in e.link for e in parsed.entries)
    assert len({e.id for e in parsed.entries}) == 50
    assert "量化" in parsed.feed.title


async def test_a_bad_topic_is_400_and_feeds_are_cached(client: TestClient) -> None:
    response = await client.get("/feed.xml?topic=%21%21")
    assert response.status == 400
    assert "bad topic" in await response.text()
    first = await client.get("/feed.xml")
    again = await client.get("/feed.xml", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status == 304

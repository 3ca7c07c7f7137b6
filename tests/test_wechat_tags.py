"""bot.wechat.tags against the fake WeChat API over HTTP: chunks of 50, pages of members."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from wechat_api_support import make_api, set_faults

from bot.wechat.tags import Tags


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


async def test_tags_are_chunked_by_50_and_listed_page_by_page(mock, session):
    set_faults(mock, page_size=50)
    tags = Tags(make_api(session, mock.url))
    tag_id = await tags.get_or_create("subscribers")
    assert await tags.get_or_create("subscribers") == tag_id
    assert mock.calls["/cgi-bin/tags/create"] == 1
    openids = [f"o{i:03}" for i in range(120)]
    await tags.add(tag_id, iter(openids))
    assert mock.calls["/cgi-bin/tags/members/batchtagging"] == 3
    assert [o async for o in tags.members(tag_id)] == openids
    await tags.remove(tag_id, openids[:60])
    assert mock.calls["/cgi-bin/tags/members/batchuntagging"] == 2
    assert [o async for o in tags.members(tag_id)] == openids[60:]
    assert [t.count for t in await tags.fetch()] == [60]

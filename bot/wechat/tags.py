"""The WeChat API's user tags (用户标签管理), which a subscription account's mass send goes
to: list, create, tag and untag followers (50 a call), list a tag's members.

A thin layer over WeChatAPI.call: the same token, retries and errors.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

from bot.wechat.api import WeChatAPI
from bot.wechat.errors import ERR_BAD_ANSWER, TAG_EXISTS, FatalError, errcode_of

TAG_BATCH = 50


@dataclass(frozen=True)
class Tag:
    id: int
    name: str
    count: int


class Tags:
    """The tag calls of one WeChatAPI client."""

    def __init__(self, api: WeChatAPI) -> None:
        self.api = api

    async def fetch(self) -> list[Tag]:
        """The account's tags with their member counts."""
        data = await self.api.call("/cgi-bin/tags/get", None, method="GET")
        raw = data.get("tags")
        tags = raw if isinstance(raw, list) else []
        return [
            Tag(int(t["id"]), str(t["name"]), int(t.get("count", 0)))
            for t in tags
            if isinstance(t, dict) and "id" in t and "name" in t
        ]

    async def get_or_create(self, name: str) -> int:
        """The id of the tag called `name`, created when the account has none."""
        for tag in await self.fetch():
            if tag.name == name:
                return tag.id
        body = {"tag": {"name": name}}
        data = await self.api.call("/cgi-bin/tags/create", body, accept=frozenset({TAG_EXISTS}))
        if errcode_of(data) != TAG_EXISTS:
            return _tag_id(data)
        for tag in await self.fetch():  # created meanwhile by someone else
            if tag.name == name:
                return tag.id
        raise FatalError(TAG_EXISTS, "tag exists", f"tag {name!r} exists but is not listed")

    async def add(self, tag_id: int, openids: Iterable[str]) -> None:
        """Put openids under the tag, 50 per call."""
        await self._batch("/cgi-bin/tags/members/batchtagging", tag_id, openids)

    async def remove(self, tag_id: int, openids: Iterable[str]) -> None:
        """Take openids out of the tag, 50 per call."""
        await self._batch("/cgi-bin/tags/members/batchuntagging", tag_id, openids)

    async def _batch(self, path: str, tag_id: int, openids: Iterable[str]) -> None:
        chunk: list[str] = []
        for openid in openids:
            chunk.append(openid)
            if len(chunk) == TAG_BATCH:
                await self.api.call(path, {"openid_list": chunk, "tagid": tag_id})
                chunk = []
        if chunk:
            await self.api.call(path, {"openid_list": chunk, "tagid": tag_id})

    async def members(self, tag_id: int) -> AsyncIterator[str]:
        """Every openid under the tag, page by page (10,000 a page)."""
        next_openid = ""
        while True:
            data = await self.api.call(
                "/cgi-bin/user/tag/get", {"tagid": tag_id, "next_openid": next_openid}
            )
            page = data.get("data")
            openids = page.get("openid") if isinstance(page, dict) else None
            if not isinstance(openids, list) or not openids:
                return
            for openid in openids:
                yield str(openid)
            following = data.get("next_openid")
            if not isinstance(following, str) or not following or following == next_openid:
                return
            next_openid = following


def _tag_id(data: dict[str, Any]) -> int:
    tag = data.get("tag")
    if not isinstance(tag, dict) or not isinstance(tag.get("id"), int):
        raise FatalError(ERR_BAD_ANSWER, "no tag id", "/cgi-bin/tags/create gave no tag id")
    return int(tag["id"])

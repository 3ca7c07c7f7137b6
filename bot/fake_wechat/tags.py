"""The fake WeChat API's tags: the account's tags and members, and the tag calls on them.

MockTags answers tags/get, tags/create, tags/members/batchtagging, batchuntagging and
user/tag/get as WeChat does (its limits and error codes included); bot.fake_wechat.state routes
those calls here and reads a tag's members for a mass send to it.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.fake_wechat.model import Answer, Faults, err, ok

Members = dict[str, None]  # the openids under a tag, in the order they were tagged


class MockTags:
    """The tags of the fake account: `table` maps a tag id to its name and members."""

    def __init__(self, faults: Callable[[], Faults]) -> None:
        self.table: dict[int, tuple[str, Members]] = {}
        self._faults = faults  # the fake's current faults (they change with set_faults)

    def tags_get(self, body: Answer) -> Answer:
        listed = [{"id": i, "name": n, "count": len(m)} for i, (n, m) in self.table.items()]
        return {"tags": listed}

    def tags_create(self, body: Answer) -> Answer:
        tag = body.get("tag")
        name = tag.get("name") if isinstance(tag, dict) else None
        if not isinstance(name, str) or not name or len(name.encode()) > 30:
            return err(45158, "tag name too long")
        if any(n == name for n, _ in self.table.values()):
            return err(45157, "invalid tag name")
        if len(self.table) >= 100:
            return err(45056, "too many tags")
        tag_id = 100 + len(self.table)
        self.table[tag_id] = (name, {})
        return {"tag": {"id": tag_id, "name": name}}

    def _members(self, body: Answer) -> tuple[list[str], Members] | Answer:
        openids, tag = body.get("openid_list"), self.table.get(body.get("tagid"))  # type: ignore[arg-type]
        if not isinstance(openids, list) or not 1 <= len(openids) <= 50:
            return err(40032, "invalid openid_list size, longer than 50")
        if tag is None:
            return err(45159, "invalid tag id")
        if any(self._faults().recipient_errors.get(o) == 40003 for o in openids):
            return err(40003, "invalid openid")
        return [str(o) for o in openids], tag[1]

    def tagging(self, body: Answer) -> Answer:
        found = self._members(body)
        if isinstance(found, dict):
            return found
        for openid in found[0]:
            found[1][openid] = None
        return ok()

    def untagging(self, body: Answer) -> Answer:
        found = self._members(body)
        if isinstance(found, dict):
            return found
        for openid in found[0]:
            found[1].pop(openid, None)
        return ok()

    def tag_members(self, body: Answer) -> Answer:
        tag = self.table.get(body.get("tagid"))  # type: ignore[arg-type]
        if tag is None:
            return err(45159, "invalid tag id")
        members = list(tag[1])
        after = body.get("next_openid") or ""
        start = members.index(after) + 1 if after in tag[1] else 0
        page = members[start : start + self._faults().page_size]
        if not page:
            return {"count": 0, "next_openid": ""}
        return {"count": len(page), "data": {"openid": page}, "next_openid": page[-1]}

    def routes(self) -> dict[str, Callable[[Answer], Answer]]:
        return {
            "/cgi-bin/tags/get": self.tags_get,
            "/cgi-bin/tags/create": self.tags_create,
            "/cgi-bin/tags/members/batchtagging": self.tagging,
            "/cgi-bin/tags/members/batchuntagging": self.untagging,
            "/cgi-bin/user/tag/get": self.tag_members,
        }

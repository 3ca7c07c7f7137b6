"""The followers' writes: subscribe, unsubscribe, unfollow (all through the store's group
commit: each returns once its transaction committed) and the batched last-interaction times.

A mixin of bot.store.store.Store, which gives it `group` and `guard`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.engine import FileGuard
from bot.store.group import GroupCommit
from bot.store.schema import ACTIVE, UNSUBSCRIBED, Database, interactions, subscribers, topics
from bot.store.subscribers import OPENID_RE, check_openid, normalize_topic

log = logging.getLogger(__name__)
TOUCH_CHUNK = 1000


class SubscriptionWrites(Database):
    group: GroupCommit
    guard: FileGuard

    async def subscribe(self, openid: str, topic: str | None = None) -> bool:
        """Subscribe to every issue (topic None) or to one topic; True if anything changed."""
        openid = check_openid(openid)
        topic = None if topic is None else normalize_topic(topic)
        return bool(await self.group.commit(lambda c, now: self._subscribe(c, openid, topic, now)))

    async def _subscribe(
        self, conn: AsyncConnection, openid: str, topic: str | None, now: datetime
    ) -> bool:
        created = await conn.scalar(
            self.insert(subscribers)
            .values(openid=openid, status=ACTIVE, all_issues=topic is None, subscribed_at=now)
            .on_conflict_do_nothing()
            .returning(subscribers.c.openid)
        )
        changed = created is not None or await self._activate(conn, openid, topic, now)
        if topic is not None:
            changed = await self._topic_on(conn, openid, topic, now) or changed
        return changed

    async def _activate(
        self, conn: AsyncConnection, openid: str, topic: str | None, now: datetime
    ) -> bool:
        row = (await conn.execute(_locked(openid))).one()
        was_active = row.status == ACTIVE
        all_issues = True if topic is None else (row.all_issues and was_active)
        if was_active and row.all_issues == all_issues:
            return False
        values: dict[str, Any] = {"status": ACTIVE, "all_issues": all_issues}
        if not was_active:
            values |= {"subscribed_at": now, "unsubscribed_at": None}
        await conn.execute(update(subscribers).where(subscribers.c.openid == openid).values(values))
        return True

    async def _topic_on(
        self, conn: AsyncConnection, openid: str, topic: str, now: datetime
    ) -> bool:
        stmt = self.insert(topics).values(
            openid=openid, topic=topic, status=ACTIVE, created_at=now, updated_at=now
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[topics.c.openid, topics.c.topic],
            set_={"status": ACTIVE, "updated_at": now},
            where=topics.c.status != ACTIVE,
        )
        return await conn.scalar(stmt.returning(topics.c.topic)) is not None

    async def unsubscribe(self, openid: str, topic: str | None = None) -> bool:
        """Leave every-issue subscription (topic None) or one topic; True if anything changed."""
        openid = check_openid(openid)
        topic = None if topic is None else normalize_topic(topic)
        return bool(
            await self.group.commit(lambda c, now: self._unsubscribe(c, openid, topic, now))
        )

    async def _unsubscribe(
        self, conn: AsyncConnection, openid: str, topic: str | None, now: datetime
    ) -> bool:
        row = (await conn.execute(_locked(openid))).one_or_none()
        if row is None or row.status != ACTIVE:
            return False
        if topic is None:
            if not row.all_issues:
                return False
            await conn.execute(
                update(subscribers).where(subscribers.c.openid == openid).values(all_issues=False)
            )
        elif not await self._topic_off(conn, openid, topic, now):
            return False
        await _settle(conn, openid, now)
        return True

    async def _topic_off(
        self, conn: AsyncConnection, openid: str, topic: str, now: datetime
    ) -> bool:
        changed = await conn.execute(
            update(topics)
            .where(topics.c.openid == openid, topics.c.topic == topic, topics.c.status == ACTIVE)
            .values(status=UNSUBSCRIBED, updated_at=now)
            .returning(topics.c.topic)
        )
        return changed.first() is not None

    async def unsubscribe_all(self, openid: str) -> None:
        """The follower unfollowed: leave every subscription."""
        openid = check_openid(openid)
        await self.group.commit(lambda c, now: _leave_all(c, openid, now))

    async def touch(self, interactions_at: Mapping[str, datetime]) -> None:
        """Record followers' last interactions in one transaction; times only move forward."""
        if any(at.tzinfo is None for at in interactions_at.values()):
            raise ValueError("touch needs timezone-aware times")
        rows = [
            {"openid": openid, "last_at": at}
            for openid, at in interactions_at.items()
            if OPENID_RE.match(openid)
        ]
        if len(rows) < len(interactions_at):
            log.warning("touch: ignored %d malformed openids", len(interactions_at) - len(rows))
        if not rows:
            return
        self.guard.check()
        stmt = self.insert(interactions)
        stmt = stmt.on_conflict_do_update(
            index_elements=[interactions.c.openid],
            set_={"last_at": stmt.excluded.last_at},
            where=interactions.c.last_at < stmt.excluded.last_at,
        )
        async with self.write() as conn:
            for start in range(0, len(rows), TOUCH_CHUNK):
                await conn.execute(stmt, rows[start : start + TOUCH_CHUNK])


def _locked(openid: str) -> Any:
    """The subscriber's row, locked until the transaction ends (SQLite: the write lock)."""
    return select(subscribers).where(subscribers.c.openid == openid).with_for_update()


async def _leave_all(conn: AsyncConnection, openid: str, now: datetime) -> None:
    """The follower unfollowed: every subscription left (nothing to do for a stranger)."""
    if (await conn.execute(_locked(openid))).one_or_none() is None:
        return
    await conn.execute(
        update(topics)
        .where(topics.c.openid == openid, topics.c.status == ACTIVE)
        .values(status=UNSUBSCRIBED, updated_at=now)
    )
    await conn.execute(
        update(subscribers)
        .where(subscribers.c.openid == openid, subscribers.c.status == ACTIVE)
        .values(status=UNSUBSCRIBED, all_issues=False, unsubscribed_at=now)
    )


async def _settle(conn: AsyncConnection, openid: str, now: datetime) -> None:
    """Mark the subscriber unsubscribed once it has neither all_issues nor an active topic."""
    has_topic = (
        select(func.count())
        .select_from(topics)
        .where(topics.c.openid == openid, topics.c.status == ACTIVE)
        .scalar_subquery()
    )
    await conn.execute(
        update(subscribers)
        .where(subscribers.c.openid == openid, ~subscribers.c.all_issues, has_topic == 0)
        .values(status=UNSUBSCRIBED, unsubscribed_at=now)
    )

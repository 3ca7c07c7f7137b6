"""Reading subscribers: one by openid, all of them in keyset-paged batches, and their counts.

Also the checks every openid and topic passes before it reaches the store. Store (store.py)
inherits SubscriberReads; the writes (subscribe, unsubscribe, touch) are there.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.errors import UserError
from bot.store.schema import ACTIVE, UNSUBSCRIBED, Database, interactions, subscribers, topics

OPENID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_TOPIC = 20


class InvalidInput(UserError, ValueError):
    """An openid or topic the store does not accept; the message says why."""


def check_openid(openid: str) -> str:
    if not OPENID_RE.match(openid):
        raise InvalidInput(
            f"bad openid {openid!r}: 1 to 64 characters among letters, digits, _ and -"
        )
    return openid


def normalize_topic(topic: str) -> str:
    """The stored form of a topic: stripped, lower case; 1 to 20 characters."""
    cleaned = topic.strip().lower()
    if not cleaned or len(cleaned) > MAX_TOPIC or any(ch.isspace() for ch in cleaned):
        raise InvalidInput(f"bad topic {topic!r}: one word of 1 to {MAX_TOPIC} characters")
    return cleaned


@dataclass(frozen=True)
class Subscriber:
    openid: str
    status: str  # "active" or "unsubscribed"
    all_issues: bool
    topics: list[str]  # active topic subscriptions, sorted
    subscribed_at: datetime
    last_interaction: datetime | None


@dataclass(frozen=True)
class SubscriberCounts:
    active: int = 0
    unsubscribed: int = 0
    topics: dict[str, int] = field(default_factory=dict)  # active subscribers per topic


class SubscriberReads(Database):
    """The read side of subscribers, shared by the webhook, the CLI and broadcast planning."""

    async def subscriber(self, openid: str) -> Subscriber | None:
        async with self.read() as conn:
            rows = await _subscriber_rows(conn, subscribers.c.openid == openid, limit=1)
            if not rows:
                return None
            return (await _with_topics(conn, rows))[0]

    async def subscriber_pages(
        self, *, active_only: bool = False, page_size: int = 1000
    ) -> AsyncIterator[list[Subscriber]]:
        """Every subscriber in openid order, page_size at a time (keyset paging)."""
        after = ""
        while True:
            condition = subscribers.c.openid > after
            if active_only:
                condition = condition & (subscribers.c.status == ACTIVE)
            async with self.read() as conn:
                rows = await _subscriber_rows(conn, condition, limit=page_size)
                page = await _with_topics(conn, rows)
            if not page:
                return
            yield page
            after = page[-1].openid

    async def list_subscribers(self) -> list[Subscriber]:
        """Every subscriber, in openid order (for small stores; use subscriber_pages for big)."""
        return [s async for page in self.subscriber_pages() for s in page]

    async def subscriber_counts(self) -> SubscriberCounts:
        by_status = select(subscribers.c.status, func.count()).group_by(subscribers.c.status)
        per_topic = (
            select(topics.c.topic, func.count())
            .join(subscribers, subscribers.c.openid == topics.c.openid)
            .where(topics.c.status == ACTIVE, subscribers.c.status == ACTIVE)
            .group_by(topics.c.topic)
            .order_by(func.count().desc(), topics.c.topic)
        )
        async with self.read() as conn:
            statuses = {str(k): int(n) for k, n in (await conn.execute(by_status)).all()}
            topic_counts = {str(k): int(n) for k, n in (await conn.execute(per_topic)).all()}
        return SubscriberCounts(
            active=statuses.get(ACTIVE, 0),
            unsubscribed=statuses.get(UNSUBSCRIBED, 0),
            topics=topic_counts,
        )


async def _subscriber_rows(conn: AsyncConnection, condition: Any, limit: int) -> Sequence[Any]:
    stmt = (
        select(subscribers, interactions.c.last_at)
        .outerjoin(interactions, interactions.c.openid == subscribers.c.openid)
        .where(condition)
        .order_by(subscribers.c.openid)
        .limit(limit)
    )
    return (await conn.execute(stmt)).all()


async def _with_topics(conn: AsyncConnection, rows: Sequence[Any]) -> list[Subscriber]:
    if not rows:
        return []
    first, last = rows[0].openid, rows[-1].openid
    stmt = (
        select(topics.c.openid, topics.c.topic)
        .where(topics.c.openid.between(first, last), topics.c.status == ACTIVE)
        .order_by(topics.c.openid, topics.c.topic)
    )
    found: dict[str, list[str]] = {}
    for openid, topic in await conn.execute(stmt):
        found.setdefault(openid, []).append(topic)
    return [
        Subscriber(
            openid=row.openid,
            status=row.status,
            all_issues=bool(row.all_issues),
            topics=found.get(row.openid, []),
            subscribed_at=row.subscribed_at,
            last_interaction=row.last_at,
        )
        for row in rows
    ]

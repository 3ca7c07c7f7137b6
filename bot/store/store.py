"""Subscribers, topic subscriptions, last-interaction times, campaigns and deliveries.

SQLite file by default (storage.url sqlite:///data/neuraltalk.db), PostgreSQL for
postgresql://... urls; the same code for both (SQLAlchemy 2 Core, aiosqlite / asyncpg),
with versioned schema migrations.

CONTRACT used by the webhook (bot/chat/replies.py, bot/chat/app.py); keep these names:

    store = await Store.open(url: str)        # creates the database / runs migrations
    await store.close()
    await store.subscribe(openid, topic: str | None = None) -> bool       # True if it changed
    await store.unsubscribe(openid, topic: str | None = None) -> bool     # None: the all-issues one
    await store.unsubscribe_all(openid) -> None                           # unfollow: leave all
    await store.subscriber(openid) -> Subscriber | None
    await store.touch(interactions: Mapping[str, datetime]) -> None       # batched last-interaction
    await store.record_mass_job_finish(msg_id: str, status: str, total: int, filter_count: int,
                                       sent: int, errors: int) -> None    # MASSSENDJOBFINISH

Also here: planning a campaign's deliveries and the access_token row. The engine and the
migrations are bot/store/engine.py's (StoreError re-exported here). Store inherits the rest:
reading subscribers (keyset-paged, never all in memory) from bot/store/subscribers.py,
campaigns and their lease from bot/store/campaigns.py, deliveries (claims, outcomes, in doubt)
from bot/store/deliveries.py, mass batches and jobs from bot/store/mass.py; the tables are in
bot/store/schema.py. This is the one store layer: the broadcast (bot/broadcast*.py) uses only it.

A subscriber is 'active' while it subscribes to every issue (all_issues) or to at least one
topic; leaving is a status change, never a deleted row. Topics are kept stripped and in
lower case. PostgreSQL urls may carry `?schema=NAME` to keep the tables in their own schema.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.store.campaigns import CampaignStore
from bot.store.deliveries import DeliveryStore, PlannedDelivery
from bot.store.engine import (
    FileGuard,
    StoreError,
    StoreUnavailable,
    engine_for,
    migrate,
    migrated_engine,
)
from bot.store.group import GroupCommit
from bot.store.mass import MassStore
from bot.store.schema import (
    ACTIVE,
    UNSUBSCRIBED,
    access_token,
    interactions,
    subscribers,
    topics,
    utcnow,
)
from bot.store.subscribers import (
    OPENID_RE,
    InvalidInput,
    Subscriber,
    SubscriberCounts,
    SubscriberReads,
    check_openid,
    normalize_topic,
)

__all__ = [
    "InvalidInput",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "Subscriber",
    "SubscriberCounts",
    "check_openid",
    "normalize_topic",
]

log = logging.getLogger(__name__)
TOUCH_CHUNK = 1000


class Store(SubscriberReads, CampaignStore, DeliveryStore, MassStore):
    """The store: open once at start-up with Store.open(url), close at shutdown.

    The followers' writes (subscribe, unsubscribe, unsubscribe_all) go through one group
    commit; each returns once its transaction has committed (StoreUnavailable, or the
    database's error, when it could not)."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        self.guard = FileGuard.for_engine(engine)
        self.group = GroupCommit(self.write, self.guard.check)

    @classmethod
    async def open(cls, url: str) -> Store:
        """The store at a storage.url, its schema migrated (bot.store.engine)."""
        return cls(await migrated_engine(url))

    @classmethod
    def unopened(cls, url: str) -> tuple[Store, Callable[[], Awaitable[None]]]:
        """The store at a storage.url, not yet connected, and what opens it (the migrations):
        for the webhook, which builds its parts before its event loop starts."""
        engine, schema = engine_for(url)
        store = cls(engine)

        async def open_it() -> None:
            await migrate(engine, schema, url)
            store.guard.reset()

        return store, open_it

    async def close(self) -> None:
        await self.group.close()
        await self.engine.dispose()

    def problem(self) -> str | None:
        """Why the store cannot be written now (its SQLite file deleted, replaced...), or None."""
        return self.guard.problem()

    # --- subscriptions (the webhook's contract) ---------------------------------------------

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

    # --- planning a campaign ------------------------------------------------------------------

    async def plan_deliveries(
        self,
        campaign_id: int,
        decide: Callable[[list[Subscriber]], Iterable[PlannedDelivery]],
        page_size: int = 1000,
    ) -> int:
        """Record a delivery for each active subscriber, page by page; returns how many were new.

        `decide` routes one page of subscribers (channel, digest, or skipped). Subscribers who
        already have a delivery in this campaign keep it, so planning again after a crash, or
        to take in new subscribers, is safe. Marks the campaign planned at the end.
        """
        added = 0
        async for page in self.subscriber_pages(active_only=True, page_size=page_size):
            added += await self.add_deliveries(campaign_id, list(decide(page)))
        await self.mark_planned(campaign_id)
        return added

    # --- the WeChat API's access_token (wechat.access_token.TokenStore) ---

    async def load_token(self) -> tuple[str, datetime] | None:
        async with self.read() as conn:
            row = (await conn.execute(select(access_token).where(access_token.c.id == 1))).first()
        return None if row is None else (row.token, row.expires_at)

    async def save_token(self, token: str, expires_at: datetime) -> None:
        stmt = self.insert(access_token).values(
            id=1, token=token, expires_at=expires_at, updated_at=utcnow()
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[access_token.c.id],
            set_={"token": token, "expires_at": expires_at, "updated_at": utcnow()},
        )
        async with self.write() as conn:
            await conn.execute(stmt)


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

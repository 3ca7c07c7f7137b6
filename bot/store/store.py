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

Also here: planning a campaign's deliveries. The engine and the migrations are
bot/store/engine.py's (StoreError re-exported here). Store inherits the rest: reading
subscribers (keyset-paged, never all in memory) from bot/store/subscribers.py, the followers'
writes (subscribe, unsubscribe, touch) from bot/store/subscriptions.py, campaigns and their
lease from bot/store/campaigns.py, deliveries (claims, outcomes) from bot/store/deliveries.py,
those in doubt from bot/store/doubt.py, mass batches and jobs from bot/store/mass.py, the
access_token row from bot/store/tokens.py; the tables are in bot/store/schema.py. This is the
one store layer: the broadcast (bot/broadcast/) uses only it.

A subscriber is 'active' while it subscribes to every issue (all_issues) or to at least one
topic; leaving is a status change, never a deleted row. Topics are kept stripped and in
lower case. PostgreSQL urls may carry `?schema=NAME` to keep the tables in their own schema.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.campaigns import CampaignStore
from bot.store.deliveries import DeliveryStore, PlannedDelivery
from bot.store.doubt import InDoubtStore
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
from bot.store.subscribers import (
    InvalidInput,
    Subscriber,
    SubscriberCounts,
    SubscriberReads,
    check_openid,
    normalize_topic,
)
from bot.store.subscriptions import SubscriptionWrites
from bot.store.tokens import TokenRow

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


class Store(
    SubscriberReads,
    SubscriptionWrites,
    CampaignStore,
    DeliveryStore,
    InDoubtStore,
    MassStore,
    TokenRow,
):
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
        self.guard.close()
        await self.group.close()
        if self.thread is not None:
            await asyncio.to_thread(self.thread.close)
        await self.engine.dispose()

    def problem(self) -> str | None:
        """Why the store cannot be written now (its SQLite file deleted, replaced...), or None."""
        return self.guard.problem()

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

"""Subscribers, topic subscriptions, last-interaction times, campaigns and deliveries.

SQLite file by default (storage.url sqlite:///data/neuraltalk.db), PostgreSQL for
postgresql://... urls; the same code for both (SQLAlchemy 2 Core, aiosqlite / asyncpg),
with versioned schema migrations.

CONTRACT used by the webhook (bot/replies.py, bot/webhook.py); keep these names:

    store = await Store.open(url: str)        # creates the database / runs migrations
    await store.close()
    await store.subscribe(openid, topic: str | None = None) -> bool       # True if it changed
    await store.unsubscribe(openid, topic: str | None = None) -> bool     # None: the all-issues one
    await store.unsubscribe_all(openid) -> None                           # unfollow: leave all
    await store.subscriber(openid) -> Subscriber | None
    await store.touch(interactions: Mapping[str, datetime]) -> None       # batched last-interaction
    await store.record_mass_job_finish(msg_id: str, status: str, total: int, filter_count: int,
                                       sent: int, errors: int) -> None    # MASSSENDJOBFINISH
"""

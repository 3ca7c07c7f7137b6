"""The ledger's transaction (bot/store/settle.py through Store.settle), on a real SQLite file
and the real PostgreSQL: outcomes recorded, the next sends begun only under the lease, every
kind of outcome beside the plain 'sent' one, a cancelled caller, and the statistics that keep
PostgreSQL from scanning every pending row per transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select, text

from bot.store.deliveries import Outcome, PlannedDelivery
from bot.store.schema import deliveries
from bot.store.store import Store


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    opened = await Store.open(store_url)
    yield opened
    await opened.close()


async def planned(store: Store, count: int) -> int:
    """A custom campaign with `count` pending deliveries o-000..., planned as a broadcast is."""
    for i in range(count):
        await store.subscribe(f"o-{i:03d}")
    campaign = await store.campaign_for("2020-04-26", "custom")

    def decide(page):  # type: ignore[no-untyped-def]
        return [PlannedDelivery(s.openid, "custom", "full") for s in page]

    await store.plan_deliveries(campaign.id, decide)
    return campaign.id


async def rows(store: Store, cid: int) -> dict[str, tuple[str, int | None, str | None, int]]:
    """openid -> (status, errcode, channel, attempts)."""
    d = deliveries.c
    stmt = select(d.openid, d.status, d.errcode, d.channel, d.attempts).where(d.campaign_id == cid)
    async with store.read() as conn:
        return {o: (s, e, ch, a) for o, s, e, ch, a in await conn.execute(stmt)}


async def test_plain_sent_outcomes_and_the_next_begins_in_one_transaction(store: Store) -> None:
    cid = await planned(store, 5)
    assert await store.acquire_lease(cid, "A", ttl=30)
    assert await store.settle(cid, "A", [], ["o-000", "o-001"]) == {"o-000", "o-001"}
    sent = [Outcome("o-000", "sent"), Outcome("o-001", "sent")]
    assert await store.settle(cid, "A", sent, ["o-002", "o-003", "o-004"]) == {
        "o-002",
        "o-003",
        "o-004",
    }
    assert await store.settle(cid, "A", [], ["o-002"]) == set()  # not pending any more
    got = await rows(store, cid)
    assert [got[f"o-00{i}"][0] for i in range(5)] == ["sent"] * 2 + ["sending"] * 3
    assert {got[f"o-00{i}"][3] for i in range(5)} == {1}
    assert await store.settle(cid, "A", [Outcome("o-002", "sent")], []) == set()
    assert (await rows(store, cid))["o-002"][0] == "sent"


async def test_every_kind_of_outcome_beside_the_begins(store: Store) -> None:
    cid = await planned(store, 7)
    assert await store.acquire_lease(cid, "A", ttl=30)
    first = [f"o-00{i}" for i in range(5)]
    assert await store.settle(cid, "A", [], first) == set(first)
    outcomes = [
        Outcome("o-000", "sent"),
        Outcome("o-001", "failed", 40003, "invalid openid"),
        Outcome("o-002", "pending", channel="mass"),  # provably not sent: the mass lane's
        Outcome("o-003", "doubt", -3, "the answer was lost"),  # stays 'sending'
        Outcome("o-004", "pending"),
        Outcome("o-006", "sent"),  # never begun: no change
    ]
    assert await store.settle(cid, "A", outcomes, ["o-005"]) == {"o-005"}
    got = await rows(store, cid)
    assert got["o-000"] == ("sent", None, "custom", 1)
    assert got["o-001"] == ("failed", 40003, "custom", 1)
    assert got["o-002"] == ("pending", None, "mass", 1)
    assert got["o-003"] == ("sending", -3, "custom", 1)
    assert got["o-004"] == ("pending", None, "custom", 1)
    assert got["o-005"] == ("sending", None, "custom", 1)
    assert got["o-006"] == ("pending", None, "custom", 0)


async def test_without_the_lease_outcomes_are_kept_and_nothing_begins(store: Store) -> None:
    cid = await planned(store, 4)
    assert await store.acquire_lease(cid, "A", ttl=0.3)
    assert await store.settle(cid, "A", [], ["o-000", "o-001"]) == {"o-000", "o-001"}
    await asyncio.sleep(0.4)  # A's lease runs out while its two sends are in flight
    assert await store.settle(cid, "A", [Outcome("o-000", "sent")], ["o-002"]) == set()
    outcomes = [Outcome("o-001", "failed", 40003, "invalid openid")]
    assert await store.settle(cid, "A", outcomes, ["o-003"]) == set()
    got = await rows(store, cid)
    assert [got[f"o-00{i}"][0] for i in range(4)] == ["sent", "failed", "pending", "pending"]
    assert await store.acquire_lease(cid, "B", ttl=30)
    assert await store.settle(cid, "A", [], ["o-002"]) == set()  # B's lease now, not A's
    assert await store.settle(cid, "B", [], ["o-002"]) == {"o-002"}


async def test_a_cancelled_settle_is_written_whole_or_not_at_all(store: Store) -> None:
    cid = await planned(store, 60)
    assert await store.acquire_lease(cid, "A", ttl=30)
    begin = [f"o-{i:03d}" for i in range(60)]
    task = asyncio.create_task(store.settle(cid, "A", [], begin))
    await asyncio.sleep(0)  # the transaction is on its way
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0.2)
    statuses = {status for status, *_ in (await rows(store, cid)).values()}
    assert statuses in ({"sending"}, {"pending"})
    if store.thread is not None:  # SQLite: the thread finishes the transaction it started
        assert statuses == {"sending"}


@pytest.mark.postgres
@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
async def test_planning_gives_postgresql_statistics_of_the_new_rows(store: Store) -> None:
    # without them its planner takes the table for empty, and settle walks every pending row
    await planned(store, 120)
    async with store.read() as conn:
        stats = "SELECT reltuples FROM pg_class WHERE oid = 'deliveries'::regclass"
        assert (await conn.execute(text(stats))).scalar_one() == 120


async def test_reserve_reads_the_next_pending_of_a_channel_under_the_lease(store: Store) -> None:
    cid = await planned(store, 6)
    assert await store.acquire_lease(cid, "A", ttl=0.3)
    assert await store.settle(cid, "A", [], ["o-001"]) == {"o-001"}
    moved = [Outcome("o-001", "pending", channel="mass")]
    assert await store.settle(cid, "A", moved, ["o-002"]) == {"o-002"}
    first = await store.reserve(cid, "A", 2, channel="custom")
    assert [(r.openid, r.channel, r.attempts) for r in first] == [
        ("o-000", "custom", 0),
        ("o-003", "custom", 0),
    ]
    later = await store.reserve(cid, "A", 10, channel="custom", after="o-003")
    assert [r.openid for r in later] == ["o-004", "o-005"]
    assert [r.openid for r in await store.reserve(cid, "A", 10, channel="mass")] == ["o-001"]
    assert await store.reserve(cid, "B", 10, channel="custom") == []  # A's lease
    await asyncio.sleep(0.4)
    assert await store.reserve(cid, "A", 10, channel="custom") == []  # A's lease ran out
    assert (await rows(store, cid))["o-000"][0] == "pending"  # reserving writes nothing

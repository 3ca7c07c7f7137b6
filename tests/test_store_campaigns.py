"""Campaigns, the lease, claims, in-doubt deliveries and mass batches, against a real SQLite
file and the real PostgreSQL (a schema of its own per test).

Among them, what makes a broadcast exactly-once: a sender without a live lease cannot claim;
creating a campaign is create-or-get; sends in flight under a live lease are never in doubt;
a lease whose holder died (kill -9) is taken over at once.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.store.campaigns import CampaignFinished
from bot.store.deliveries import Outcome, PlannedDelivery
from bot.store.schema import subscribers
from bot.store.store import Store

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    opened = await Store.open(store_url)
    yield opened
    await opened.close()


def dead_owner() -> str:
    """A lease owner naming a process of this host that has exited."""
    child = subprocess.Popen(["true"])
    child.wait()
    return f"{socket.gethostname()}:{child.pid}:0"


async def test_a_finished_campaign_is_never_started_again(store: Store) -> None:
    campaign = await store.campaign_for("2020-04-26", "custom")
    assert (await store.campaign_for("2020-04-26", "custom")).id == campaign.id
    assert (await store.campaign_for("2020-04-26", "mass")).id != campaign.id
    running = await store.start_campaign(campaign.id)
    assert running.status == "running" and running.started_at is not None
    await store.end_campaign(campaign.id, "finished")
    with pytest.raises(CampaignFinished):
        await store.start_campaign(campaign.id)
    listed = await store.list_campaigns()
    assert [(c.issue, c.channel, c.status) for c, _ in listed] == [
        ("2020-04-26", "mass", "planned"),
        ("2020-04-26", "custom", "finished"),
    ]


async def bulk_subscribers(store: Store, count: int) -> None:
    rows = [
        {"openid": f"s-{i:06d}", "status": "active", "all_issues": True, "subscribed_at": T0}
        for i in range(count)
    ]
    async with store.write() as conn:
        await conn.execute(subscribers.insert(), rows)


async def test_planning_streams_10000_subscribers_in_pages(store: Store) -> None:
    await bulk_subscribers(store, 10_000)
    await store.subscribe("zz-topic", "量化")
    await store.unsubscribe_all("s-000003")
    campaign = await store.campaign_for("2020-04-26", "auto")
    pages: list[int] = []

    def decide(page):  # type: ignore[no-untyped-def]
        pages.append(len(page))
        for s in page:
            if s.all_issues:
                yield PlannedDelivery(s.openid, "mass", "full")
            else:
                yield PlannedDelivery(s.openid, "mass", "", "skipped", "no-match")

    assert await store.plan_deliveries(campaign.id, decide, page_size=1000) == 10_000
    assert max(pages) == 1000 and sum(pages) == 10_000 and len(pages) == 10
    assert await store.plan_deliveries(campaign.id, decide, page_size=1000) == 0
    counts = await store.campaign_counts(campaign.id)
    assert counts.by_status == {"pending": 9_999, "skipped": 1}
    planned = await store.campaign(campaign.id)
    assert planned is not None and planned.planned_at is not None


async def test_the_lease_keeps_two_stores_apart(store_url: str) -> None:
    a, b = await Store.open(store_url), await Store.open(store_url)
    try:
        campaign = await a.campaign_for("2020-04-26", "custom")
        assert await a.acquire_lease(campaign.id, "A", ttl=0.5)
        assert not await b.acquire_lease(campaign.id, "B", ttl=30)
        assert await a.renew_lease(campaign.id, "A", ttl=0.3)
        assert not await b.renew_lease(campaign.id, "B", ttl=30)
        await asyncio.sleep(0.4)  # A stops renewing: its lease runs out
        assert await b.acquire_lease(campaign.id, "B", ttl=30)
        assert not await a.renew_lease(campaign.id, "A", ttl=30)
        assert not await a.acquire_lease(campaign.id, "A", ttl=30)
        await b.release_lease(campaign.id, "B")
        assert await a.acquire_lease(campaign.id, "A", ttl=30)
    finally:
        await a.close()
        await b.close()


async def plan_all(store: Store, count: int) -> int:
    await bulk_subscribers(store, count)
    campaign = await store.campaign_for("2020-04-26", "custom")

    def decide(page):  # type: ignore[no-untyped-def]
        return [PlannedDelivery(s.openid, "custom", "full") for s in page]

    await store.plan_deliveries(campaign.id, decide)
    return campaign.id


async def test_claims_never_overlap_between_concurrent_claimers(store_url: str) -> None:
    a, b = await Store.open(store_url), await Store.open(store_url)
    try:
        cid = await plan_all(a, 2000)
        assert await a.acquire_lease(cid, "sender", ttl=60)

        async def drain(store: Store) -> list[str]:
            got: list[str] = []
            while batch := await store.claim_batch(cid, "sender", 37, channel="custom"):
                assert len(batch) <= 37
                got += [one.openid for one in batch]
            return got

        results = await asyncio.gather(drain(a), drain(b), drain(a), drain(b))
        everyone = [openid for got in results for openid in got]
        assert len(everyone) == len(set(everyone)) == 2000
        assert (await a.campaign_counts(cid)).by_status == {"sending": 2000}
        assert await b.claim_batch(cid, "someone-else", 10) == []
    finally:
        await a.close()
        await b.close()


async def test_results_in_doubt_and_retry(store: Store) -> None:
    cid = await plan_all(store, 10)
    assert await store.claim_batch(cid, "A", 5) == []  # no lease, no claim
    assert await store.acquire_lease(cid, "A", ttl=0.3)
    batch = await store.claim_batch(cid, "A", 6, batch_id="b-1")
    assert [c.openid for c in batch][:2] == ["s-000000", "s-000001"]
    assert {(c.attempts, c.batch_id) for c in batch} == {(1, "b-1")}
    outcomes = [
        Outcome("s-000000", "sent"),
        Outcome("s-000001", "failed", 40003, "invalid openid"),
        Outcome("s-000002", "skipped", 45015, "outside the window"),
        Outcome("s-000009", "sent"),  # not claimed: no change
        Outcome("s-000003", "pending", channel="mass"),  # not sent: back, on the mass lane
    ]
    assert await store.settle(cid, "A", outcomes, []) == set()
    assert await store.in_doubt(cid) == []  # A still holds the lease
    await asyncio.sleep(0.4)  # A "crashes": its lease runs out with two sends in flight
    assert await store.acquire_lease(cid, "B", ttl=30)
    assert [c.openid for c in await store.in_doubt(cid)] == ["s-000004", "s-000005"]
    counts = await store.campaign_counts(cid)
    assert counts.by_status == {"sent": 1, "failed": 1, "skipped": 1, "sending": 2, "pending": 5}
    assert counts.failed_by_errcode == {40003: 1} and counts.in_doubt == 2
    rest = await store.claim_batch(cid, "B", 100)
    assert [c.openid for c in rest] == ["s-000003", "s-000006", "s-000007", "s-000008", "s-000009"]
    assert rest[0].channel == "mass"
    assert await store.retry_in_doubt(cid) == 2
    again = await store.claim_batch(cid, "B", 100)
    assert [(c.openid, c.attempts, c.batch_id) for c in again] == [
        ("s-000004", 2, "b-1"),
        ("s-000005", 2, "b-1"),
    ]


async def test_mass_job_finish_updates_the_campaign_totals(store: Store) -> None:
    campaign = await store.campaign_for("2020-04-26", "mass")
    for batch, msg_id in (("1", "1000001"), ("2", "1000002")):
        await store.record_mass_job(
            campaign.id,
            batch,
            clientmsgid=f"nt-{campaign.id}-{batch}",
            digest_key="full",
            recipients=100,
            status="sent",
            msg_id=msg_id,
        )
    await store.record_mass_job_finish("1000001", "send success", 100, 98, 97, 1)
    await store.record_mass_job_finish("1000002", "send success", 100, 100, 100, 0)
    await store.record_mass_job_finish("999", "send fail", 5, 5, 0, 5)  # not ours
    done = await store.campaign(campaign.id)
    assert done is not None
    totals = (done.mass_status, done.mass_total, done.mass_filter, done.mass_sent)
    assert totals == ("send success", 200, 198, 197) and done.mass_errors == 1
    jobs = await store.mass_jobs(campaign.id)
    assert [(j["batch_id"], j["sent"]) for j in jobs] == [("1", 97), ("2", 100)]


async def test_campaign_for_is_create_or_get_even_when_two_race(store_url: str) -> None:
    a, b = await Store.open(store_url), await Store.open(store_url)
    try:
        got = await asyncio.gather(*(s.campaign_for("2020-05-03", "auto") for s in (a, b, a, b)))
        assert len({c.id for c in got}) == 1
        assert [c.issue for c, _ in await a.list_campaigns()] == ["2020-05-03"]
    finally:
        await a.close()
        await b.close()


async def test_no_claim_without_a_live_lease_of_ones_own(store: Store) -> None:
    cid = await plan_all(store, 6)
    assert await store.claim_batch(cid, "A", 5) == []  # never held one
    assert await store.acquire_lease(cid, "A", ttl=0.2)
    assert await store.claim_batch(cid, "B", 5) == []  # A's lease, not B's
    assert len(await store.claim_batch(cid, "A", 2)) == 2
    await asyncio.sleep(0.3)  # A's lease runs out without renewal
    assert await store.claim_batch(cid, "A", 5) == []
    assert (await store.campaign_counts(cid)).by_status == {"sending": 2, "pending": 4}


async def test_reserved_stays_pending_until_its_send_begins(store: Store) -> None:
    cid = await plan_all(store, 4)
    assert await store.reserve(cid, "A", 3, channel="custom") == []  # no lease
    assert await store.acquire_lease(cid, "A", ttl=30)
    reserved = await store.reserve(cid, "A", 3, channel="custom")
    assert [c.openid for c in reserved] == ["s-000000", "s-000001", "s-000002"]
    assert (await store.campaign_counts(cid)).by_status == {"pending": 4}
    assert await store.settle(cid, "A", [], ["s-000000"]) == {"s-000000"}
    begun = await store.settle(cid, "A", [Outcome("s-000000", "sent")], ["s-000001"])
    assert begun == {"s-000001"}
    counts = await store.campaign_counts(cid)
    assert counts.by_status == {"sent": 1, "sending": 1, "pending": 2}
    assert await store.settle(cid, "B", [], ["s-000002"]) == set()  # not B's lease


async def test_sends_in_flight_under_a_live_lease_are_never_in_doubt(store_url: str) -> None:
    sender, other = await Store.open(store_url), await Store.open(store_url)
    try:
        cid = await plan_all(sender, 5)
        assert await sender.acquire_lease(cid, "A", ttl=60)
        assert len(await sender.claim_batch(cid, "A", 3)) == 3
        # another process looking at the campaign while A sends: nothing is in doubt
        assert await other.in_doubt(cid) == []
        assert await other.retry_in_doubt(cid) == 0
        assert (await other.campaign_counts(cid)).in_doubt == 0
        done = [Outcome(f"s-00000{i}", "sent") for i in range(3)]
        await sender.settle(cid, "A", done, [])
        assert (await other.campaign_counts(cid)).by_status == {"sent": 3, "pending": 2}
    finally:
        await sender.close()
        await other.close()


async def test_a_dead_holders_lease_is_taken_over_at_once(store: Store) -> None:
    cid = await plan_all(store, 4)
    dead = dead_owner()
    assert await store.acquire_lease(cid, dead, ttl=300)
    assert len(await store.claim_batch(cid, dead, 2)) == 2  # then it is killed
    assert (await store.campaign_counts(cid)).in_doubt == 0  # its lease looks live...
    assert await store.end_dead_lease(cid)  # ...until its holder is found gone
    assert (await store.campaign_counts(cid)).in_doubt == 2
    assert await store.acquire_lease(cid, dead_owner(), ttl=300)
    assert await store.acquire_lease(cid, "B", ttl=30)  # and again, inside acquire_lease
    alive = f"{socket.gethostname()}:{os.getpid()}:0"
    assert not await store.acquire_lease(cid, alive, ttl=30)
    assert not await store.end_dead_lease(cid)  # B is no process of this host: kept


async def test_mass_batches_are_adopted_paged_and_closed(store: Store) -> None:
    await bulk_subscribers(store, 5)
    campaign = await store.campaign_for("2020-04-26", "mass")

    def decide(page):  # type: ignore[no-untyped-def]
        return [PlannedDelivery(s.openid, "mass", "full") for s in page]

    await store.plan_deliveries(campaign.id, decide)
    cid = campaign.id
    assert await store.pending_mass_keys(cid) == [("full", 5)]
    assert await store.next_batch_number(cid) == 1
    dead = dead_owner()
    assert await store.acquire_lease(cid, dead, ttl=300)
    assert len(await store.claim_batch(cid, dead, 3, channel="mass", batch_id="1")) == 3
    assert await store.acquire_lease(cid, "B", ttl=30)  # the dead sender's batch is B's now
    assert await store.adopt_mass_batches(cid, "B") == [("1", "full", 3)]
    assert await store.next_batch_number(cid) == 2
    pages = [page async for page in store.batch_pages(cid, "1", size=2)]
    assert pages == [["s-000000", "s-000001"], ["s-000002"]]
    assert await store.in_batch(cid, "1", ["s-000001", "s-000004"]) == {"s-000001"}
    assert await store.close_batch(cid, "1", "sent") == 3
    counts = await store.campaign_counts(cid)
    assert counts.by_status == {"sent": 3, "pending": 2} and counts.in_doubt == 0

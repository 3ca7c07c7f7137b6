"""The store against a real SQLite file and the real PostgreSQL (a schema of its own per test)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import asyncpg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from bot import migrations
from bot.schema import metadata, subscribers
from bot.store import InvalidInput, Store, StoreError, Subscriber
from bot.store_campaigns import CampaignFinished
from bot.store_deliveries import DeliveryResult, PlannedDelivery

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh database: an SQLite file, or a PostgreSQL schema created and dropped here."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/sub/store.db"
        return
    pg_url = request.getfixturevalue("pg_url")
    schema = f"nt_test_{uuid.uuid4().hex[:12]}"
    yield f"{pg_url}?schema={schema}"
    conn = await asyncpg.connect(pg_url)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


def state(sub: Subscriber | None) -> tuple[str, bool, list[str]] | None:
    return None if sub is None else (sub.status, sub.all_issues, sub.topics)


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    opened = await Store.open(store_url)
    yield opened
    await opened.close()


async def test_subscribing_to_every_issue_is_idempotent(store: Store) -> None:
    assert await store.subscribe("o-1") is True
    assert await store.subscribe("o-1") is False
    sub = await store.subscriber("o-1")
    assert sub is not None
    assert state(sub) == ("active", True, [])
    assert sub.subscribed_at.tzinfo is not None
    assert await store.unsubscribe("o-1") is True
    assert await store.unsubscribe("o-1") is False
    gone = await store.subscriber("o-1")
    assert gone is not None and (gone.status, gone.all_issues) == ("unsubscribed", False)
    assert await store.unsubscribe("never-seen") is False
    assert await store.subscriber("never-seen") is None


async def test_resubscribing_starts_a_new_subscription(store: Store) -> None:
    await store.subscribe("o-1")
    first = await store.subscriber("o-1")
    await store.unsubscribe("o-1")
    assert await store.subscribe("o-1") is True
    again = await store.subscriber("o-1")
    assert first is not None and again is not None
    assert again.status == "active" and again.subscribed_at > first.subscribed_at


async def test_a_topic_alone_makes_an_active_topic_only_subscriber(store: Store) -> None:
    assert await store.subscribe("o-1", "量化") is True
    assert await store.subscribe("o-1", " 量化 ") is False
    assert await store.subscribe("o-1", "TVM") is True
    sub = await store.subscriber("o-1")
    assert sub is not None
    assert state(sub) == ("active", False, ["tvm", "量化"])
    assert await store.unsubscribe("o-1", "tvm") is True
    assert await store.unsubscribe("o-1", "tvm") is False
    assert await store.unsubscribe("o-1") is False  # not subscribed to every issue
    assert await store.unsubscribe("o-1", "量化") is True
    sub = await store.subscriber("o-1")
    assert sub is not None and (sub.status, sub.topics) == ("unsubscribed", [])


async def test_topics_and_every_issue_live_side_by_side(store: Store) -> None:
    await store.subscribe("o-1")
    assert await store.subscribe("o-1", "量化") is True
    sub = await store.subscriber("o-1")
    assert sub is not None and sub.all_issues and sub.topics == ["量化"]
    assert await store.unsubscribe("o-1") is True  # leaves every issue, keeps the topic
    assert state(await store.subscriber("o-1")) == ("active", False, ["量化"])
    assert await store.subscribe("o-1") is True
    sub = await store.subscriber("o-1")
    assert sub is not None and sub.all_issues and sub.topics == ["量化"]


async def test_unfollow_leaves_everything_and_keeps_the_row(store: Store) -> None:
    await store.subscribe("o-1")
    await store.subscribe("o-1", "量化")
    await store.subscribe("o-1", "npu")
    await store.unsubscribe_all("o-1")
    await store.unsubscribe_all("o-1")
    await store.unsubscribe_all("never-seen")
    assert state(await store.subscriber("o-1")) == ("unsubscribed", False, [])
    assert await store.subscribe("o-1", "npu") is True
    assert state(await store.subscriber("o-1")) == ("active", False, ["npu"])


async def test_bad_openids_and_topics_are_refused(store: Store) -> None:
    for openid in ("", "a b", "x" * 65, "o<1>"):
        with pytest.raises(InvalidInput):
            await store.subscribe(openid)
    for topic in ("", "   ", "t" * 21, "two words"):
        with pytest.raises(InvalidInput):
            await store.subscribe("o-1", topic)
    assert await store.subscriber("o-1") is None


async def test_touch_records_many_in_one_call_and_only_moves_forward(store: Store) -> None:
    many = {f"o-{i:05d}": T0 + timedelta(seconds=i) for i in range(2500)}
    await store.subscribe("o-00007")
    await store.touch(many)
    sub = await store.subscriber("o-00007")
    assert sub is not None and sub.last_interaction == T0 + timedelta(seconds=7)
    await store.touch({"o-00007": T0 - timedelta(days=1), "bad openid": T0})
    sub = await store.subscriber("o-00007")
    assert sub is not None and sub.last_interaction == T0 + timedelta(seconds=7)
    later = datetime(2024, 5, 2, 10, 0, tzinfo=timezone(timedelta(hours=8)))
    await store.touch({"o-00007": later})
    sub = await store.subscriber("o-00007")
    assert sub is not None and sub.last_interaction == later
    assert sub.last_interaction.utcoffset() == timedelta(0)
    await store.subscribe("o-02499")  # touched before subscribing: the time is kept
    late = await store.subscriber("o-02499")
    assert late is not None and late.last_interaction == T0 + timedelta(seconds=2499)
    with pytest.raises(ValueError):
        await store.touch({"o-1": datetime(2024, 5, 1, 8, 0)})


async def test_listing_and_counts(store: Store) -> None:
    await store.subscribe("b-2")
    await store.subscribe("a-1", "量化")
    await store.subscribe("c-3", "量化")
    await store.subscribe("c-3", "npu")
    await store.subscribe("d-4")
    await store.unsubscribe_all("d-4")
    listed = await store.list_subscribers()
    assert [s.openid for s in listed] == ["a-1", "b-2", "c-3", "d-4"]
    assert [s.topics for s in listed] == [["量化"], [], ["npu", "量化"], []]
    counts = await store.subscriber_counts()
    assert (counts.active, counts.unsubscribed) == (3, 1)
    assert counts.topics == {"量化": 2, "npu": 1}
    pages = [page async for page in store.subscriber_pages(active_only=True, page_size=2)]
    assert [[s.openid for s in page] for page in pages] == [["a-1", "b-2"], ["c-3"]]


async def test_migrations_are_idempotent_and_match_the_tables(store_url: str) -> None:
    first = await Store.open(store_url)
    await first.close()
    again = await Store.open(store_url)
    try:
        async with again.read() as conn:
            revision = await conn.run_sync(migrations.current)
            diff = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
            )
        assert revision == migrations.head()
        assert diff == []
    finally:
        await again.close()


async def test_concurrent_opens_migrate_once(store_url: str) -> None:
    stores = await asyncio.gather(*(Store.open(store_url) for _ in range(4)))
    try:
        results = await asyncio.gather(*(s.subscribe("o-1") for s in stores))
        assert sorted(results) == [False, False, False, True]
    finally:
        for s in stores:
            await s.close()


async def test_unusable_urls_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"storage\.url must be"):
        await Store.open("mysql://localhost/db")
    with pytest.raises(StoreError, match="needs a file"):
        await Store.open("sqlite:///:memory:")
    with pytest.raises(StoreError, match="cannot open the store at postgresql") as refused:
        await Store.open("postgresql://nobody:secret@127.0.0.1:1/none")
    assert "secret" not in str(refused.value) and "\n" not in str(refused.value)
    assert not list(tmp_path.iterdir())
    (tmp_path / "a-file").write_text("")
    with pytest.raises(StoreError, match=r"cannot create .*a-file/sub for storage\.url"):
        await Store.open(f"sqlite:///{tmp_path}/a-file/sub/store.db")


async def test_access_token_round_trip(store: Store) -> None:
    assert await store.load_token() is None
    await store.save_token("tok-1", T0)
    await store.save_token("tok-2", T0 + timedelta(hours=2))
    assert await store.load_token() == ("tok-2", T0 + timedelta(hours=2))


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


async def add_subscribers(store: Store, count: int) -> None:
    rows = [
        {"openid": f"s-{i:06d}", "status": "active", "all_issues": True, "subscribed_at": T0}
        for i in range(count)
    ]
    async with store.write() as conn:
        await conn.execute(subscribers.insert(), rows)


async def test_planning_streams_10000_subscribers_in_pages(store: Store) -> None:
    await add_subscribers(store, 10_000)
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
    await add_subscribers(store, count)
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
    await store.mark_results(
        cid,
        "A",
        [
            DeliveryResult("s-000000", "sent"),
            DeliveryResult("s-000001", "failed", 40003, "invalid openid"),
            DeliveryResult("s-000002", "skipped", 45015, "outside the window"),
            DeliveryResult("s-000009", "sent"),  # not claimed: no change
        ],
    )
    await store.release(cid, "A", ["s-000003"], channel="mass")
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

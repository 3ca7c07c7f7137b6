"""The store against a real SQLite file and the real PostgreSQL (a schema of its own per test).

Subscribers, migrations and the token here; campaigns, leases and deliveries in
tests/test_store_campaigns.py.
"""

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

from bot.store import migrations
from bot.store.schema import metadata
from bot.store.store import InvalidInput, Store, StoreError, Subscriber

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


async def test_first_opens_of_a_new_sqlite_file_at_once_all_succeed(tmp_path: Path) -> None:
    """Four stores opening a new file at once, many times: none may fail (SQLite refuses a
    journal-mode switch at once while another connection makes it; alembic is process-global)."""
    for round_ in range(40):
        url = f"sqlite:///{tmp_path}/new-{round_}.db"
        stores = await asyncio.gather(*(Store.open(url) for _ in range(4)))
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

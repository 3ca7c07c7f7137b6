"""Fixtures and helpers shared by the broadcast tests: a test index, a store per backend, the fake.

Import the fixtures into a test module with `from broadcast_support import ...` (pytest puts
tests/ on sys.path). fresh_store_url makes the databases of conftest's `store_url` fixture, which
runs a test against SQLite and against PostgreSQL (in a schema of its own, dropped afterwards;
skipped without NEURALTALK_TEST_PG_URL).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.config import Settings
from bot.store.store import Store

ISSUE = "2020-04-26"
ISSUE_URL = "https://example.org/report/{date}.md"


def _pg_async(url: str) -> str:
    return url.replace("postgresql://", "postgresql+asyncpg://", 1)


async def _pg_schema(pg_url: str, name: str, create: bool) -> None:
    engine = create_async_engine(_pg_async(pg_url))
    try:
        async with engine.begin() as conn:
            verb = f"CREATE SCHEMA {name}" if create else f"DROP SCHEMA IF EXISTS {name} CASCADE"
            await conn.execute(text(verb))
    finally:
        await engine.dispose()


def fresh_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """For a fixture parametrized sqlite/postgresql: a fresh, empty database URL, an SQLite
    file or a PostgreSQL schema of its own (dropped afterwards)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'neuraltalk.db'}"
        return
    pg_url = request.getfixturevalue("pg_url")
    name = f"bt_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_schema(pg_url, name, create=True))
    try:
        yield f"{pg_url}?schema={name}"
    finally:
        asyncio.run(_pg_schema(pg_url, name, create=False))


def make_settings(index: Path, store_url: str, api_url: str, **wechat: Any) -> Settings:
    return Settings().replace(
        archive={"index_dir": str(index), "issue_url": ISSUE_URL},
        storage={"url": store_url},
        wechat={"api_base_url": api_url, "appid": "wxtest", "secret": "s3cret", **wechat},
        broadcast={"concurrency": 8},
    )


async def add_subscribers(
    store: Store,
    count: int,
    prefix: str = "o",
    topic: str | None = None,
    last_interaction: timedelta | None = timedelta(hours=1),
) -> list[str]:
    """`count` subscribers (openids prefix0000…), inside the window unless told otherwise."""
    openids = [f"{prefix}{i:05d}" for i in range(count)]
    for openid in openids:
        await store.subscribe(openid, topic)
    if last_interaction is not None:
        now = datetime.now(UTC)
        await store.touch({o: now - last_interaction for o in openids})
    return openids


async def seed_subscribers(url: str, count: int, prefix: str = "o") -> list[str]:
    """add_subscribers on the store at `url`, opened and closed around it."""
    store = await Store.open(url)
    try:
        return await add_subscribers(store, count, prefix)
    finally:
        await store.close()


async def mock_log(url: str) -> list[dict[str, Any]]:
    """Every message the fake received (over HTTP, as another process would read it)."""
    records: list[dict[str, Any]] = []
    async with aiohttp.ClientSession() as session:
        while True:
            params = {"offset": str(len(records)), "limit": "10000"}
            async with session.get(f"{url}/_mock/log", params=params) as resp:
                page = await resp.json()
            records.extend(page["records"])
            if not page["records"] or len(records) >= page["total"]:
                return records


async def set_faults(url: str, **faults: Any) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{url}/_mock/faults", json=faults) as resp,
    ):
        assert resp.status == 200, await resp.text()


def received(records: list[dict[str, Any]]) -> dict[str, int]:
    """How many messages each openid received."""
    counts: dict[str, int] = {}
    for record in records:
        if record.get("openid"):
            counts[record["openid"]] = counts.get(record["openid"], 0) + 1
    return counts


async def open_store(url: str) -> AsyncIterator[Store]:
    store = await Store.open(url)
    try:
        yield store
    finally:
        await store.close()

"""The webhook application's resources: a new index generation is picked up with no traffic."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from wechat_messages import settings_for

from bot.chat.app import create_app
from bot.store.store import Store
from index.ingest import ingest

ROOT = Path(__file__).resolve().parent.parent
Client = Callable[[web.Application], Awaitable[TestClient]]


async def _health_until(client: TestClient, issues: int, seconds: float) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        health = await (await client.get("/healthz")).json()
        if health.get("issues") == issues or time.monotonic() > deadline:
            return health
        await asyncio.sleep(0.05)


async def test_an_ingest_is_picked_up_with_no_message_sent(
    store: Store, aiohttp_client: Client, tmp_path: Path, corpus_dir: Path
) -> None:
    index_dir = tmp_path / "index"
    ingest(index_dir, [ROOT / "issues" / "2020-04-26.md"])
    app = create_app(settings_for(index_dir, tmp_path / "nt.db"), store=store)
    client = await aiohttp_client(app)
    assert (await (await client.get("/healthz")).json())["issues"] == 1
    shutil.copy(corpus_dir / "2021-08-01.md", tmp_path / "2021-08-01.md")
    await asyncio.to_thread(ingest, index_dir, [tmp_path / "2021-08-01.md"])
    health = await _health_until(client, 2, seconds=10.0)  # only /healthz: no message at all
    assert health["status"] == "ok" and health["issues"] == 2


async def test_the_first_index_is_opened_with_no_message_sent(
    store: Store, aiohttp_client: Client, tmp_path: Path
) -> None:
    index_dir = tmp_path / "index"
    client = await aiohttp_client(
        create_app(settings_for(index_dir, tmp_path / "nt.db"), store=store)
    )
    assert (await client.get("/healthz")).status == 503
    await asyncio.to_thread(ingest, index_dir, [ROOT / "issues" / "2020-04-26.md"])
    health = await _health_until(client, 1, seconds=10.0)
    assert health["status"] == "ok" and health["entries"] > 10

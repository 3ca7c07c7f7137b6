"""Bounded connections over real sockets: slow clients cannot keep followers out."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
import time
from pathlib import Path

import aiohttp
from wechat_messages import TOKEN, settings_for

from bot.chat.app import CONNECTIONS, WEBHOOK, create_app
from bot.chat.server import serve
from bot.store.store import Store
from bot.wechat.follower import Follower
from index.search import Archive

SLOW = 300


async def test_normal_traffic_is_answered_while_slow_sockets_hang(
    store: Store, sample_index: Path, tmp_path: Path
) -> None:
    app = create_app(settings_for(tmp_path, "x"), Archive.open(sample_index), store)
    guard = app[CONNECTIONS]
    guard.limit, guard.idle_timeout = 100, 1.0  # fewer than the slow sockets
    async with serve(app, "127.0.0.1", 0) as port:
        slow = []
        for _ in range(SLOW):  # a request line, then nothing
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"POST /wechat?signature=x HTTP/1.1\r\nHost: x\r\n")
            slow.append((reader, writer))
        who = Follower(TOKEN)
        url = f"http://127.0.0.1:{port}/wechat"
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
            for i in range(20):
                push = who.push(who.text(f"oReader{i}", "帮助"))
                async with http.post(url, params=push.params, data=push.body) as response:
                    assert response.status == 200
                    assert "最新" in (who.reply_text(await response.read()) or "")
        closed = 0
        for reader, writer in slow:  # every slow socket is closed by the server
            with contextlib.suppress(ConnectionError):
                closed += await asyncio.wait_for(reader.read(), 30) == b""
            writer.close()
        assert closed == SLOW
        assert len(guard) == 0


async def test_a_body_that_never_comes_is_408(
    store: Store, sample_index: Path, tmp_path: Path
) -> None:
    app = create_app(settings_for(tmp_path, "x"), Archive.open(sample_index), store)
    app[WEBHOOK].body_timeout = 0.5
    async with serve(app, "127.0.0.1", 0) as port:
        who = Follower(TOKEN)
        push = who.push(who.text("oReader", "订阅"))
        query = "&".join(f"{k}={v}" for k, v in push.params.items())
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        head = f"POST /wechat?{query} HTTP/1.1\r\nHost: x\r\nContent-Length: 900\r\n\r\n"
        writer.write(head.encode() + push.body[:10])
        status = await asyncio.wait_for(reader.readline(), 30)
        writer.close()
    assert status.split()[1] == b"408"
    assert await store.subscriber("oReader") is None


async def test_a_request_in_progress_outlives_the_idle_timeout(
    store: Store, sample_index: Path, tmp_path: Path
) -> None:
    """A reply that waits for a locked store (longer than the idle timeout, within the
    deadline) reaches the follower: the connection is not closed while it is busy."""
    app = create_app(settings_for(tmp_path, "x"), Archive.open(sample_index), store)
    guard = app[CONNECTIONS]
    guard.idle_timeout = 0.3
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        conn = sqlite3.connect(tmp_path / "nt.db", isolation_level=None)
        conn.execute("BEGIN EXCLUSIVE")
        locked.set()
        release.wait(10)
        conn.execute("COMMIT")
        conn.close()

    holder = threading.Thread(target=hold)
    holder.start()
    locked.wait()
    try:
        async with serve(app, "127.0.0.1", 0) as port:
            who = Follower(TOKEN)
            push = who.push(who.text("oPatient", "订阅"))
            url = f"http://127.0.0.1:{port}/wechat"
            async with aiohttp.ClientSession() as http:
                request = asyncio.ensure_future(http.post(url, params=push.params, data=push.body))
                await asyncio.sleep(1.2)  # four idle checks while the store is locked
                assert not request.done()
                started = time.monotonic()
                release.set()
                async with await request as response:
                    assert response.status == 200
                    assert "订阅成功" in (who.reply_text(await response.read()) or "")
                assert time.monotonic() - started < 2.0
    finally:
        release.set()
        holder.join()

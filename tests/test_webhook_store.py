"""The webhook's writes over real HTTP: a burst of 订阅 fully stored (SQLite and PostgreSQL),
unfollows not answered `success` while the store is locked, a deleted store file refused, late
replies sent by customer-service message, voice messages answered as their Recognition."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from wechat_messages import APPID, TOKEN, WeChat, settings_for

from bot.chat import texts
from bot.chat.app import WEBHOOK, create_app
from bot.config import Settings
from bot.fake_wechat.server import MockWeChat
from bot.store.store import Store
from bot.wechat.follower import Follower, Push
from index.search import Archive

Client = Callable[[web.Application], Awaitable[TestClient]]
Server = Callable[[web.Application], Awaitable[TestServer]]


@pytest.fixture
def archive(sample_index: Path) -> Archive:
    return Archive.open(sample_index)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """A fresh store: an SQLite file, or a PostgreSQL schema of its own (dropped after)."""
    if request.param == "sqlite":
        store = await Store.open(f"sqlite:///{tmp_path / 'burst.db'}")
        yield store
        await store.close()
        return
    import asyncpg

    pg_url = request.getfixturevalue("pg_url")
    schema = f"nt_test_{uuid.uuid4().hex[:12]}"
    store = await Store.open(f"{pg_url}?schema={schema}")
    yield store
    await store.close()
    conn = await asyncpg.connect(pg_url)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


async def test_a_burst_of_subscribes_is_fully_stored_with_no_busy_reply(
    any_store: Store, aiohttp_server: Server, archive: Archive, tmp_path: Path
) -> None:
    server = await aiohttp_server(create_app(settings_for(tmp_path, "x.db"), archive, any_store))
    url = str(server.make_url("/wechat"))
    who = Follower(TOKEN)
    pushes = [who.push(who.text(f"oBurst{i:05d}", "订阅")) for i in range(3000)]
    replies: list[str | None] = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=500)) as http:

        async def one(push: Push) -> None:
            async with http.post(url, params=push.params, data=push.body) as response:
                replies.append(who.reply_text(await response.read()))

        await asyncio.gather(*(one(p) for p in pushes))
    assert sum(1 for r in replies if r is not None and "订阅成功" in r) == 3000
    assert (await any_store.subscriber_counts()).active == 3000


def hold_lock(db: Path, seconds: float) -> threading.Thread:
    """Another process's view: the SQLite file locked (BEGIN EXCLUSIVE) for `seconds`."""
    locked = threading.Event()

    def run() -> None:
        conn = sqlite3.connect(db, isolation_level=None)
        conn.execute("BEGIN EXCLUSIVE")
        locked.set()
        time.sleep(seconds)
        conn.execute("COMMIT")
        conn.close()

    thread = threading.Thread(target=run)
    thread.start()
    locked.wait()
    return thread


async def fast_webhook(
    aiohttp_client: Client, settings: Settings, archive: Archive, store: Store, wait: float
) -> WeChat:
    app = create_app(settings, archive, store)
    app[WEBHOOK].deadline = 0.5  # WeChat's 4.5 s, shortened for the test
    app[WEBHOOK].deps.store_timeout = wait
    return WeChat(await aiohttp_client(app))


async def test_unfollows_while_the_store_is_locked_are_not_answered_success(
    aiohttp_client: Client, store: Store, archive: Archive, tmp_path: Path
) -> None:
    settings = settings_for(tmp_path, tmp_path / "nt.db")
    wechat = await fast_webhook(aiohttp_client, settings, archive, store, 0.4)
    followers = [f"oLeaving{i:02d}" for i in range(20)]
    for openid in followers:
        await wechat.say("订阅 量化", openid=openid)
    now = int(time.time())
    unfollows = [wechat.follower.event(o, "unsubscribe", create_time=now) for o in followers]
    locker = hold_lock(tmp_path / "nt.db", 2.0)
    answers = await asyncio.gather(*(wechat.send_xml(xml) for xml in unfollows))
    newcomers = await asyncio.gather(*(wechat.say("订阅", f"oNew{i}") for i in range(10)))
    assert {a.status for a in answers} == {503}
    assert {a.text for a in newcomers} == {texts.STORE_BUSY}
    await asyncio.to_thread(locker.join)
    retried = await asyncio.gather(*(wechat.send_xml(xml) for xml in unfollows))  # WeChat retries
    assert {(a.status, a.body) for a in retried} == {(200, "success")}
    for openid in followers:
        subscriber = await store.subscriber(openid)
        assert subscriber is not None and subscriber.status == "unsubscribed"
    assert await store.subscriber("oNew0") is None  # told it did not work: not stored


async def test_a_deleted_or_replaced_store_file_is_refused_loudly(
    aiohttp_client: Client, store: Store, archive: Archive, tmp_path: Path
) -> None:
    wechat = WeChat(await aiohttp_client(create_app(settings_for(tmp_path, "x"), archive, store)))
    before = await wechat.say("订阅", openid="oBefore")
    assert before.text is not None and "订阅成功" in before.text
    assert (await wechat.client.get("/healthz")).status == 200
    db = tmp_path / "nt.db"
    for name in ("nt.db", "nt.db-wal", "nt.db-shm"):
        (tmp_path / name).unlink(missing_ok=True)
    after = await wechat.say("订阅", openid="oAfter")
    assert after.text == texts.STORE_BUSY
    response = await wechat.client.get("/healthz")
    health = await response.json()
    assert response.status == 503 and "deleted" in health["reason"] and health["status"] != "ok"
    sqlite3.connect(db).close()  # another file now in its place
    replaced = await wechat.say("订阅", openid="oReplaced")
    assert replaced.text == texts.STORE_BUSY
    health = await (await wechat.client.get("/healthz")).json()
    assert "replaced" in health["reason"]
    assert (await wechat.say("帮助")).status == 200  # still serving


async def test_a_late_reply_is_sent_once_by_customer_service(
    aiohttp_client: Client, store: Store, archive: Archive, tmp_path: Path, mock: MockWeChat
) -> None:
    settings = settings_for(tmp_path, tmp_path / "nt.db", api_base_url=mock.url, secret="s3")
    wechat = await fast_webhook(aiohttp_client, settings, archive, store, 30.0)
    xml = wechat.follower.text("oPatient", "订阅")
    locker = hold_lock(tmp_path / "nt.db", 1.5)
    first = await wechat.send_xml(xml)
    retry = await wechat.send_xml(xml)  # WeChat's retry while the reply is still coming
    assert (first.status, first.body) == (200, "success")
    assert (retry.status, retry.body) == (200, "success")
    await asyncio.to_thread(locker.join)
    for _ in range(200):
        sent = [r for r in mock.log if r.openid == "oPatient" and r.channel == "custom"]
        if sent:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)
    sent = [r for r in mock.log if r.openid == "oPatient" and r.channel == "custom"]
    assert len(sent) == 1 and "订阅成功" in sent[0].content
    subscriber = await store.subscriber("oPatient")
    assert subscriber is not None and subscriber.all_issues
    assert APPID  # the fake API accepted the account's appid and secret


async def test_a_voice_message_is_answered_as_its_recognition(
    aiohttp_client: Client, store: Store, archive: Archive, tmp_path: Path
) -> None:
    wechat = WeChat(await aiohttp_client(create_app(settings_for(tmp_path, "x"), archive, store)))
    who, now = wechat.follower, int(time.time())
    fields = {"MediaId": "m1", "Format": "amr", "MsgId": "501"}
    said = await wechat.send_xml(
        who.message_xml("oVoice", "voice", now, Recognition="订阅。", **fields)
    )
    assert said.text is not None and "订阅成功" in said.text
    typed = await wechat.say("量化", openid="oTyped")
    spoken = who.message_xml(
        "oVoice", "voice", now, Recognition="量化！", **{**fields, "MsgId": "502"}
    )
    assert (await wechat.send_xml(spoken)).text == typed.text
    silent = who.message_xml("oVoice", "voice", now, **{**fields, "MsgId": "503"})
    assert (await wechat.send_xml(silent)).text == texts.NOT_TEXT


async def test_the_store_it_opens_itself_is_checked_from_its_first_write(
    aiohttp_client: Client, archive: Archive, tmp_path: Path
) -> None:
    app = create_app(settings_for(tmp_path, tmp_path / "own" / "nt.db"), archive)
    wechat = WeChat(await aiohttp_client(app))
    answer = await wechat.say("订阅")
    assert answer.text is not None and "订阅成功" in answer.text
    response = await wechat.client.get("/healthz")
    assert response.status == 200 and (await response.json())["status"] == "ok"
    store = app[WEBHOOK].deps.store
    assert store is not None and (await store.subscriber_counts()).active == 1

"""Two real `neuraltalk serve` processes, A and B, sharing Redis and PostgreSQL behave as one
server (bot/chat/redis_state.py): retries, 更多, replays and subscriptions across them; and two
API clients renewing the access_token at once fetch it once under the Redis lock."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import aiohttp
import pytest
from broadcast_support import _pg_schema
from scale_support import Bot, Server, base_env, bot, delete_prefix, metric, new_prefix
from wechat_api_support import FAST, SECRET, set_faults

from bot.chat import texts
from bot.fake_wechat.server import MockWeChat
from bot.shared import Shared, token_lock
from bot.store.store import Store
from bot.wechat.access_token import MemoryTokenStore
from bot.wechat.api import WeChatAPI

__all__ = ["bot"]  # the fixture, imported


@pytest.fixture(scope="module")
def store_url(pg_url: str) -> Iterator[str]:
    name = f"sc_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_schema(pg_url, name, create=True))
    yield f"{pg_url}?schema={name}"
    asyncio.run(_pg_schema(pg_url, name, create=False))


@pytest.fixture(scope="module")
def prefix(redis_url: str) -> Iterator[str]:
    prefix = new_prefix()
    yield prefix
    delete_prefix(redis_url, prefix)


@pytest.fixture(scope="module")
def pair(
    corpus_index: Path,
    store_url: str,
    redis_url: str,
    prefix: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Server, Server]]:
    cwd = tmp_path_factory.mktemp("pair")
    env = base_env(corpus_index, store_url, redis_url, prefix)
    a, b = Server(env, cwd).start(wait=False), Server(env, cwd).start(wait=False)
    a.wait_healthy()
    b.wait_healthy()
    yield a, b
    assert a.stop() == 0 and b.stop() == 0


async def metrics_of(bot: Bot, server: Server) -> str:
    async with bot.session.get(f"{server.url}/metrics") as response:
        return await response.text()


async def test_a_retry_landing_on_the_other_process_gets_the_same_reply_and_no_second_effect(
    pair: tuple[Server, Server], bot: Bot, store_url: str
) -> None:
    a, b = pair
    joined_before = metric(await metrics_of(bot, b), "neuraltalk_retries_joined_total")
    push = bot.text("oRetryAcross", "订阅 量化")
    first = await bot.post(a.url, push)
    retry = await bot.post(b.url, push)  # WeChat resends the same signed request
    assert first == retry == (200, "已订阅主题「量化」：新一期有相关内容时通知你。")
    assert metric(await metrics_of(bot, b), "neuraltalk_retries_joined_total") == joined_before + 1
    # both at once: one of them does the work, the other waits for its reply
    push = bot.text("oRetryAcross", "退订 量化")
    replies = await asyncio.gather(bot.post(a.url, push), bot.post(b.url, push))
    assert replies[0] == replies[1] == (200, "已退订主题「量化」。")
    store = await Store.open(store_url)
    try:
        subscriber = await store.subscriber("oRetryAcross")
    finally:
        await store.close()
    assert subscriber is not None and subscriber.topics == []


async def test_more_sent_to_b_continues_a_search_made_on_a(
    pair: tuple[Server, Server], bot: Bot
) -> None:
    a, b = pair
    first = await bot.say(a.url, "oPager", "量化")
    assert first is not None
    numbers = [int(n) for n in re.findall(r"^(\d+)\. ", first, re.M)]
    assert numbers and numbers == list(range(1, len(numbers) + 1))
    more = await bot.say(b.url, "oPager", "更多")
    assert more is not None
    following = [int(n) for n in re.findall(r"^(\d+)\. ", more, re.M)]
    assert following and following[0] == numbers[-1] + 1, more
    again = await bot.say(a.url, "oPager", "更多")  # and back on A, the page B left
    assert again is not None and int(re.findall(r"^(\d+)\. ", again, re.M)[0]) == following[-1] + 1


async def test_a_replayed_url_with_another_body_is_refused_by_the_other_process(
    pair: tuple[Server, Server], bot: Bot
) -> None:
    a, b = pair
    push = bot.text("oReplayed", "帮助")
    assert (await bot.post(a.url, push))[0] == 200
    forged = bot.text("oReplayed", "订阅")
    status, _ = await bot.post(b.url, type(push)(push.params, forged.body))
    assert status == 403


async def test_100_concurrent_subscribes_split_across_a_and_b_are_each_stored_once(
    pair: tuple[Server, Server], bot: Bot, store_url: str
) -> None:
    a, b = pair
    pushes = [bot.text(f"oCrowd{n:03d}", "订阅") for n in range(100)]
    # each message goes to one of them, and its retry to the other
    sends = [bot.post((a, b)[n % 2].url, p) for n, p in enumerate(pushes)]
    sends += [bot.post((b, a)[n % 2].url, p) for n, p in enumerate(pushes)]
    replies = await asyncio.gather(*sends)
    assert all(r == (200, texts.subscribed(None, changed=True)) for r in replies)
    store = await Store.open(store_url)
    try:
        crowd = [s async for page in store.subscriber_pages(page_size=500) for s in page
                 if s.openid.startswith("oCrowd")]  # fmt: skip
    finally:
        await store.close()
    assert sorted(s.openid for s in crowd) == [f"oCrowd{n:03d}" for n in range(100)]
    assert all(s.status == "active" and s.all_issues for s in crowd)


async def test_two_processes_renewing_the_token_at_once_fetch_it_once(
    mock: MockWeChat, redis_url: str, redis_prefix: str
) -> None:
    set_faults(mock, latency=0.05)  # both processes miss the stored token: they race
    shared_store = MemoryTokenStore()  # the store both processes read (PostgreSQL in production)

    async def both(lock: bool) -> int:
        before = mock.token_calls
        shared = [Shared(redis_url, redis_prefix) for _ in range(2)]  # a connection each
        async with aiohttp.ClientSession() as session:
            apis = [
                WeChatAPI(session, mock.url, "wx-test", SECRET, shared_store, retry=FAST,
                          token_lock=partial(token_lock, s) if lock else None)
                for s in shared
            ]  # fmt: skip
            await asyncio.gather(*(api.send_text(f"o{n}", "hi") for n, api in enumerate(apis)))
        for s in shared:
            await s.close()
        shared_store.value = None
        return mock.token_calls - before

    assert await both(lock=False) == 2  # what the lock is for
    assert await both(lock=True) == 1


async def test_two_broadcasts_renewing_at_once_fetch_the_token_once(
    mock: MockWeChat, redis_url: str, redis_prefix: str
) -> None:
    """`neuraltalk broadcast` (bot.broadcast.run.wechat_api) takes the Redis lock the webhook's
    processes take, so that a renewal cannot revoke the token another process just fetched."""
    from bot.broadcast.run import wechat_api
    from bot.config import Settings

    set_faults(mock, latency=0.05)  # both miss the stored token: they race
    store = MemoryTokenStore()  # the token row both read (the store's, in production)
    settings = Settings().replace(
        wechat={"api_base_url": mock.url, "appid": "wx-test", "secret": SECRET},
        redis={"url": redis_url, "prefix": redis_prefix},
    )
    before = mock.token_calls
    async with (
        wechat_api(settings, store, 1) as first,  # type: ignore[arg-type]
        wechat_api(settings, store, 1) as second,  # type: ignore[arg-type]
    ):
        await asyncio.gather(first.send_text("o1", "hi"), second.send_text("o2", "hi"))
    assert mock.token_calls - before == 1

"""Nothing forged, bad input refused: wechat.mode, replayed URLs, retries per follower, and
malformed timestamps, openids and mass-send totals, over real HTTP (bot/chat/verify.py)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from wechat_messages import WeChat, settings_for

from bot.chat.app import create_app
from bot.store.store import Store
from bot.wechat.follower import Follower, Push
from bot.wechat.protocol import signature
from index.search import Archive

Client = Callable[[web.Application], Awaitable[TestClient]]


@pytest.fixture
def archive(sample_index: Path) -> Archive:
    return Archive.open(sample_index)


async def webhook(
    aiohttp_client: Client, store: Store, archive: Archive, tmp_path: Path, **wechat: str
) -> WeChat:
    safe = bool(wechat.pop("safe", ""))
    settings = settings_for(tmp_path, tmp_path / "nt.db", safe=safe, **wechat)
    return WeChat(await aiohttp_client(create_app(settings, archive, store)), safe=safe)


async def test_safe_mode_refuses_plaintext_requests(
    aiohttp_client: Client, store: Store, archive: Archive, tmp_path: Path
) -> None:
    wechat = await webhook(aiohttp_client, store, archive, tmp_path, safe="yes")
    plain = Follower("test-token")  # signed with the token, but the body is not covered
    for xml in (plain.text("oVictim", "订阅"), plain.event("oVictim", "unsubscribe")):
        answer = await wechat.post(plain.push(xml))
        assert answer.status == 403
    assert await store.subscriber("oVictim") is None
    assert (await wechat.say("订阅", openid="oVictim")).status == 200  # encrypted: fine
    assert await store.subscriber("oVictim") is not None


async def test_compatible_mode_still_reads_plaintext(
    aiohttp_client: Client, store: Store, archive: Archive, tmp_path: Path
) -> None:
    wechat = await webhook(aiohttp_client, store, archive, tmp_path, safe="yes", mode="compatible")
    plain = Follower("test-token")
    answer = await wechat.post(plain.push(plain.text("oReader", "订阅")))
    assert answer.status == 200 and "订阅成功" in answer.body


async def test_a_signed_url_replayed_with_another_body_is_refused(
    aiohttp_client: Client, store: Store, archive: Archive, tmp_path: Path
) -> None:
    wechat = await webhook(aiohttp_client, store, archive, tmp_path)
    first = wechat.follower.push(wechat.follower.text("oReader", "订阅"))
    assert (await wechat.post(first)).status == 200
    assert (await wechat.post(first)).status == 200  # WeChat's retry: the same body
    forged = Push(first.params, wechat.follower.text("oReader", "退订").encode())
    assert (await wechat.post(forged)).status == 403
    unfollow = Push(first.params, wechat.follower.event("oReader", "unsubscribe").encode())
    assert (await wechat.post(unfollow)).status == 403
    subscriber = await store.subscriber("oReader")
    assert subscriber is not None and subscriber.status == "active" and subscriber.all_issues


async def test_the_same_msg_id_from_two_followers_is_two_messages(
    aiohttp_client: Client, store: Store, archive: Archive, tmp_path: Path
) -> None:
    wechat = await webhook(aiohttp_client, store, archive, tmp_path)
    await wechat.say("订阅", openid="oAlice")
    await wechat.say("订阅", openid="oBob")
    alice, bob = await asyncio.gather(
        wechat.say("退订", openid="oAlice", msg_id="42"), wechat.say("订阅 量化", "oBob", "42")
    )
    assert alice.text is not None and "已退订" in alice.text
    assert bob.text is not None and "量化" in bob.text
    a, b = await store.subscriber("oAlice"), await store.subscriber("oBob")
    assert a is not None and a.status == "unsubscribed"
    assert b is not None and b.topics == ["量化"]


async def test_two_messages_without_msg_id_in_one_second_are_both_handled(
    aiohttp_client: Client, store: Store, archive: Archive, tmp_path: Path
) -> None:
    wechat = await webhook(aiohttp_client, store, archive, tmp_path)
    now, who = int(time.time()), wechat.follower
    for topic in ("量化", "剪枝"):
        xml = who.message_xml("oReader", "text", now, Content=f"订阅 {topic}")
        assert (await wechat.send_xml(xml)).status == 200
    subscriber = await store.subscriber("oReader")
    assert subscriber is not None and subscriber.topics == ["剪枝", "量化"]


def _push(stamp: str, body: str, token: str = "test-token") -> Push:
    params = {"signature": signature(token, stamp, "123"), "timestamp": stamp, "nonce": "123"}
    return Push(params, body.encode())


@pytest.mark.parametrize(
    "stamp", ["9" * 401, "-1", "１７００００００００", "1e9", "123456789012", " 1700000000"]
)
async def test_timestamps_that_are_not_up_to_11_ascii_digits_are_400(
    aiohttp_client: Client, store: Store, archive: Archive, tmp_path: Path, stamp: str
) -> None:
    wechat = await webhook(aiohttp_client, store, archive, tmp_path, timestamp_window=0)
    answer = await wechat.post(_push(stamp, wechat.follower.text("oReader", "订阅")))
    assert answer.status == 400 and "Traceback" not in answer.body
    assert await store.subscriber("oReader") is None


@pytest.mark.parametrize("openid", ["o Reader", "o/../x", "o" * 65, "读者", "o<b>"])
async def test_openids_outside_the_alphabet_are_400_and_nothing_is_stored(
    aiohttp_client: Client,
    store: Store,
    archive: Archive,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    openid: str,
) -> None:
    wechat = await webhook(aiohttp_client, store, archive, tmp_path)
    xml = wechat.follower.message_xml(openid, "text", int(time.time()), Content="订阅", MsgId="1")
    answer = await wechat.post(_push(str(int(time.time())), xml))
    assert answer.status == 400
    assert (await store.subscriber_counts()).active == 0
    assert not [r for r in caplog.records if r.exc_info]  # no traceback


MASS = {"MsgID": "1000001", "Status": "send success"}


@pytest.mark.parametrize(
    ("total", "filtered", "sent", "errors"),
    [("2000", "2000", "999999999", "0"), ("-5", "0", "0", "0"), (str(2**63), "1", "1", "0"),
     ("2000", "2000", "2500", "0"), ("ten", "1", "1", "0")],
)  # fmt: skip
async def test_impossible_mass_send_totals_are_400_and_not_stored(
    aiohttp_client: Client,
    store: Store,
    archive: Archive,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    total: str,
    filtered: str,
    sent: str,
    errors: str,
) -> None:
    wechat = await webhook(aiohttp_client, store, archive, tmp_path)
    counts = {"TotalCount": total, "FilterCount": filtered, "SentCount": sent}
    answer = await wechat.event(
        "MASSSENDJOBFINISH", openid="gh_account", **MASS, **counts, ErrorCount=errors
    )
    assert answer.status == 400
    assert not [r for r in caplog.records if r.exc_info]
    with caplog.at_level(logging.WARNING, "bot.store.mass"):  # the store refuses them too
        await store.record_mass_job_finish("1000001", "send success", 2000, 2000, 9**9, 0)
    assert "impossible counts" in caplog.text


async def test_a_client_leaving_mid_body_is_one_debug_line(
    store: Store, archive: Archive, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(settings_for(tmp_path, tmp_path / "nt.db"), archive, store)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    who = Follower("test-token")
    push = who.push(who.text("oReader", "订阅"))
    query = "&".join(f"{k}={v}" for k, v in push.params.items())
    try:
        with caplog.at_level(logging.DEBUG):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            head = f"POST /wechat?{query} HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n"
            writer.write(head.encode() + push.body[:20])
            await writer.drain()
            await asyncio.sleep(0.2)
            writer.close()
            await writer.wait_closed()
            for _ in range(100):
                if "connection lost" in caplog.text:
                    break
                await asyncio.sleep(0.02)
    finally:
        await runner.cleanup()
    assert "connection lost mid-request" in caplog.text
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert await store.subscriber("oReader") is None


def test_wechat_mode_defaults_to_safe_with_a_key_and_refuses_unknown_modes(tmp_path: Path) -> None:
    from wechat_messages import AES_KEY

    from bot.chat.verify import mode_of
    from bot.config import ConfigError, load_settings

    config = tmp_path / "neuraltalk.yaml"
    config.write_text(f"wechat:\n  appid: wx1\n  encoding_aes_key: {AES_KEY}\n", encoding="utf-8")
    assert mode_of(load_settings(config, env={}).wechat) == "safe"
    assert mode_of(load_settings(None, env={}).wechat) == "plain"
    both = load_settings(config, env={"NEURALTALK_WECHAT_MODE": "compatible"})
    assert mode_of(both.wechat) == "compatible"
    with pytest.raises(ConfigError, match=r"wechat\.mode"):
        load_settings(config, env={"NEURALTALK_WECHAT_MODE": "open"})
    with pytest.raises(ConfigError, match="encoding_aes_key"):
        load_settings(None, env={"NEURALTALK_WECHAT_MODE": "safe"})


def test_the_replay_memory_lasts_its_window_and_stays_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bot.chat import verify

    now = [1000.0]
    replays = verify.MemoryReplays(300.0, clock=lambda: now[0])
    seen = lambda key, body: asyncio.run(replays.first_or_same(key, body))  # noqa: E731
    assert seen("1:a", b"<xml>one</xml>")
    now[0] += 299.0
    assert not seen("1:a", b"<xml>two</xml>")  # within the window: another body is refused
    now[0] += 2.0
    assert seen("1:a", b"<xml>one</xml>")  # a retry with the same body, after a retirement
    assert not seen("1:a", b"<xml>two</xml>")  # still remembered: 300 to 600 s
    now[0] += 600.0
    assert seen("1:a", b"<xml>two</xml>")  # forgotten: its timestamp is refused by now anyway
    monkeypatch.setattr(verify, "SEEN_MAX", 10)
    for n in range(30):
        assert seen(f"2:{n}", b"x")
    assert len(replays._current) + len(replays._previous) <= 10

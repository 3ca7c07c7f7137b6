"""The webhook's protocol duties over real HTTP: signatures, safe mode, retries, bad input."""

from __future__ import annotations

import asyncio
import gc
import re
import shutil
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from wechat_messages import AES_KEY, SAMPLE, WeChat, settings_for

from bot.chat.app import create_app
from bot.store.store import Store
from bot.wechat.follower import Follower, Push
from bot.wechat.protocol import safe_fields, signature
from index.ingest import ingest
from index.search import Archive

ROOT = Path(__file__).resolve().parent.parent
Client = Callable[[web.Application], Awaitable[TestClient]]


@pytest.fixture
def archive(sample_index: Path) -> Archive:
    return Archive.open(sample_index)


async def wechat_for(aiohttp_client: Client, app: web.Application, safe: bool = False) -> WeChat:
    return WeChat(await aiohttp_client(app), safe=safe)


@pytest.fixture
async def plain(store: Store, aiohttp_client: Client, archive: Archive, tmp_path: Path) -> WeChat:
    app = create_app(settings_for(tmp_path, tmp_path / "nt.db"), archive, store)
    return await wechat_for(aiohttp_client, app)


@pytest.fixture
async def safe(store: Store, aiohttp_client: Client, archive: Archive, tmp_path: Path) -> WeChat:
    app = create_app(settings_for(tmp_path, tmp_path / "nt.db", safe=True), archive, store)
    return await wechat_for(aiohttp_client, app, safe=True)


async def test_handshake_echoes_echostr_only_with_a_good_signature(plain: WeChat) -> None:
    stamp, nonce = str(int(time.time())), "12345"
    good = {"signature": signature("test-token", stamp, nonce), "timestamp": stamp, "nonce": nonce}
    response = await plain.client.get("/wechat", params={**good, "echostr": "hello-wechat"})
    assert response.status == 200
    assert await response.text() == "hello-wechat"
    bad = {**good, "signature": "0" * 40, "echostr": "hello-wechat"}
    response = await plain.client.get("/wechat", params=bad)
    assert response.status == 403
    assert "hello-wechat" not in await response.text()


async def test_the_official_sample_round_trips(
    store: Store, aiohttp_client: Client, archive: Archive, tmp_path: Path
) -> None:
    settings = settings_for(
        tmp_path, tmp_path / "nt.db", token=SAMPLE["token"], encoding_aes_key=SAMPLE["key"],
        appid=SAMPLE["appid"], timestamp_window=0,
    )  # fmt: skip
    client = await aiohttp_client(create_app(settings, archive, store))
    stamp, nonce = SAMPLE["timestamp"], SAMPLE["nonce"]
    params = {
        "signature": signature(SAMPLE["token"], stamp, nonce),
        "timestamp": stamp,
        "nonce": nonce,
        "encrypt_type": "aes",
        "msg_signature": SAMPLE["msg_signature"],
    }
    body = (
        "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>"
        f"<Encrypt><![CDATA[{SAMPLE['encrypt']}]]></Encrypt></xml>"
    )
    response = await client.post("/wechat", params=params, data=body)
    assert response.status == 200
    envelope = safe_fields(await response.read())
    assert set(envelope) == {"Encrypt", "MsgSignature", "TimeStamp", "Nonce"}
    assert envelope["Nonce"] == nonce
    sample = Follower(SAMPLE["token"], SAMPLE["key"], SAMPLE["appid"])
    text = sample.reply_text(await response.read())  # checks MsgSignature, decrypts, parses
    assert text is not None and "abcdteT" in text  # the sample's Content, searched for


async def test_safe_mode_decrypts_the_message_and_encrypts_the_reply(safe: WeChat) -> None:
    answer = await safe.say("帮助")
    assert answer.status == 200
    assert "<Encrypt>" in answer.body and "帮助" not in answer.body
    assert answer.text is not None and "最新" in answer.text


async def test_compatible_mode_plain_fields_and_encrypt_are_both_read(safe: WeChat) -> None:
    plain = Follower("test-token")
    push = safe.follower.push(safe.follower.text("oFollower1", "帮助"))
    inner = plain.text("oFollower1", "帮助")  # the plain fields beside <Encrypt>
    body = inner.replace("</xml>", f"<Encrypt>{safe_fields(push.body)['Encrypt']}</Encrypt></xml>")
    answer = await safe.post(Push(push.params, body.encode()))
    assert answer.status == 200 and answer.text is not None and "最新" in answer.text


async def test_a_retried_message_gets_the_same_reply_and_subscribes_once(
    plain: WeChat, store: Store
) -> None:
    first, again = await asyncio.gather(
        plain.say("订阅", msg_id="777"), plain.say("订阅", msg_id="777")
    )
    third = await plain.say("订阅", msg_id="777")
    assert first.text == again.text == third.text
    assert first.text is not None and "订阅成功" in first.text
    subscriber = await store.subscriber("oFollower1")
    assert subscriber is not None and subscriber.all_issues
    later = await plain.say("订阅")  # a new message, not a retry
    assert later.text is not None and "已经订阅" in later.text


async def test_a_retried_more_does_not_skip_a_page(plain: WeChat) -> None:
    page1 = await plain.say("最新")
    page2 = await plain.say("更多", msg_id="9001")
    retry = await plain.say("更多", msg_id="9001")
    assert page1.text is not None and page2.text is not None
    assert retry.text == page2.text
    numbers = [re.findall(r"^(\d+)\. ", p.text, re.M) for p in (page1, page2)]
    assert numbers[1] and int(numbers[1][0]) == int(numbers[0][-1]) + 1


async def test_a_retried_unfollow_event_is_handled_once(plain: WeChat, store: Store) -> None:
    await plain.say("订阅 量化")
    stamp = int(time.time())
    answers = [await plain.event("unsubscribe", create_time=stamp) for _ in range(3)]
    assert {a.body for a in answers} == {"success"}
    subscriber = await store.subscriber("oFollower1")
    assert subscriber is not None and subscriber.status == "unsubscribed"


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<xml><ToUserName>gh</ToUserName><FromUserName>oFollower1</FromUserName>
<CreateTime>1</CreateTime><MsgType>text</MsgType><Content>&lol3;</Content><MsgId>1</MsgId></xml>"""
XXE = """<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>
<xml><ToUserName>gh</ToUserName><FromUserName>oFollower1</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&e;</Content><MsgId>2</MsgId></xml>"""
SUBSCRIBE = "<Content>订阅</Content><MsgId>3</MsgId>"
MISSING = "<xml><ToUserName>gh</ToUserName><MsgType>text</MsgType>" + SUBSCRIBE + "</xml>"
BAD_TIME = (
    "<xml><ToUserName>gh</ToUserName><FromUserName>oFollower1</FromUserName>"
    "<CreateTime>yesterday</CreateTime><MsgType>text</MsgType>" + SUBSCRIBE + "</xml>"
)


def _signed(who: Follower, body: str | bytes, stamp: int | None = None) -> Push:
    push = who.push("<xml><FromUserName>x</FromUserName></xml>", timestamp=stamp)
    return Push(push.params, body.encode() if isinstance(body, str) else body)


@pytest.mark.parametrize(
    ("name", "body", "status"),
    [
        ("not XML", "订阅 please", 400),
        ("billion laughs", BILLION_LAUGHS, 400),
        ("external entity", XXE, 400),
        ("missing fields", MISSING, 400),
        ("a field that is not a number", BAD_TIME, 400),
        ("body over 64 KiB", "<xml>" + "x" * 70_000 + "</xml>", 413),
    ],
)
async def test_bad_bodies_get_a_4xx_and_change_nothing(
    plain: WeChat, store: Store, name: str, body: str, status: int
) -> None:
    answer = await plain.post(_signed(plain.follower, body))
    assert answer.status == status, name
    assert "Traceback" not in answer.body
    assert await store.subscriber("oFollower1") is None
    assert (await plain.say("帮助")).status == 200  # still serving


async def test_a_chunked_body_over_64_kib_is_a_413_however_it_arrives(plain: WeChat) -> None:
    """No Content-Length to check first: the size is checked on what arrived (all at once, or
    in pieces)."""
    push = _signed(plain.follower, "<xml>" + "x" * 70_000 + "</xml>")

    async def pieces(size: int) -> AsyncIterator[bytes]:
        for start in range(0, len(push.body), size):
            yield push.body[start : start + size]

    for size in (len(push.body), 16_384):
        response = await plain.client.post("/wechat", params=push.params, data=pieces(size))
        assert response.status == 413
        assert "Traceback" not in await response.text()
    assert (await plain.say("帮助")).status == 200


async def test_bad_signatures_and_stale_timestamps_are_refused(plain: WeChat, store: Store) -> None:
    xml = plain.follower.text("oFollower1", "订阅")
    good = plain.follower.push(xml)
    forged = Push({**good.params, "signature": "f" * 40}, good.body)
    unsigned = Push({"timestamp": good.params["timestamp"]}, good.body)
    stale = plain.follower.push(xml, timestamp=int(time.time()) - 301)
    for push in (forged, unsigned, stale):
        answer = await plain.post(push)
        assert answer.status == 403 and "Traceback" not in answer.body
    assert await store.subscriber("oFollower1") is None


async def test_safe_mode_refuses_wrong_appid_and_corrupted_ciphertext(
    safe: WeChat, store: Store
) -> None:
    other_app = Follower("test-token", AES_KEY, "wxSomeoneElse")
    answer = await safe.post(other_app.push(other_app.text("oFollower1", "订阅")))
    assert answer.status == 403
    good = safe.follower.push(safe.follower.text("oFollower1", "订阅"))
    encrypt = safe_fields(good.body)["Encrypt"]
    corrupted = encrypt[:40] + ("A" if encrypt[40] != "A" else "B") + encrypt[41:]
    for bad in (corrupted, encrypt[:-8], "bm90IGNpcGhlcnRleHQ="):
        stamp, nonce = good.params["timestamp"], good.params["nonce"]
        params = {**good.params, "msg_signature": signature("test-token", stamp, nonce, bad)}
        body = f"<xml><ToUserName>gh</ToUserName><Encrypt>{bad}</Encrypt></xml>"
        answer = await safe.post(Push(params, body.encode()))
        assert answer.status in (400, 403) and "Traceback" not in answer.body
    assert await store.subscriber("oFollower1") is None
    assert (await safe.say("帮助")).status == 200


async def test_healthz_is_503_until_an_index_exists_then_counts_it(
    store: Store, aiohttp_client: Client, tmp_path: Path
) -> None:
    index_dir = tmp_path / "index"
    app = create_app(settings_for(index_dir, tmp_path / "nt.db"), store=store, reload_every=0)
    client = await aiohttp_client(app)
    assert (await client.get("/healthz")).status == 503
    ingest(index_dir, [ROOT / "issues" / "2020-04-26.md"])
    await WeChat(client).say("帮助")  # any request lets it look again
    response = await client.get("/healthz")
    assert response.status == 200
    health = await response.json()
    assert health["status"] == "ok" and health["issues"] == 1 and health["entries"] > 10


async def test_a_new_ingest_is_searchable_without_restart(
    store: Store, aiohttp_client: Client, tmp_path: Path, corpus_dir: Path
) -> None:
    index_dir = tmp_path / "index"
    ingest(index_dir, [ROOT / "issues" / "2020-04-26.md"])
    app = create_app(settings_for(index_dir, tmp_path / "nt.db"), store=store, reload_every=0)
    wechat = WeChat(await aiohttp_client(app))
    before = await wechat.say("2021-08-01")
    assert before.text is not None and "没有 2021-08-01 这一期" in before.text
    shutil.copy(corpus_dir / "2021-08-01.md", tmp_path / "2021-08-01.md")
    ingest(index_dir, [tmp_path / "2021-08-01.md"])
    after = await wechat.say("2021-08-01")
    assert after.text is not None and "2021-08-01" in after.text.splitlines()[0]
    assert (await (await wechat.client.get("/healthz")).json())["issues"] == 2


async def test_interaction_times_reach_the_store_in_the_background(
    store: Store, aiohttp_client: Client, archive: Archive, tmp_path: Path
) -> None:
    app = create_app(settings_for(tmp_path, tmp_path / "nt.db"), archive, store, flush_every=0.05)
    wechat = WeChat(await aiohttp_client(app))
    await wechat.say("订阅 量化", openid="oReader")
    for _ in range(100):
        subscriber = await store.subscriber("oReader")
        if subscriber is not None and subscriber.last_interaction is not None:
            break
        await asyncio.sleep(0.05)
    assert subscriber is not None and subscriber.last_interaction is not None


async def test_the_heap_built_at_start_up_is_frozen_out_of_the_collector(
    store: Store, aiohttp_client: Client, archive: Archive, tmp_path: Path
) -> None:
    gc.unfreeze()
    wechat = WeChat(await aiohttp_client(create_app(settings_for(tmp_path, "x"), archive, store)))
    assert gc.get_freeze_count() > 10_000  # the index, jieba's dictionary, the modules
    assert gc.get_threshold()[0] >= 10_000
    answer = await wechat.say("量化")
    assert answer.status == 200 and answer.text is not None

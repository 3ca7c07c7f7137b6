"""Follows and scans by QR code over real HTTP: the scene subscribes the follower, once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from wechat_messages import WeChat, settings_for

from bot.chat import texts
from bot.chat.app import create_app
from bot.scenes import scene_of, scene_str
from bot.store.store import Store
from index.search import Archive

Client = Callable[[web.Application], Awaitable[TestClient]]


@pytest.fixture
async def wechat(
    store: Store, aiohttp_client: Client, sample_index: Path, tmp_path: Path
) -> WeChat:
    app = create_app(settings_for(tmp_path, tmp_path / "nt.db"), Archive.open(sample_index), store)
    return WeChat(await aiohttp_client(app))


async def test_a_follow_by_a_topic_code_subscribes_to_the_topic(
    wechat: WeChat, store: Store
) -> None:
    answer = await wechat.event("subscribe", openid="oNew", EventKey="qrscene_topic:量化",
                                Ticket="gQ1")  # fmt: skip
    assert answer.status == 200 and answer.text is not None
    assert answer.text.startswith("感谢关注")
    assert "已为你订阅「量化」" in answer.text and "退订 量化" in answer.text
    subscriber = await store.subscriber("oNew")
    assert subscriber is not None and subscriber.topics == ["量化"]
    assert not subscriber.all_issues


async def test_a_scan_by_a_follower_subscribes_to_the_topic(wechat: WeChat, store: Store) -> None:
    answer = await wechat.event("SCAN", openid="oOld", EventKey="topic:量化", Ticket="gQ1")
    assert answer.text == texts.subscribed("量化", True)
    again = await wechat.event("SCAN", openid="oOld", EventKey="topic:量化", create_time=1)
    assert again.text == texts.subscribed("量化", False)
    subscriber = await store.subscriber("oOld")
    assert subscriber is not None and subscriber.topics == ["量化"]


@pytest.mark.parametrize(
    ("event", "key"), [("subscribe", "qrscene_subscribe"), ("SCAN", "subscribe")]
)
async def test_the_subscribe_scene_subscribes_to_every_issue(
    wechat: WeChat, store: Store, event: str, key: str
) -> None:
    answer = await wechat.event(event, openid="oAll", EventKey=key)
    assert answer.text is not None and "新一期" in answer.text
    subscriber = await store.subscriber("oAll")
    assert subscriber is not None and subscriber.all_issues and subscriber.topics == []


async def test_an_unknown_scene_is_ignored(wechat: WeChat, store: Store) -> None:
    follow = await wechat.event("subscribe", openid="oOdd", EventKey="qrscene_123456")
    assert follow.text == texts.WELCOME
    scan = await wechat.event("SCAN", openid="oOdd", EventKey="topic:两个 词")
    assert scan.status == 200 and scan.body == "success"
    assert await store.subscriber("oOdd") is None


async def test_a_retried_follow_gets_the_same_welcome(wechat: WeChat, store: Store) -> None:
    xml = wechat.follower.event("oNew", "subscribe", create_time=1700000000,
                                EventKey="qrscene_topic:剪枝")  # fmt: skip
    first, retry = await wechat.send_xml(xml), await wechat.send_xml(xml)
    assert first.text is not None and "已为你订阅「剪枝」" in first.text
    assert retry.text == first.text


def test_scene_strings() -> None:
    assert scene_str("量化") == "topic:量化"
    assert scene_str(None) == "subscribe"
    assert scene_of("qrscene_topic:量化") == scene_of("topic:量化")
    assert scene_of("topic:量化") is not None and scene_of("topic:量化").topic == "量化"  # type: ignore[union-attr]
    assert scene_of("subscribe") is not None and scene_of("subscribe").topic is None  # type: ignore[union-attr]
    assert scene_of("") is None and scene_of("topic:") is None and scene_of("qrscene_42") is None

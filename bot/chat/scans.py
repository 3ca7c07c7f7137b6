"""Follows and scans by QR code: the scene in the EventKey subscribes the follower.

A follow by QR code carries `qrscene_<scene>`, a scan by a follower `<scene>` (bot.scenes):
`topic:量化` subscribes to that topic, `subscribe` to every issue, and the reply says so. An
unknown scene is ignored: a follow gets the plain welcome, a scan nothing. The subscription is
committed before the reply; if the store cannot take it the event fails, so that the webhook
answers 503 and WeChat retries it.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.chat import texts
from bot.scenes import scene_of
from bot.store.store import Store
from bot.wechat.protocol import Incoming


class NoStore(Exception):
    """A scan asked for a subscription and there is no store to record it in."""


async def scanned(
    message: Incoming, store: Store | None, shown: Callable[[str], str]
) -> str | None:
    """The answer to a follow (subscribe, subscribe_scan) or a SCAN; `shown` gives a topic as
    the archive writes it (Tengine)."""
    follow = message.event.startswith("subscribe")
    by_code = message.event == "subscribe_scan" or message.event == "scan"
    scene = scene_of(message.event_key) if by_code else None
    if scene is None:
        return texts.WELCOME if follow else None
    if store is None:
        raise NoStore(f"no store to record the subscription of scene {message.event_key!r}")
    changed = await store.subscribe(message.openid, scene.topic)
    topic = shown(scene.topic) if scene.topic else None
    if follow:
        return texts.welcome_subscribed(topic)
    return texts.subscribed(topic, changed)

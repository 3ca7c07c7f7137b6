"""What a QR code asks for: the scene strings of the account's permanent QR codes.

`topic:<T>` subscribes whoever scans it to topic T, `subscribe` to every issue. WeChat hands
the scene back in the follow event's EventKey as `qrscene_<scene>` (a new follower) or in a
SCAN event's EventKey as `<scene>` (a follower already). `neuraltalk qrcode` makes them.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.errors import UserError
from bot.store.subscribers import InvalidInput, normalize_topic

SUBSCRIBE = "subscribe"
TOPIC = "topic:"
FOLLOW_PREFIX = "qrscene_"
MAX_SCENE = 64  # WeChat's limit on scene_str


@dataclass(frozen=True)
class Scene:
    """A scan's request: subscribe to `topic`, or to every issue when topic is None."""

    topic: str | None


def scene_str(topic: str | None) -> str:
    """The scene string of a QR code for `topic` (None: every issue); UserError if unusable."""
    if topic is None:
        return SUBSCRIBE
    try:
        normalize_topic(topic)
    except InvalidInput:
        raise UserError(
            f"--topic {topic!r} is not a topic: one word of 1 to 20 characters, e.g. 量化"
        ) from None
    return TOPIC + topic.strip()


def scene_of(event_key: str) -> Scene | None:
    """The scene of a follow (`qrscene_…`) or SCAN event's EventKey; None: not one of ours."""
    key = event_key.strip()
    key = key.removeprefix(FOLLOW_PREFIX)
    if key == SUBSCRIBE:
        return Scene(None)
    if not key.startswith(TOPIC) or len(key) > MAX_SCENE:
        return None
    topic = key[len(TOPIC) :].strip()
    try:
        normalize_topic(topic)
    except InvalidInput:
        return None
    return Scene(topic)

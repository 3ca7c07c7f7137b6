"""Who gets what, and on which channel: the routing of each subscriber for one campaign.

Rules (issue #4):
- An all-issues subscriber gets the full text; a topic-only subscriber gets the digest of the
  entries matching its topics, or nothing (skipped, `no-match`) when none match.
- `custom`: a customer-service message inside the 48-hour window (from last_interaction);
  outside it the subscriber is skipped (`outside-window`).
- `mass`: a service account mass-sends to openid lists, one list per distinct text; a
  subscription account has one mass send a day, to the tag of subscribers, so only the full
  text goes out by mass and digest readers are skipped (`digest-needs-service-account`).
- `auto`: custom inside the window, mass for the rest. A custom send answered 45015 (the window
  closed meanwhile) moves that one recipient to mass in auto mode (bot/broadcast/broadcaster.py).

Nothing here writes: plan_counts() feeds --dry-run and the confirmation; planning proper
(recording the deliveries) is bot/broadcast/broadcaster.py's, using route().
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.broadcast.compose import Composer

WINDOW = timedelta(hours=48)
FULL = "full"


@dataclass(frozen=True)
class Route:
    channel: str  # "custom", "mass" or "skip"
    text_key: str  # FULL or "digest:<topics>"; "" when skipped for want of a text
    reason: str = ""  # why skipped


@dataclass
class PlanCounts:
    """Recipients per channel and text, and skipped ones by reason (for --dry-run and the ask)."""

    by_channel: Counter[tuple[str, str]] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    texts: dict[str, str] = field(default_factory=dict)

    @property
    def recipients(self) -> int:
        return sum(self.by_channel.values())


def digest_key(topics: tuple[str, ...]) -> str:
    return "digest:" + json.dumps(list(topics), ensure_ascii=False)


def in_window(last_interaction: datetime | None, now: datetime) -> bool:
    if last_interaction is None:
        return False
    if last_interaction.tzinfo is None:
        last_interaction = last_interaction.replace(tzinfo=UTC)
    return now - last_interaction < WINDOW


def text_key(subscriber: Any, composer: Composer) -> str:
    """FULL, a digest key, or "" when the subscriber's topics match nothing in the issue."""
    if subscriber.all_issues:
        return FULL
    topics = tuple(sorted(set(subscriber.topics)))
    if not topics or composer.digest(topics) is None:
        return ""
    return digest_key(topics)


def route(
    subscriber: Any, composer: Composer, channel: str, account_type: str, now: datetime
) -> Route:
    """Where one subscriber's message goes for a campaign on `channel` (auto, custom, mass)."""
    key = text_key(subscriber, composer)
    if not key:
        return Route("skip", "", "no-match")
    window = in_window(subscriber.last_interaction, now)
    if channel == "custom" or (channel == "auto" and window):
        return Route("custom", key) if window else Route("skip", key, "outside-window")
    return mass_route(key, account_type)


def mass_route(key: str, account_type: str) -> Route:
    if account_type == "service" or key == FULL:
        return Route("mass", key)
    return Route("skip", key, "digest-needs-service-account")


def text_for(key: str, composer: Composer) -> str:
    if key == FULL:
        return composer.full().text
    digest = composer.digest(tuple(json.loads(key.removeprefix("digest:"))))
    return digest.text if digest else ""


async def plan_counts(
    pages: Any, composer: Composer, channel: str, account_type: str, now: datetime
) -> PlanCounts:
    """Count the routes of every active subscriber, page by page (nothing is kept per person)."""
    counts = PlanCounts()
    async for page in pages:
        for subscriber in page:
            r = route(subscriber, composer, channel, account_type, now)
            if r.channel == "skip":
                counts.skipped[r.reason] += 1
            else:
                counts.by_channel[(r.channel, r.text_key)] += 1
                if r.text_key not in counts.texts:
                    counts.texts[r.text_key] = text_for(r.text_key, composer)
    return counts

"""Where the webhook's memory lives: in this process (the default) or in Redis (redis.url).

State holds the retries, the followers' pages, the replay memory and the access_token lock;
state_for(settings) picks the in-memory kinds (bot.chat.sessions, bot.chat.verify) without
redis.url, the Redis ones (bot.chat.redis_state) with it: never a mix of both.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from bot.chat.redis_state import RedisPages, RedisReplays, RedisRetries
from bot.chat.sessions import Dedupe, Pages, Retries, Sessions
from bot.chat.verify import MemoryReplays, Replays
from bot.config import Settings
from bot.metrics import Metrics
from bot.shared import Shared, token_lock
from bot.wechat.access_token import SharedLock


@dataclass
class State:
    retries: Retries
    pages: Pages
    replays: Replays
    shared: Shared | None = None  # the Redis, when redis.url is set
    token_lock: SharedLock | None = None


def state_for(settings: Settings, metrics: Metrics) -> State:
    window = float(settings.wechat.timestamp_window or 300)
    if not settings.redis.url:
        return State(Dedupe(), Sessions(), MemoryReplays(window))
    shared = Shared(settings.redis.url, settings.redis.prefix, metrics.redis_errors.inc)
    return State(
        RedisRetries(shared),
        RedisPages(shared),
        RedisReplays(shared, window),
        shared,
        partial(token_lock, shared),
    )

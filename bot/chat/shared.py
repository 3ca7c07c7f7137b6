"""The Redis that every webhook process and host shares (redis.url): calls, health, writes.

Every call goes through Shared.call(). A failure marks Redis down: one warning line (not one a
request), neuraltalk_redis_errors_total counts it, and SharedUnavailable is raised, so the
reply says the service is busy. While it is down, calls fail at once but for one try every
RETRY_EVERY seconds, and the first that succeeds logs that Redis is back. Nothing falls back
to this process's memory.

Writes (a follower's page, a finished attempt's reply) go through put(): queued, and sent in
one pipeline by a background task as soon as the event loop is free, those of many replies
together; settled() waits until what was queued has been sent, so that once a follower has a
reply, every process sees the page and the reply it left. pending() reads a write before it
has left. Keys all start with redis.prefix.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from bot.chat.sessions import SharedUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")
RETRY_EVERY = 1.0  # seconds between tries while Redis is down
CONNECT_TIMEOUT = 1.0
CALL_TIMEOUT = 2.0
Write = tuple[bytes | None, float]  # a value (None: delete) and its time to live in seconds


def shown(url: str) -> str:
    """host:port/db of a redis.url, without its password."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return parts.path
    return f"{parts.hostname or 'localhost'}:{parts.port or 6379}{parts.path or '/0'}"


class Shared:
    """One Redis connection pool, its health, and the writes sent behind the replies."""

    def __init__(self, url: str, prefix: str, on_error: Callable[[], None] = lambda: None):
        self.prefix = prefix
        self.where = shown(url)
        self.redis: Redis = Redis.from_url(
            url, socket_connect_timeout=CONNECT_TIMEOUT, socket_timeout=CALL_TIMEOUT,
            retry=Retry(NoBackoff(), 0), max_connections=200,
        )  # fmt: skip
        self._on_error = on_error
        self._down: str | None = None
        self._retry_at = 0.0
        self._queued: dict[str, Write] = {}
        self._sending: dict[str, Write] = {}
        self._wake = asyncio.Event()
        self._flusher: asyncio.Task[None] | None = None
        self._queued_sent: asyncio.Future[None] | None = None  # when the queued writes are sent
        self._sending_sent: asyncio.Future[None] | None = None  # when those under way are

    def key(self, kind: str, name: str) -> str:
        return f"{self.prefix}{kind}:{name}"

    async def call(self, work: Callable[[Redis], Awaitable[T]]) -> T:
        """work(redis), or SharedUnavailable (the reason) when Redis cannot be reached."""
        if self._down is not None and time.monotonic() < self._retry_at:
            raise SharedUnavailable(self._down)
        try:
            result = await work(self.redis)
        except (RedisError, OSError) as exc:
            raise SharedUnavailable(self._failed(exc)) from None
        if self._down is not None:
            log.warning("redis at %s is back (redis.url); shared state served again", self.where)
            self._down = None
        return result

    def _failed(self, exc: Exception) -> str:
        self._on_error()
        self._retry_at = time.monotonic() + RETRY_EVERY
        if self._down is None:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            self._down = f"redis at {self.where} (redis.url) cannot be reached: {reason}"
            log.warning("%s; replies say the service is busy until it is back", self._down)
        return self._down

    async def problem(self) -> str | None:
        """Why Redis cannot be used now (a PING), or None."""
        try:
            await self.call(lambda r: r.ping())
        except SharedUnavailable as exc:
            return str(exc)
        return None

    # --- writes behind the replies -----------------------------------------------------------

    def put(self, key: str, value: bytes | None, ttl: float) -> None:
        """Set key to value for ttl seconds (None: delete it), soon, in the background."""
        self._queued[key] = (value, ttl)
        self._wake.set()

    async def settled(self) -> None:
        """Once the writes queued so far have been sent (or lost with Redis down)."""
        if self._queued:
            if self._queued_sent is None:
                self._queued_sent = asyncio.get_running_loop().create_future()
            await asyncio.shield(self._queued_sent)
        elif self._sending_sent is not None:
            await asyncio.shield(self._sending_sent)

    def pending(self, key: str) -> Write | None:
        """The write to `key` not yet acknowledged by Redis, if any."""
        return self._queued.get(key) or self._sending.get(key)

    def start(self) -> None:
        self._flusher = asyncio.create_task(self._flush_forever())

    async def _flush_forever(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self.flush()

    async def flush(self) -> None:
        """Send what is queued in one pipeline; lost (and logged as Redis down) if it fails."""
        if not self._queued:
            return
        self._sending, self._queued = self._queued, {}
        self._sending_sent, self._queued_sent = self._queued_sent, None
        try:
            await self.call(lambda r: _send(r, self._sending))
        except SharedUnavailable:
            log.debug("%d shared writes lost: Redis is down", len(self._sending))
        finally:
            self._sending = {}
            if self._sending_sent is not None:
                self._sending_sent.set_result(None)
                self._sending_sent = None

    async def close(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
            await self.flush()
        await self.redis.aclose()


async def _send(redis: Redis, writes: dict[str, Write]) -> Any:
    async with redis.pipeline(transaction=False) as pipe:
        for key, (value, ttl) in writes.items():
            if value is None:
                pipe.delete(key)
            else:
                pipe.set(key, value, px=max(int(ttl * 1000), 1))
        return await pipe.execute()

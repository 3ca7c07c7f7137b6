"""The Redis that every webhook process and host shares (redis.url): commands, health, writes.

Commands go through Shared.do(): queued, and sent by one background task in one pipeline with
every other command of that moment (the replies of many followers share a round trip, as
their store writes share a transaction), the next pipeline once the last one is answered. The
pump writes them on a connection of its own and reads the raw answers (redis-py's Pipeline
costs about 200 µs of CPU a pipeline; this, a tenth of it).
Writes whose answer nobody reads (a follower's page, a finished attempt's reply) go through
put(), into the same pipelines; settled() waits until what was put has been sent, so that once
a follower has a reply, every process sees the page and the reply it left; pending() reads a
write before it has left. Keys all start with redis.prefix.

A failure marks Redis down: one warning line (not one a request), neuraltalk_redis_errors_total
counts it, and SharedUnavailable is raised, so the reply says the service is busy. While it is
down, commands fail at once but for one try every RETRY_EVERY seconds, and the first that
succeeds logs that Redis is back. Nothing falls back to this process's memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar
from urllib.parse import urlsplit

from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError, ResponseError

log = logging.getLogger(__name__)


TOKEN_LOCK_TTL = 30.0  # seconds the access_token lock is held at most


class SharedUnavailable(Exception):
    """The state shared by all processes (redis.url) cannot be reached; the reason is the text."""


T = TypeVar("T")
RETRY_EVERY = 1.0  # seconds between tries while Redis is down
CONNECT_TIMEOUT = 1.0
CALL_TIMEOUT = 2.0
Write = tuple[bytes | None, float]  # a value (None: delete) and its time to live in seconds
Command = tuple[Any, ...]  # ("SET", key, value, "NX", "PX", 1000): its raw answer comes back
Call = tuple[Command, "asyncio.Future[Any]"]


def shown(url: str) -> str:
    """host:port/db of a redis.url, without its password."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return parts.path
    return f"{parts.hostname or 'localhost'}:{parts.port or 6379}{parts.path or '/0'}"


class Shared:
    """One Redis connection pool, its health, and the pipelines of commands and writes."""

    def __init__(self, url: str, prefix: str, on_error: Callable[[], None] = lambda: None):
        self.prefix = prefix
        self.where = shown(url)
        self.redis: Redis = Redis.from_url(
            url, socket_connect_timeout=CONNECT_TIMEOUT, socket_timeout=CALL_TIMEOUT,
            retry=Retry(NoBackoff(), 0), max_connections=50,
        )  # fmt: skip
        self._on_error = on_error
        self._down: str | None = None
        self._retry_at = 0.0
        self._calls: list[Call] = []
        self._queued: dict[str, Write] = {}
        self._sending: dict[str, Write] = {}
        self._wake = asyncio.Event()
        self._pump: asyncio.Task[None] | None = None
        self._connection: AbstractConnection | None = None  # the pump's
        self._queued_sent: asyncio.Future[None] | None = None  # when the queued writes are sent
        self._sending_sent: asyncio.Future[None] | None = None  # when those under way are

    def key(self, kind: str, name: str) -> str:
        return f"{self.prefix}{kind}:{name}"

    async def call(self, work: Callable[[Redis], Awaitable[T]]) -> T:
        """work(redis) on a connection of its own, or SharedUnavailable (the reason)."""
        self._check()
        try:
            result = await work(self.redis)
        except (RedisError, OSError) as exc:
            raise SharedUnavailable(self._failed(exc)) from None
        self._succeeded()
        return result

    async def do(self, *command: Any) -> Any:
        """One command's raw answer, sent in the next pipeline (SharedUnavailable if failed)."""
        self._check()
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._calls.append((command, future))
        self._wakeup()
        return await future

    def _check(self) -> None:
        if self._down is not None and time.monotonic() < self._retry_at:
            raise SharedUnavailable(self._down)

    def _succeeded(self) -> None:
        if self._down is not None:
            log.warning("redis at %s is back (redis.url); shared state served again", self.where)
            self._down = None

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

    # --- writes ------------------------------------------------------------------------------

    def put(self, key: str, value: bytes | None, ttl: float) -> None:
        """Set key to value for ttl seconds (None: delete it), in the next pipeline."""
        self._queued[key] = (value, ttl)
        self._wakeup()

    async def settled(self) -> None:
        """Once the writes put so far have been sent (or lost with Redis down)."""
        if self._queued:
            if self._queued_sent is None:
                self._queued_sent = asyncio.get_running_loop().create_future()
            await asyncio.shield(self._queued_sent)
        elif self._sending_sent is not None:
            await asyncio.shield(self._sending_sent)

    def pending(self, key: str) -> Write | None:
        """The write to `key` not yet acknowledged by Redis, if any."""
        return self._queued.get(key) or self._sending.get(key)

    # --- the pump ----------------------------------------------------------------------------

    def _wakeup(self) -> None:
        if self._pump is None or self._pump.done():
            self._pump = asyncio.get_running_loop().create_task(self._pump_forever())
        self._wake.set()

    async def _pump_forever(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self.send()

    async def send(self) -> None:
        """Send what is queued, commands and writes, in one pipeline."""
        if not self._calls and not self._queued:
            return
        calls, self._calls = self._calls, []
        self._sending, self._queued = self._queued, {}
        self._sending_sent, self._queued_sent = self._queued_sent, None
        try:
            answers = await self.call(lambda r: self._pipeline(calls, self._sending))
        except SharedUnavailable as exc:
            answers = [exc] * len(calls)
        except BaseException:  # cancelled (closing): nobody waits forever
            for _, future in calls:
                future.cancel()
            raise
        finally:
            self._sending = {}
            if self._sending_sent is not None:
                self._sending_sent.set_result(None)
                self._sending_sent = None
        for (_, future), answer in zip(calls, answers, strict=False):
            if future.done():
                continue
            if isinstance(answer, Exception):
                future.set_exception(SharedUnavailable(str(answer)))
            else:
                future.set_result(answer)

    async def _pipeline(self, calls: list[Call], writes: dict[str, Write]) -> list[Any]:
        """The raw answers to `calls` (a ResponseError for one refused); the writes after them."""
        commands = [command for command, _ in calls]
        for key, (value, ttl) in writes.items():
            if value is None:
                commands.append(("DEL", key))
            else:
                commands.append(("SET", key, value, "PX", max(int(ttl * 1000), 1)))
        if self._connection is None:
            pool = self.redis.connection_pool
            self._connection = pool.connection_class(**pool.connection_kwargs)
        connection = self._connection
        try:
            await connection.send_packed_command(connection.pack_commands(commands), False)
            answers = []
            for _ in commands:
                try:
                    answers.append(await connection.read_response())
                except ResponseError as exc:  # that command refused; the others go on
                    answers.append(exc)
        except BaseException:
            self._connection = None  # half-read: never reused
            await connection.disconnect(nowait=True)
            raise
        return answers[: len(calls)]

    async def close(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
        await self.send()
        if self._connection is not None:
            await self._connection.disconnect()
        await self.redis.aclose()


@asynccontextmanager
async def token_lock(shared: Shared) -> AsyncIterator[None]:
    """The access_token renewal's lock across processes (AccessToken's shared_lock); a renewal
    goes ahead without it when Redis is down or the holder takes over 10 s."""
    lock = shared.redis.lock(
        shared.key("lock", "access_token"), timeout=TOKEN_LOCK_TTL, blocking_timeout=10.0
    )
    try:
        got = await shared.call(lambda r: lock.acquire())
    except SharedUnavailable as exc:
        log.warning("access_token renewed without the shared lock: %s", exc)
        got = False
    try:
        yield
    finally:
        if got:
            with contextlib.suppress(RedisError, OSError):  # else it expires by itself
                await lock.release()

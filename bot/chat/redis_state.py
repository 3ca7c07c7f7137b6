"""The webhook's memory in Redis (redis.url), shared by every process on every host.

- RedisRetries: the first attempt at a message claims its key (SET NX, CLAIM_TTL) and, once
  answered, leaves its reply there for DEDUPE_TTL; a retry landing on any process finds the
  claim and waits (polling, at most WAIT seconds: WeChat gives up after 5) for that reply. A
  failed attempt deletes its claim, so the next retry does the work again.
- RedisPages: followers' pages (更多), kept PAGE_TTL seconds.
- RedisReplays: the signed URLs seen (SET NX GET: one round trip), for the timestamp window.

Each raises SharedUnavailable while Redis cannot be reached (bot.shared).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time

from bot.chat.sessions import (
    DEDUPE_TTL,
    PAGE_TTL,
    Attempt,
    Page,
    TTLCache,
    Work,
)
from bot.shared import Shared

log = logging.getLogger(__name__)

CLAIM_TTL = 60.0  # an attempt's claim, while it works (longer than a late reply's wait)
WAIT = 5.0  # seconds a retry waits for another process's reply
PENDING = b"?"
SUCCESS = b"-"  # the reply was `success` (or went by customer service)


def _reply(value: bytes | str) -> str | None:
    raw = value.encode("utf-8") if isinstance(value, str) else value
    return None if raw == SUCCESS else raw[1:].decode("utf-8")


class RedisRetries:
    """Each message key answered once across processes; a retry gets the first reply."""

    def __init__(self, shared: Shared, ttl: float = DEDUPE_TTL) -> None:
        self._shared = shared
        self._ttl = ttl
        self._local: TTLCache[str, Attempt] = TTLCache(50_000, ttl)  # this process's attempts
        self._late: TTLCache[str, bool] = TTLCache(50_000, ttl)

    async def start(self, key: str, work: Work) -> Attempt:
        known = self._local.get(key)
        if known is not None:
            return Attempt(known.task, own=known.own, joined=True)
        rkey = self._shared.key("retry", key)
        claimed = await self._claim(rkey)
        # the attempt is made before its task, which may find it has to do the work itself
        attempt = Attempt(asyncio.get_running_loop().create_future(), claimed, not claimed)
        coro = self._run(rkey, key, work) if claimed else self._wait(rkey, key, work, attempt)
        attempt.task = asyncio.ensure_future(coro)
        self._local.put(key, attempt)
        attempt.task.add_done_callback(lambda t: self._forget_failed(key, t))
        return attempt

    def went_late(self, key: str) -> None:
        self._late.put(key, True)
        self._shared.put(self._shared.key("retry", key), SUCCESS, self._ttl)

    async def _claim(self, rkey: str) -> bool:
        return await self._shared.do("SET", rkey, PENDING, "NX", "PX", _ms(CLAIM_TTL)) is not None

    async def _run(self, rkey: str, key: str, work: Work) -> str | None:
        try:
            reply = await work()
        except BaseException:
            self._shared.put(rkey, None, 0)  # the next retry does the work again
            raise
        late = self._late.get(key) is not None
        value = SUCCESS if reply is None or late else b"=" + reply.encode("utf-8")
        self._shared.put(rkey, value, self._ttl)
        await self._shared.settled()  # the reply and the page it left, seen by every process
        return reply

    async def _wait(self, rkey: str, key: str, work: Work, attempt: Attempt) -> str | None:
        """The reply another process gives; if its claim is gone unanswered, do the work."""
        deadline = time.monotonic() + WAIT
        delay = 0.002
        while True:
            value = await self._shared.do("GET", rkey)
            if value is None and await self._claim(rkey):
                attempt.own = True  # the first attempt failed: this process answers
                return await self._run(rkey, key, work)
            if value is not None and value != PENDING:
                return _reply(value)
            if time.monotonic() > deadline:
                raise TimeoutError(f"no reply to {key} from another process within {WAIT} s")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.05)

    def _forget_failed(self, key: str, task: asyncio.Future[str | None]) -> None:
        if task.cancelled() or task.exception() is not None:
            self._local.pop(key)


class RedisPages:
    """Followers' pages in Redis; this process reads its own writes before they have left."""

    def __init__(self, shared: Shared, ttl: float = PAGE_TTL) -> None:
        self._shared = shared
        self._ttl = ttl

    async def page(self, openid: str) -> Page | None:
        rkey = self._shared.key("page", openid)
        pending = self._shared.pending(rkey)
        value = pending[0] if pending else await self._shared.do("GET", rkey)
        if value is None:
            return None
        try:
            kind, arg, offset = json.loads(value)
            return Page(str(kind), str(arg), int(offset))
        except (ValueError, TypeError):
            log.warning("page of %s in Redis is not one of ours; ignored", openid)
            return None

    def set_page(self, openid: str, page: Page) -> None:
        value = json.dumps([page.kind, page.arg, page.offset], ensure_ascii=False)
        self._shared.put(self._shared.key("page", openid), value.encode("utf-8"), self._ttl)

    def forget(self, openid: str) -> None:
        self._shared.put(self._shared.key("page", openid), None, 0)


class RedisReplays:
    """The signed URLs seen, with their body's digest, for `ttl` seconds."""

    def __init__(self, shared: Shared, ttl: float) -> None:
        self._shared = shared
        self._ttl = ttl

    async def first_or_same(self, key: str, body: bytes) -> bool:
        rkey = self._shared.key("seen", key)
        digest = hashlib.blake2b(body, digest_size=16).digest()  # the same in every process
        old = await self._shared.do("SET", rkey, digest, "NX", "GET", "PX", _ms(self._ttl))
        return old is None or old == digest


def _ms(seconds: float) -> int:
    return max(int(seconds * 1000), 1)

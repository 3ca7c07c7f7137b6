"""What the webhook remembers: followers' pages, retried messages, interaction times.

- TTLCache: a bounded LRU whose entries expire; the building block of the others.
- Page: a follower's last query (or issue) and where the next page starts, kept 30 minutes.
  Pages is where they are kept; Sessions keeps them in this process's memory.
- Retries: WeChat retries a message it got no answer for; the retry joins the first attempt
  and gets the same reply, so nothing happens twice (PLATFORM.md). Dedupe does it in memory.
- Interactions: last-interaction times collected in memory and written in batches with
  store.touch() by a background task, never on the reply path.

Pages and Retries are the seams of redis.url: bot.chat.redis_state keeps the same in Redis for
every process and host; its calls raise SharedUnavailable while Redis cannot be reached.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, Protocol, TypeVar

log = logging.getLogger(__name__)

K = TypeVar("K")
V = TypeVar("V")

PAGE_TTL = 30 * 60.0
DEDUPE_TTL = 5 * 60.0


class TTLCache(Generic[K, V]):
    """At most `maxsize` entries, each forgotten `ttl` seconds after it was last written."""

    def __init__(
        self, maxsize: int, ttl: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.maxsize = maxsize
        self.ttl = ttl
        self._clock = clock
        self._data: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def get(self, key: K) -> V | None:
        item = self._data.get(key)
        if item is None:
            return None
        expires, value = item
        if expires < self._clock():
            del self._data[key]
            return None
        self._data.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._data[key] = (self._clock() + self.ttl, value)
        self._data.move_to_end(key)
        while len(self._data) > self.maxsize:
            self._data.popitem(last=False)

    def pop(self, key: K) -> V | None:
        item = self._data.pop(key, None)
        return None if item is None else item[1]

    def clear(self) -> None:
        self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


@dataclass(frozen=True)
class Page:
    """Where a follower's paging stands: `kind` is "search" (arg: the query) or "issue" (a date)."""

    kind: str
    arg: str
    offset: int


Work = Callable[[], Awaitable[str | None]]


class Pages(Protocol):
    """Each follower's last Page. Writes return at once (Redis: sent in the background)."""

    async def page(self, openid: str) -> Page | None: ...

    def set_page(self, openid: str, page: Page) -> None: ...

    def forget(self, openid: str) -> None: ...


@dataclass
class Attempt:
    """The task answering a message key. own: this process runs the work (else it waits for
    another process's); joined: a retry, answered with the first attempt's reply."""

    task: asyncio.Future[str | None]
    own: bool = True
    joined: bool = False


class Retries(Protocol):
    """Runs each message key once, wherever its retries land."""

    async def start(self, key: str, work: Work) -> Attempt: ...

    def went_late(self, key: str) -> None:
        """The reply to `key` goes by customer service: its retries are answered `success`."""


class Sessions:
    """Each follower's last Page, in memory, kept PAGE_TTL seconds after it was written."""

    def __init__(self, maxsize: int = 100_000, ttl: float = PAGE_TTL) -> None:
        self._pages: TTLCache[str, Page] = TTLCache(maxsize, ttl)

    async def page(self, openid: str) -> Page | None:
        return self._pages.get(openid)

    def set_page(self, openid: str, page: Page) -> None:
        self._pages.put(openid, page)

    def forget(self, openid: str) -> None:
        self._pages.pop(openid)


class Dedupe:
    """Runs each message once in this process: a retry awaits the first attempt's task."""

    def __init__(self, maxsize: int = 50_000, ttl: float = DEDUPE_TTL) -> None:
        self._tasks: TTLCache[str, asyncio.Task[str | None]] = TTLCache(maxsize, ttl)

    async def start(self, key: str, work: Work) -> Attempt:
        """The attempt answering `key`: the first one's, or a new one. Await its task shielded:
        a dropped connection must not cancel the work a retry will wait for."""
        task = self._tasks.get(key)
        if task is not None:
            return Attempt(task, joined=True)
        task = asyncio.ensure_future(work())
        self._tasks.put(key, task)
        task.add_done_callback(lambda t: self._forget_failed(key, t))
        return Attempt(task)

    def went_late(self, key: str) -> None:
        """Nothing to do: bot.chat.late answers this process's retries `success` meanwhile."""

    def _forget_failed(self, key: str, task: asyncio.Task[str | None]) -> None:
        if task.cancelled() or task.exception() is not None:
            self._tasks.pop(key)


class Interactions:
    """Last-interaction times, flushed to the store in one batch every `every` seconds."""

    def __init__(self, write: Callable[[Mapping[str, datetime]], Awaitable[None]]) -> None:
        self._write = write
        self._pending: dict[str, float] = {}  # epoch seconds: a datetime is made at the flush

    def note(self, openid: str) -> None:
        """`openid` wrote now."""
        self._pending[openid] = time.time()

    def __len__(self) -> int:
        return len(self._pending)

    async def flush(self) -> int:
        """Write what was collected; on failure keep it for the next try. Returns the count."""
        if not self._pending:
            return 0
        pending, self._pending = self._pending, {}
        batch = {openid: datetime.fromtimestamp(t, UTC) for openid, t in pending.items()}
        try:
            await self._write(batch)
        except Exception as exc:
            log.warning("could not record %d interaction times, will retry: %s", len(batch), exc)
            for openid, when in pending.items():
                self._pending.setdefault(openid, when)
            return 0
        return len(batch)

    async def run(self, every: float = 5.0) -> None:
        """Flush forever (until cancelled), then one last time."""
        try:
            while True:
                await asyncio.sleep(every)
                await self.flush()
        finally:
            await self.flush()

"""Group commit: the webhook's writes from many followers committed together, in order.

Each write is a function of (connection, now). GroupCommit.commit() queues it and waits; one
task takes everything queued within a few milliseconds and runs it in one transaction, so a
burst of thousands of 订阅 is a few dozen commits instead of thousands of lock waits. A write
is reported done only once its transaction has committed. If a batch fails, its writes are
tried again one transaction each, so one bad write cannot fail the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.schema import utcnow

log = logging.getLogger(__name__)

Write = Callable[[AsyncConnection, datetime], Awaitable[Any]]
WINDOW = 0.002  # seconds of arrivals gathered into one transaction
MAX_BATCH = 500


class GroupCommit:
    """Queues writes and commits them in batches with `begin` (a transaction factory)."""

    def __init__(self, begin: Callable[[], Any], check: Callable[[], None]) -> None:
        self._begin = begin
        self._check = check  # raises when the store must not be written (bot.store.engine)
        self._queue: asyncio.Queue[tuple[Write, asyncio.Future[Any]]] | None = None
        self._task: asyncio.Task[None] | None = None

    async def commit(self, write: Write) -> Any:
        """Run `write` in the next batch; its result once committed, or its exception."""
        if self._queue is None or self._task is None or self._task.done():
            self._queue = asyncio.Queue()
            self._task = asyncio.create_task(self._run(self._queue))
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((write, future))
        return await future  # cancelled before its batch starts: skipped

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self, queue: asyncio.Queue[tuple[Write, asyncio.Future[Any]]]) -> None:
        while True:
            batch = [await queue.get()]
            await asyncio.sleep(WINDOW)
            while len(batch) < MAX_BATCH and not queue.empty():
                batch.append(queue.get_nowait())
            batch = [(w, f) for w, f in batch if not f.done()]
            if batch:
                await self._apply(batch)

    async def _apply(self, batch: list[tuple[Write, asyncio.Future[Any]]]) -> None:
        try:
            results = await self._transaction([w for w, _ in batch])
        except Exception as exc:
            if len(batch) == 1:
                _settle(batch[0][1], exc=exc)
                return
            for item in batch:  # one at a time, so a single bad write fails alone
                await self._apply([item])
            return
        for (_, future), result in zip(batch, results, strict=True):
            _settle(future, result=result)

    async def _transaction(self, writes: list[Write]) -> list[Any]:
        self._check()
        now = utcnow()
        async with self._begin() as conn:
            return [await write(conn, now) for write in writes]


def _settle(future: asyncio.Future[Any], result: Any = None, exc: Exception | None = None) -> None:
    if future.done():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)

"""SQLite transactions run whole on one thread of their own: one hop per transaction.

Through aiosqlite every statement of a transaction (BEGIN, each execute, fetch, COMMIT) is a
hop to its thread and back, and the SQLAlchemy asyncio layer adds a greenlet switch to each:
for a broadcast's ledger, which writes a small transaction for every few messages, that was
most of a message's database cost. Here the transaction is a plain function over a synchronous
SQLAlchemy Connection (the same file, the same settings: bot.store.engine), run on one
dedicated thread, so the event loop hands it over once and gets the result back once.

A caller cancelled while its transaction runs does not stop it: the transaction commits (or
rolls back on its error) as a whole, as if the caller had waited.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from sqlalchemy import Connection
from sqlalchemy.engine import URL

from bot.store.engine import sqlite_thread_engine

T = TypeVar("T")


class SQLiteThread:
    """Runs transactions on one thread over a synchronous engine on the store's file."""

    def __init__(self, url: URL) -> None:
        self._engine = sqlite_thread_engine(url)
        self._reader = self._engine.execution_options(neuraltalk_readonly=True)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-write")

    async def write(self, work: Callable[[Connection], T]) -> T:
        """work(conn) inside one BEGIN IMMEDIATE ... COMMIT on the thread; its result."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._run, work)

    async def read(self, work: Callable[[Connection], T]) -> T:
        """work(conn) inside a read-only transaction (a deferred BEGIN) on the thread."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._read, work)

    def _run(self, work: Callable[[Connection], T]) -> T:
        with self._engine.begin() as conn:
            return work(conn)

    def _read(self, work: Callable[[Connection], T]) -> T:
        with self._reader.begin() as conn:
            return work(conn)

    def close(self) -> None:
        """Wait for the transaction running, if any; then close the connection."""
        self._executor.shutdown(wait=True)
        self._engine.dispose()

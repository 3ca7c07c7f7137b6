"""Opening the store's database: the engine for a storage.url, and its schema migrated.

SQLite (a file; WAL, a busy timeout, foreign keys, BEGIN IMMEDIATE for writes so that two
writers queue instead of failing) or PostgreSQL through asyncpg, where `?schema=NAME` keeps the
tables in their own schema. bot.store.store.Store.open uses migrated_engine(); what cannot be opened
is a StoreError saying what to fix, without the password.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.errors import UserError
from bot.store import migrations

BUSY_TIMEOUT_MS = 30_000


class StoreError(UserError):
    """The store cannot be opened; the message says what to fix."""


def engine_for(url: str) -> tuple[AsyncEngine, str | None]:
    """An async engine for a storage.url, and the PostgreSQL schema named in it (if any)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError(f"storage.url {url!r} is not a database URL") from None
    if parsed.drivername in ("sqlite", "sqlite+aiosqlite"):
        return _sqlite_engine(parsed), None
    if parsed.drivername in ("postgresql", "postgres", "postgresql+asyncpg"):
        return _postgres_engine(parsed)
    raise StoreError(
        f"storage.url must be sqlite:///path/to/file.db or postgresql://user@host/db, got {url!r}"
    )


def _sqlite_engine(parsed: URL) -> AsyncEngine:
    if not parsed.database or parsed.database == ":memory:":
        raise StoreError("storage.url needs a file: sqlite:///data/neuraltalk.db")
    folder = Path(parsed.database).parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create {folder} for storage.url: {exc.strerror}") from None
    engine = create_async_engine(parsed.set(drivername="sqlite+aiosqlite"))
    _sqlite_settings(engine.sync_engine)
    return engine


def sqlite_thread_engine(url: URL) -> Engine:
    """A synchronous engine on the same SQLite file with the same settings, for the
    transactions that run whole on a thread of their own (bot.store.sqlite_thread)."""
    engine = create_engine(url.set(drivername="sqlite+pysqlite"), pool_size=1)
    _sqlite_settings(engine)
    return engine


def _sqlite_settings(engine: Engine) -> None:
    """WAL, a busy timeout, foreign keys on every connection; BEGIN IMMEDIATE for writes."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        try:  # the mode is kept in the file: one connection that switches it is enough
            cursor.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError as exc:  # another connection is switching it right now:
            if "locked" not in str(exc):  # SQLite answers that at once, without waiting
                raise
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        readonly = conn.get_execution_options().get("neuraltalk_readonly", False)
        conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


def _postgres_engine(parsed: URL) -> tuple[AsyncEngine, str | None]:
    schema = parsed.query.get("schema")
    if isinstance(schema, tuple):
        schema = schema[-1]
    if schema is not None and not migrations.SCHEMA_NAME.match(schema):
        raise StoreError(f"storage.url schema {schema!r}: use lower-case letters, digits and _")
    parsed = parsed.difference_update_query(["schema"]).set(drivername="postgresql+asyncpg")
    connect_args = {"server_settings": {"search_path": schema}} if schema else {}
    return create_async_engine(parsed, connect_args=connect_args, pool_size=10), schema


async def migrated_engine(url: str) -> AsyncEngine:
    """The engine for a storage.url, its schema created or upgraded by the migrations."""
    engine, schema = engine_for(url)
    await migrate(engine, schema, url)
    return engine


async def migrate(engine: AsyncEngine, schema: str | None, url: str) -> None:
    """Create or upgrade the schema; StoreError (the engine disposed) if the store cannot."""
    try:
        async with engine.begin() as conn:
            await conn.run_sync(migrations.upgrade, schema)
    except (OSError, SQLAlchemyError) as exc:
        await engine.dispose()
        where = make_url(url).render_as_string(hide_password=True)
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise StoreError(f"cannot open the store at {where} (storage.url): {reason}") from exc


class StoreUnavailable(Exception):
    """The store must not be written now (closed, or its file gone, replaced or read-only)."""


class FileGuard:
    """Checks that a store may be written: not closed (its engine would open new connections
    nobody closes), and a SQLite store's file still the one opened: not deleted, replaced or
    made unwritable under the running server (writes would go to a lost inode, or fail)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.closed = False
        self.reset()

    def close(self) -> None:
        """The store was closed: every later write is refused."""
        self.closed = True

    def reset(self) -> None:
        """Take the file as it is now as the store's file (once the migrations created it)."""
        self._identity = _identity(self.path) if self.path is not None else None

    @classmethod
    def for_engine(cls, engine: AsyncEngine) -> FileGuard:
        database = engine.url.database if engine.dialect.name == "sqlite" else None
        return cls(Path(database).resolve() if database else None)

    def problem(self) -> str | None:
        """Why the store cannot be written now, or None."""
        if self.closed:
            return "the store is closed"
        if self.path is None:
            return None
        identity = _identity(self.path)
        if identity is None:
            return f"the store file {self.path} was deleted"
        if identity != self._identity:
            return f"the store file {self.path} was replaced by another file"
        for path in (self.path, Path(f"{self.path}-wal"), Path(f"{self.path}-shm")):
            if path.exists() and not os.access(path, os.R_OK | os.W_OK):
                return f"{path} is not writable"
        if not os.access(self.path.parent, os.W_OK):
            return f"the folder {self.path.parent} of the store is not writable"
        return None

    def check(self) -> None:
        reason = self.problem()
        if reason is not None:
            raise StoreUnavailable(reason)


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino

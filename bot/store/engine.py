"""Opening the store's database: the engine for a storage.url, and its schema migrated.

SQLite (a file; WAL, a busy timeout, foreign keys, BEGIN IMMEDIATE for writes so that two
writers queue instead of failing) or PostgreSQL through asyncpg, where `?schema=NAME` keeps the
tables in their own schema. bot.store.store.Store.open uses migrated_engine(); what cannot be opened
is a StoreError saying what to fix, without the password.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import event
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

    @event.listens_for(engine.sync_engine, "connect")
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

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Any) -> None:
        readonly = conn.get_execution_options().get("neuraltalk_readonly", False)
        conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

    return engine


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
    try:
        async with engine.begin() as conn:
            await conn.run_sync(migrations.upgrade, schema)
    except (OSError, SQLAlchemyError) as exc:
        await engine.dispose()
        where = make_url(url).render_as_string(hide_password=True)
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise StoreError(f"cannot open the store at {where} (storage.url): {reason}") from exc
    return engine

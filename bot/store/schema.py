"""The store's tables (SQLAlchemy Core) and the transaction helpers its modules share.

The tables here describe what the migrations in bot/store/migrations/versions create; a test checks
that the two agree. Every time is timezone-aware UTC in Python (UTCDateTime).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.types import TypeDecorator

from bot.store.sqlite_thread import SQLiteThread

ACTIVE, UNSUBSCRIBED = "active", "unsubscribed"


class CampaignStatus(StrEnum):
    """campaigns.status: planned -> running -> finished, or paused / stopped (resumable)."""

    PLANNED = "planned"
    RUNNING = "running"
    PAUSED = "paused"  # interrupted (Ctrl-C, SIGTERM)
    STOPPED = "stopped"  # an error, or deliveries in doubt left
    FAILED = "failed"
    FINISHED = "finished"


class DeliveryStatus(StrEnum):
    """deliveries.status: pending -> sending (its request on the wire) -> sent | failed."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"


class Channel(StrEnum):
    """campaigns.channel (AUTO, CUSTOM, MASS) and deliveries.channel (CUSTOM or MASS)."""

    AUTO = "auto"
    CUSTOM = "custom"
    MASS = "mass"


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on both backends (SQLite stores it naive, in UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the store needs timezone-aware times")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()

subscribers = Table(
    "subscribers",
    metadata,
    Column("openid", String(64), primary_key=True),
    Column("status", String(16), nullable=False),  # ACTIVE or UNSUBSCRIBED, never deleted
    Column("all_issues", Boolean, nullable=False),
    Column("subscribed_at", UTCDateTime, nullable=False),
    Column("unsubscribed_at", UTCDateTime),
    Index("ix_subscribers_status_openid", "status", "openid"),
)

# Last interaction of any follower (subscriber or not): the 48-hour customer-service window.
interactions = Table(
    "interactions",
    metadata,
    Column("openid", String(64), primary_key=True),
    Column("last_at", UTCDateTime, nullable=False),
)

topics = Table(
    "topics",
    metadata,
    Column("openid", String(64), ForeignKey("subscribers.openid"), primary_key=True),
    Column("topic", String(20), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_topics_topic_status", "topic", "status"),
)

access_token = Table(
    "access_token",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),  # always 1: one row
    Column("token", Text, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

campaigns = Table(
    "campaigns",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("issue", String(10), nullable=False),
    Column("channel", String(8), nullable=False),
    Column("status", String(10), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("planned_at", UTCDateTime),
    Column("started_at", UTCDateTime),
    Column("finished_at", UTCDateTime),
    Column("lease_owner", String(128)),
    Column("lease_until", UTCDateTime),
    Column("stop_reason", Text),
    Column("mass_status", String(64)),
    Column("mass_total", Integer),
    Column("mass_filter", Integer),
    Column("mass_sent", Integer),
    Column("mass_errors", Integer),
    UniqueConstraint("issue", "channel", name="uq_campaigns_issue_channel"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("campaign_id", Integer, ForeignKey("campaigns.id"), primary_key=True),
    Column("openid", String(64), primary_key=True),
    Column("channel", String(8), nullable=False),
    Column("digest_key", Text, nullable=False),
    Column("status", String(8), nullable=False),
    Column("errcode", Integer),
    Column("error", Text),
    Column("attempts", Integer, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("batch_id", String(64)),
    Column("claimed_by", String(128)),
    Index("ix_deliveries_campaign_status_openid", "campaign_id", "status", "openid"),
)

mass_jobs = Table(
    "mass_jobs",
    metadata,
    Column("campaign_id", Integer, ForeignKey("campaigns.id"), primary_key=True),
    Column("batch_id", String(64), primary_key=True),
    Column("clientmsgid", String(64), nullable=False, unique=True),
    Column("digest_key", Text, nullable=False),
    Column("recipients", Integer, nullable=False),
    Column("msg_id", String(32), index=True),
    Column("status", String(64), nullable=False),
    Column("errcode", Integer),
    Column("total", Integer),
    Column("filter_count", Integer),
    Column("sent", Integer),
    Column("errors", Integer),
    Column("created_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
)

previews = Table(
    "previews",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("openid", String(64), nullable=False),
    Column("issue", String(10), nullable=False),
    Column("sent_at", UTCDateTime, nullable=False),
    Column("errcode", Integer),
    Column("error", Text),
)


class Database:
    """An async engine with the two kinds of transactions the store uses.

    write(): a transaction that will write (SQLite: BEGIN IMMEDIATE, so writers queue on the
    busy timeout instead of failing); read(): a read-only one (SQLite: a deferred BEGIN);
    autocommit(): each statement its own transaction.
    thread (SQLite only): write transactions run whole on a thread of their own, for the hot
    ones (bot.store.sqlite_thread); None on PostgreSQL.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._reader = engine.execution_options(neuraltalk_readonly=True)
        self.is_postgres = engine.dialect.name == "postgresql"
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
        self.thread = SQLiteThread(engine.url) if engine.dialect.name == "sqlite" else None

    def write(self) -> AbstractAsyncContextManager[AsyncConnection]:
        return self.engine.begin()

    def autocommit(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """A connection whose every statement is a transaction of its own (PostgreSQL: one
        statement, one round trip, without BEGIN and COMMIT)."""
        return self._autocommit.connect()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self._reader.connect() as conn:
            yield conn

    def insert(self, table: Table) -> Any:
        """INSERT with on_conflict_do_nothing / on_conflict_do_update for this backend."""
        return postgresql.insert(table) if self.is_postgres else sqlite.insert(table)

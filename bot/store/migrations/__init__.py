"""Versioned schema migrations (alembic), run by Store.open on every start.

`upgrade(connection)` brings the database to the newest revision inside the caller's
transaction. Two processes opening the store at once are serialized: on PostgreSQL by an
advisory lock held until the transaction ends, on SQLite by the BEGIN IMMEDIATE write lock
the caller's transaction already holds. The second one then finds nothing left to do.
Within one process, alembic keeps the running migration in module globals, so upgrades also
take turns on a lock (always after the database's lock, so the two cannot deadlock).

A new revision: copy versions/0001_initial.py to the next number, set `revision` and
`down_revision`, and change bot/store/schema.py to match (tests/test_store.py compares the two).
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

HERE = Path(__file__).resolve().parent
ADVISORY_LOCK = 0x4E54_4D47  # "NTMG": the one key NeuralTalk migrations lock on
SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_ONE_AT_A_TIME = threading.Lock()  # alembic's context is process-global


def _config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.attributes["connection"] = connection
    return config


def upgrade(connection: Connection, schema: str | None = None) -> None:
    """Migrate to the newest revision; on PostgreSQL, create `schema` first if given."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({ADVISORY_LOCK})")
        if schema is not None:
            if not SCHEMA_NAME.match(schema):
                raise ValueError(f"bad schema name {schema!r}")
            connection.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    with _ONE_AT_A_TIME:
        command.upgrade(_config(connection), "head")


def head() -> str:
    """The newest revision the code knows."""
    revision = ScriptDirectory(str(HERE)).get_current_head()
    assert revision is not None
    return revision


def current(connection: Connection) -> str | None:
    """The revision the database is at (None: not migrated yet)."""
    return MigrationContext.configure(connection).get_current_revision()

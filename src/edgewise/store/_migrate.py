"""Run the Alembic migrations shipped inside the package."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection

MIGRATIONS = Path(__file__).parent / "migrations"

#: The PostgreSQL advisory lock that serialises upgrades (any fixed 64-bit key).
PG_LOCK_KEY = 0x65646765_77697365  # "edgewise"


def _config(conn: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def upgrade(conn: Connection) -> None:
    """Upgrade to head on ``conn``; skips Alembic's machinery when already current.

    Several processes may open a new store at once: the upgrade runs under a lock
    held until ``conn``'s transaction ends, and the revision is read again inside it.
    """
    head = head_revision()
    if current_revision(conn) == head:
        return
    _lock(conn)
    if current_revision(conn) == head:  # another process upgraded while we waited
        return
    command.upgrade(_config(conn), "head")


def _lock(conn: Connection) -> None:
    """Take the database's migration lock, released when ``conn``'s transaction ends."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_LOCK_KEY})
    elif conn.dialect.name == "sqlite":
        # pysqlite opens no transaction for a SELECT or DDL: this opens one holding the
        # write lock (other processes wait on the busy timeout), so the upgrade's DDL
        # and its version stamp commit together, after any other process's.
        conn.exec_driver_sql("BEGIN EXCLUSIVE")

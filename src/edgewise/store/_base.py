"""The store's core: connecting, migrating, one transaction per write, devices and models."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError, SQLAlchemyError

from edgewise.errors import StoreError, StoreUnavailableError
from edgewise.store import _schema as t
from edgewise.store._records import (
    DeviceRecord,
    ModelRecord,
)

ENV_VAR = "EDGEWISE_DB"

R = TypeVar("R")


def default_url() -> str:
    """``$EDGEWISE_DB``, else an SQLite file in the edgewise home (``$EDGEWISE_HOME``,
    else the user's data dir)."""
    url = os.environ.get(ENV_VAR)
    if url:
        return url
    from edgewise._paths import home

    return f"sqlite:///{home() / 'edgewise.db'}"


def _now() -> datetime:
    return datetime.now(UTC)


def _redact(url: str) -> str:
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


class StoreBase:
    """Connection, migrations, transactions, devices and models: what every part of the store uses."""

    def __init__(self, url: str | None = None, *, migrate: bool = True) -> None:
        self.url = url or default_url()
        self.engine = _connect(self.url)
        if migrate:
            self.migrate()

    # -- lifecycle -----------------------------------------------------------------
    def migrate(self) -> None:
        """Upgrade the schema to the newest migration (a no-op when current)."""
        from edgewise.store._migrate import upgrade

        with self._begin() as conn:
            upgrade(conn)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _begin(self) -> Iterator[Connection]:
        try:
            with self.engine.begin() as conn:
                yield conn
        except OperationalError as exc:
            if not _unreachable(exc):  # a statement failed: edgewise's fault, not the URL's
                raise StoreError(f"store error: {exc}".splitlines()[0]) from exc
            raise StoreUnavailableError(
                f"cannot use store {_redact(self.url)}: {exc.orig}".splitlines()[0]
            ) from exc
        except SQLAlchemyError as exc:
            if "not a database" in str(
                getattr(exc, "orig", "")
            ):  # EDGEWISE_DB names some other file
                raise StoreUnavailableError(
                    f"cannot use store {_redact(self.url)}: the file is not a database"
                ) from exc
            raise StoreError(f"store error: {exc}".splitlines()[0]) from exc

    @staticmethod
    def _insert(conn: Connection, table: sa.Table, **values: Any) -> int:
        """Insert one row stamped with ``created_at``; returns its id."""
        res = conn.execute(table.insert().values(**values, created_at=_now()))
        return int(res.inserted_primary_key[0])  # type: ignore[index]

    # -- devices and models ----------------------------------------------------------
    # Each upsert is an INSERT ... ON CONFLICT, then a SELECT of the id. Selecting first
    # let two processes adding the same new device or model both insert it (and one fail).
    def _upsert_device(self, conn: Connection, device: DeviceRecord) -> int:
        """Add the device, or give an existing one of that name this kind and fingerprint."""
        ins = _insert_or(conn, t.devices).values(
            name=device.name,
            kind=device.kind,
            fingerprint_sha=device.fingerprint_sha,
            fingerprint=device.fingerprint,
            created_at=_now(),
        )
        updated = ("kind", "fingerprint_sha", "fingerprint")
        conn.execute(
            ins.on_conflict_do_update(
                index_elements=[t.devices.c.name], set_={c: ins.excluded[c] for c in updated}
            )
        )
        return int(
            conn.execute(
                sa.select(t.devices.c.id).where(t.devices.c.name == device.name)
            ).scalar_one()
        )

    def _upsert_model(self, conn: Connection, model: ModelRecord) -> int:
        """Add the model; one already stored under its sha256 is kept as it is."""
        ins = _insert_or(conn, t.models).values(**record_values(model), created_at=_now())
        conn.execute(ins.on_conflict_do_nothing(index_elements=[t.models.c.sha256]))
        return int(
            conn.execute(
                sa.select(t.models.c.id).where(t.models.c.sha256 == model.sha256)
            ).scalar_one()
        )

    def add_device(self, device: DeviceRecord) -> int:
        with self._begin() as conn:
            return self._upsert_device(conn, device)

    def list_devices(self) -> list[DeviceRecord]:
        with self._begin() as conn:
            rows = conn.execute(sa.select(t.devices).order_by(t.devices.c.id)).all()
        return [record_from(DeviceRecord, r._mapping) for r in rows]

    def list_models(self) -> list[ModelRecord]:
        with self._begin() as conn:
            rows = conn.execute(sa.select(t.models).order_by(t.models.c.id)).all()
        return [record_from(ModelRecord, r._mapping) for r in rows]


#: SQLite's error codes for a file that cannot be used (missing, read-only, locked past the
#: busy timeout, a full or failing disk); SQLITE_ERROR is a statement that failed.
_SQLITE_UNUSABLE = tuple(
    f"SQLITE_{name}" for name in "CANTOPEN PERM READONLY BUSY LOCKED IOERR FULL PROTOCOL".split()
)
#: PostgreSQL's SQLSTATEs for a server that cannot be used: connection exceptions (08),
#: too many connections, a shutdown or a restart.
_PG_UNREACHABLE = ("08", "53300", "57P01", "57P02", "57P03")


def _unreachable(exc: OperationalError) -> bool:
    """Whether ``exc`` says the store cannot be reached or used at all (the user's to fix,
    exit 2), rather than that a statement failed (an internal error, exit 1)."""
    if exc.connection_invalidated:
        return True
    sqlite_code = getattr(exc.orig, "sqlite_errorname", None)
    if sqlite_code is not None:
        return str(sqlite_code).startswith(_SQLITE_UNUSABLE)
    # psycopg's; None when the client itself lost or never reached the server
    sqlstate = getattr(exc.orig, "sqlstate", None)
    return sqlstate is None or str(sqlstate).startswith(_PG_UNREACHABLE)


def _insert_or(conn: Connection, table: sa.Table) -> sqlite.Insert | postgresql.Insert:
    """An INSERT with ON CONFLICT clauses, in ``conn``'s dialect."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def _connect(url: str) -> Engine:
    try:
        parsed = sa.engine.make_url(url)
    except ArgumentError as exc:
        raise StoreUnavailableError(f"bad store URL {url!r}: expected an SQLAlchemy URL") from exc
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        db = parsed.database
        if db and db != ":memory:":
            try:
                Path(db).expanduser().parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreUnavailableError(
                    f"cannot create store directory for {db}: {exc}"
                ) from exc
        else:
            # One shared in-memory database for the life of the engine.
            kwargs["poolclass"] = sa.pool.StaticPool
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    elif parsed.get_backend_name() == "postgresql":
        kwargs["connect_args"] = {"connect_timeout": 5}
        kwargs["pool_pre_ping"] = True
    try:
        engine = sa.create_engine(parsed, **kwargs)
    except (NoSuchModuleError, ImportError) as exc:
        raise StoreUnavailableError(
            f"store URL {_redact(url)} needs a driver that is not installed: {exc}"
        ) from exc
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except SQLAlchemyError as exc:
        engine.dispose()
        msg = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise StoreUnavailableError(f"cannot open store {_redact(url)}: {msg}") from exc
    return engine


def record_from(cls: type[R], row: Mapping[Any, Any], prefix: str = "", **given: Any) -> R:
    """A record dataclass from a result row: each field from its same-named column.

    ``prefix`` selects joined columns labelled ``prefix + name``; ``given`` supplies
    fields that need converting (JSON to tuples, ints to bools) or have no column.
    Fields with neither a column nor a given value keep their defaults.
    """
    values = {
        f.name: row[prefix + f.name]
        for f in fields(cls)  # type: ignore[arg-type]
        if f.name not in given and prefix + f.name in row
    }
    return cls(**values, **given)


def record_values(record: Any, *, skip: tuple[str, ...] = ("id", "created_at")) -> dict[str, Any]:
    """A record's fields as insert values (its id and timestamp come from the store)."""
    return {f.name: getattr(record, f.name) for f in fields(record) if f.name not in skip}

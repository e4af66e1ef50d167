"""Several processes using one store at once: first use (migration) and upserts race-free.

Real processes (forked, lined up at a barrier) on real SQLite files and PostgreSQL
databases; each round repeats the race so a lost one shows up reliably.
"""

from __future__ import annotations

import multiprocessing as mp
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from edgewise.store import LatencyRecord, Store
from tests.store.test_store import _device, _measurement, _model

PROCS = 4
ROUNDS = 5

# Forked workers start at once (nothing to import) so the barrier lines them up tightly.
_ctx = mp.get_context("fork")


def _worker(barrier: Any, results: Any, url: str, job: str, name: str) -> None:
    try:
        barrier.wait(timeout=30)
        if job == "open":
            Store(url).close()
        else:
            with Store(url, migrate=False) as store:
                if job == "device":
                    store.add_device(_device(name))
                elif job == "latency":  # the same imported rows, as two `data import`s
                    store.add_latency_records(
                        [
                            LatencyRecord(device=name, latency_ms=1.0 + i, space="s", arch=str(i))
                            for i in range(50)
                        ]
                    )
                else:  # "measurement": a new model and a new device
                    store.add_measurement(
                        _measurement(), model=_model(name * 64), device=_device(name)
                    )
        results.put("ok")
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        results.put(f"{type(exc).__name__}: {exc}")


def _race(url: str, job: str, name: str = "") -> list[str]:
    """Run ``job`` in PROCS processes at once; each one's "ok" or error."""
    barrier, results = _ctx.Barrier(PROCS), _ctx.Queue()
    procs = [
        _ctx.Process(target=_worker, args=(barrier, results, url, job, name)) for _ in range(PROCS)
    ]
    for p in procs:
        p.start()
    got = [results.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    return got


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """Makes empty databases (never migrated) and hands back their URLs."""
    if request.param == "sqlite":
        yield lambda: f"sqlite:///{tmp_path / f'{uuid.uuid4().hex}.db'}"
        return
    admin = sa.create_engine(request.getfixturevalue("pg_url"), isolation_level="AUTOCOMMIT")
    made: list[str] = []

    def make() -> str:
        name = f"race_{uuid.uuid4().hex[:12]}"
        with admin.connect() as conn:
            conn.execute(sa.text(f"CREATE DATABASE {name}"))
        made.append(name)
        return admin.url.set(database=name).render_as_string(hide_password=False)

    yield make
    with admin.connect() as conn:
        for name in made:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def test_first_use_by_several_processes_migrates_once(fresh_db: Callable[[], str]) -> None:
    for _ in range(ROUNDS):
        url = fresh_db()
        assert _race(url, "open") == ["ok"] * PROCS
        with Store(url) as store:
            assert store.list_devices() == []


@pytest.mark.parametrize("job", ["device", "measurement"])
def test_one_new_device_from_several_processes(fresh_db: Callable[[], str], job: str) -> None:
    url = fresh_db()
    Store(url).close()
    names = "bcdef"[:ROUNDS]
    for name in names:
        assert _race(url, job, name) == ["ok"] * PROCS
    with Store(url) as store:
        assert sorted(d.name for d in store.list_devices()) == list(names)
        if job == "measurement":
            assert len(store.list_models()) == ROUNDS
            assert len(store.list_measurements(limit=1000)) == ROUNDS * PROCS


def test_the_same_latency_rows_from_several_processes(fresh_db: Callable[[], str]) -> None:
    """Imports read the stored rows, deleted the stale ones and inserted: a concurrent
    import of the same rows hit the unique key. They are one upsert now."""
    url = fresh_db()
    Store(url).close()
    for name in "bcdef"[:ROUNDS]:
        assert _race(url, "latency", name) == ["ok"] * PROCS
    with Store(url) as store:
        assert len(store.latency_records()) == 50 * ROUNDS

"""Shared fixtures: an isolated environment, stores, and a throwaway PostgreSQL server."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from edgewise.store import Store

# A shared, noisy 2-core machine: time limits per example would only make tests flaky.
hypothesis_settings.register_profile("edgewise", deadline=None)
hypothesis_settings.load_profile("edgewise")

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(autouse=True)
def clean_environ(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own SQLite store and never sees the user's EDGEWISE_* settings."""
    for key in list(os.environ):
        if key.startswith("EDGEWISE_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("EDGEWISE_DB", f"sqlite:///{tmp_path / 'edgewise.db'}")
    monkeypatch.setenv("EDGEWISE_HOME", str(tmp_path / "home"))


@pytest.fixture
def fresh_store() -> Iterator[Store]:
    """An in-memory SQLite store."""
    store = Store("sqlite://")
    yield store
    store.close()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data folder not found at {SHARED_DATA}")
    return SHARED_DATA


# Read before clean_environ hides every EDGEWISE_* variable from the tests.
_PG_URL_FROM_ENV = os.environ.get("EDGEWISE_TEST_PG_URL")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL: $EDGEWISE_TEST_PG_URL, else a throwaway server started here."""
    url = _PG_URL_FROM_ENV
    if url:
        yield url
        return
    bindir = _pg_bin()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries not found (.ci/run installs them)")
    tmp = Path(tempfile.mkdtemp(prefix="edgewise-pg-"))
    data, port = tmp / "data", _free_port()
    as_user: list[str] = []
    if os.geteuid() == 0:  # postgres refuses to run as root
        shutil.chown(tmp, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    subprocess.run(
        [*as_user, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "edgewise"],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            *as_user,
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(tmp / "log"),
            "-w",
            "-o",
            f"-h 127.0.0.1 -p {port} -k {tmp}",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        for _ in range(50):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        subprocess.run(
            [
                *as_user,
                str(bindir.parent / "bin" / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-U",
                "edgewise",
                "edgewise",
            ],
            check=True,
            capture_output=True,
        )
        yield f"postgresql+psycopg://edgewise@127.0.0.1:{port}/edgewise"
    finally:
        subprocess.run(
            [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
        )
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """The same tests against SQLite and PostgreSQL."""
    if request.param == "sqlite":
        store = Store(f"sqlite:///{tmp_path / 'any.db'}")
    else:
        url = request.getfixturevalue("pg_url")
        store = Store(url)
        _truncate(store)
    yield store
    store.close()


def _truncate(store: Store) -> None:
    import sqlalchemy as sa

    from edgewise.store._schema import metadata

    with store.engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(sa.text(f"DELETE FROM {table.name}"))


@pytest.fixture(scope="session")
def zoo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every bundled example model, built once per session."""
    from edgewise.zoo import EXAMPLES, write_example

    folder = tmp_path_factory.mktemp("zoo")
    for name in EXAMPLES:
        write_example(name, folder)
    return folder


@pytest.fixture(scope="session")
def model_path(zoo_dir: Path):
    """``model_path("cnn-small")`` -> the built file."""
    from edgewise.zoo import EXAMPLES

    return lambda name: zoo_dir / f"{name}{EXAMPLES[name][0]}"

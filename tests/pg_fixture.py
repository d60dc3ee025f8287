"""PostgreSQL for the tests: one throwaway cluster per test session, one database per test.

``postgres_server`` (session) starts a cluster with :mod:`clinic_scaled.local_postgres` in a
temporary folder on a free 127.0.0.1 port and stops it (by ``pg_ctl``/PID) at the end. Tests that
need it are skipped, with the reason, only when the PostgreSQL server programs are not installed
(``make setup-dev`` installs Debian's ``postgresql``).

``storage_backend`` is parametrized over ``sqlite`` and ``postgresql``: a test that takes it
runs once per backend, and ``storage_backend.target(tmp_path, "outbox.db")`` gives it a fresh
store (a SQLite file, or the URL of a new empty PostgreSQL database).
"""

import itertools
import os
import shutil
import socket
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, Optional, Union

import pytest

from clinic_requests import database
from clinic_scaled import local_postgres

# Durability is pointless for a cluster deleted after the run; this makes it much faster.
TEST_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
BACKENDS = ("sqlite", "postgresql")


def free_port() -> int:
    """A port on 127.0.0.1 with nothing listening (yet)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def skip_without_postgres() -> None:
    """Skip the calling test when the PostgreSQL server programs are missing."""
    try:
        local_postgres.bin_dir()
    except local_postgres.PostgresMissing as error:
        pytest.skip(f"PostgreSQL is not installed: {error}")


@dataclass
class PgCluster:
    """A running throwaway cluster."""

    server: local_postgres.LocalPostgres
    folder: Path
    _names: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def url(self) -> str:
        """The ``clinic`` database."""
        return self.server.url

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def data_dir(self) -> Path:
        return self.server.data_dir

    def new_database(self) -> str:
        """The URL of a new empty database (owner ``clinic``)."""
        return local_postgres.create_database(self.port, f"t{os.getpid()}_{next(self._names)}")

    def restart(self) -> None:
        """Stop and start the server (connections die; data stays)."""
        local_postgres.stop(self.data_dir)
        self.server = local_postgres.start(self.data_dir, self.port, settings=TEST_SETTINGS)


def start_test_cluster() -> PgCluster:
    """Start a cluster in a new temporary folder (callers must :func:`stop_test_cluster`)."""
    skip_without_postgres()
    # Not under pytest's tmp_path: that is root-only, and the server runs as `postgres`.
    folder = Path(tempfile.mkdtemp(prefix="clinic-test-pg-"))
    folder.chmod(0o755)
    try:
        server = local_postgres.start(folder / "data", free_port(), settings=TEST_SETTINGS)
    except Exception:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return PgCluster(server=server, folder=folder)


def stop_test_cluster(cluster: PgCluster) -> None:
    """Stop the server and delete its folder."""
    database.dispose_all()
    try:
        local_postgres.stop(cluster.data_dir)
    finally:
        shutil.rmtree(cluster.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PgCluster]:
    """A throwaway PostgreSQL cluster for the whole test session."""
    cluster = start_test_cluster()
    yield cluster
    stop_test_cluster(cluster)


@dataclass
class StorageBackend:
    """One backend for the outbox / unanswered stores under test."""

    name: str
    cluster: Optional[PgCluster] = None

    @property
    def is_postgres(self) -> bool:
        return self.name == "postgresql"

    def target(self, folder: Path, filename: str) -> Union[Path, str]:
        """A fresh store: ``folder / filename`` on SQLite, a new database's URL on PostgreSQL."""
        if self.cluster is not None:
            return self.cluster.new_database()
        return Path(folder) / filename

    def env(self, target: Union[Path, str], path_variable: str) -> Dict[str, str]:
        """Environment selecting ``target``: ``CLINIC_DATABASE_URL`` or the SQLite path variable."""
        if isinstance(target, str):
            return {"CLINIC_DATABASE_URL": target}
        return {path_variable: str(target)}


@pytest.fixture(params=BACKENDS)
def storage_backend(request: pytest.FixtureRequest) -> Iterator[StorageBackend]:
    """Runs the test on SQLite, then on PostgreSQL (started on first use)."""
    if request.param == "postgresql":
        backend = StorageBackend("postgresql", request.getfixturevalue("postgres_server"))
    else:
        backend = StorageBackend("sqlite")
    yield backend
    database.dispose_all()  # no idle connections left to this test's database

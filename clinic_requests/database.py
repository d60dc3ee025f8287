"""Database connections for the outbox and the unanswered-question records: SQLite or PostgreSQL.

One setting chooses the backend (:func:`clinic_requests.config.database_url`, i.e.
``CLINIC_DATABASE_URL`` or ``clinic_delivery.database_url`` in endpoints.yml): unset means a
SQLite file per store (``var/outbox.db``, ``var/unanswered.db``), set means both stores are
tables in that database (PostgreSQL when several action servers share them).

Built on SQLAlchemy Core (as Rasa's own SQL tracker store is). What differs per backend is here:

* SQLite: a new short-lived connection per use (SQLAlchemy's NullPool for files), busy timeout,
  ``synchronous = FULL``, and write transactions opened with ``BEGIN IMMEDIATE`` so concurrent
  writers from several processes queue up instead of failing half-way.
* PostgreSQL: a small pool per process with ``pool_pre_ping`` (a connection killed by a server
  restart is replaced before use), a connect timeout and a lock timeout, so a database outage
  turns into an exception (the visitor is told the request was not sent) rather than a hang.
* Times: fixed-width ISO text on SQLite (sorts as text; the files stay readable by the earlier
  code and by ``sqlite3``), ``timestamptz`` on PostgreSQL; Python always sees aware UTC.
"""

import logging
import os
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, Optional, Set, Tuple, TypeVar, Union

from sqlalchemy import MetaData, Text, create_engine, event, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator

logger = logging.getLogger(__name__)

Target = Union[str, Path]
T = TypeVar("T")

BUSY_TIMEOUT_SECONDS = 10.0
CONNECT_TIMEOUT_SECONDS = 5
POOL_SIZE = 5
MAX_OVERFLOW = 5
WRITE_OPTION = "clinic_write"

_engines: Dict[Tuple[int, str, float], Engine] = {}
_engines_lock = threading.Lock()
_prepared: Set[Tuple[int, str, int]] = set()  # (pid, url, id(metadata)) whose tables exist


def is_url(target: Target) -> bool:
    """Whether ``target`` is a database URL (``scheme://...``) rather than a file path."""
    return isinstance(target, str) and "://" in target


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of a SQLite file."""
    return f"sqlite:///{Path(path)}"


def describe(url: str) -> str:
    """The URL without its password, safe for logs and staff output."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.database or ":memory:"
    return parsed.render_as_string(hide_password=True)


def sqlite_file(url: str) -> Optional[Path]:
    """The file behind a SQLite URL, or ``None`` for another backend."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    return Path(parsed.database)


def engine_for(url: str, busy_timeout_seconds: float = BUSY_TIMEOUT_SECONDS) -> Engine:
    """This process's engine for ``url`` (one per URL and process; forks get their own).

    Creating it opens no connection. A SQLite file's folder is created here.
    """
    key = (os.getpid(), url, busy_timeout_seconds)
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _create(url, busy_timeout_seconds)
            _engines[key] = engine
        return engine


def engine_with_tables(url: str, metadata: MetaData, what: str) -> Engine:
    """:func:`engine_for` ``url``, with ``metadata``'s tables created once per process.

    For small tables kept beside the outbox (per-channel delivery outcomes, staff marks).
    On PostgreSQL the creators of several processes take turns (an advisory lock), as the
    outbox's own schema creation does.
    """
    engine = engine_for(url)
    key = (os.getpid(), url, id(metadata))
    if key in _prepared:
        return engine

    def create() -> None:
        with write(engine) as connection:
            if engine.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(hashtext('clinic_schema'))"))
            metadata.create_all(connection, checkfirst=True)

    retry_once(create, f"creating the {what} table")
    _prepared.add(key)
    return engine


def dispose_all() -> None:
    """Close this process's pooled connections (tests; after a fork nothing is shared)."""
    with _engines_lock:
        for (pid, _url, _timeout), engine in list(_engines.items()):
            if pid == os.getpid():
                engine.dispose()
        _engines.clear()
        _prepared.clear()


@contextmanager
def write(engine: Engine) -> Iterator[Connection]:
    """One write transaction: committed when the block ends, rolled back on any error."""
    with engine.connect() as connection:
        connection.execution_options(**{WRITE_OPTION: True})
        with connection.begin():
            yield connection


@contextmanager
def read(engine: Engine) -> Iterator[Connection]:
    """A connection for reading (a deferred transaction, never holding SQLite's write lock)."""
    with engine.connect() as connection:
        yield connection


def retry_once(operation: Callable[[], T], what: str) -> T:
    """Run ``operation``; if the database connection dropped under it, run it once more.

    ``pool_pre_ping`` replaces connections that died while idle; this covers one that dies
    mid-statement (PostgreSQL restarted at that moment). Any other error, or a second
    failure, is raised to the caller.
    """
    try:
        return operation()
    except DBAPIError as error:
        if not error.connection_invalidated:
            raise
        logger.warning("Database connection lost during %s; trying once more.", what)
        return operation()


class UtcTime(TypeDecorator):
    """An aware UTC datetime: ISO text on SQLite, ``timestamptz`` on PostgreSQL."""

    impl = Text
    cache_ok = True

    def __init__(self, timespec: str = "microseconds") -> None:
        super().__init__()
        self.timespec = timespec

    def load_dialect_impl(self, dialect: Any) -> Any:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.TIMESTAMP(timezone=True))
        return dialect.type_descriptor(Text())

    def process_bind_param(self, value: Optional[datetime], dialect: Any) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("stored times must be timezone-aware")
        value = value.astimezone(timezone.utc)
        if dialect.name == "postgresql":
            return value
        return value.isoformat(timespec=self.timespec)

    def process_result_value(self, value: Any, dialect: Any) -> Optional[datetime]:
        if value is None:
            return None
        if isinstance(value, str):
            return datetime.fromisoformat(value).astimezone(timezone.utc)
        return value.astimezone(timezone.utc)


def _create(url: str, busy_timeout_seconds: float) -> Engine:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            future=True,
            poolclass=NullPool,
            connect_args={"timeout": busy_timeout_seconds, "check_same_thread": False},
        )
        _use_sqlite_transactions(engine, busy_timeout_seconds)
        return engine
    if backend == "postgresql":
        return create_engine(
            url,
            future=True,
            pool_pre_ping=True,
            pool_size=POOL_SIZE,
            max_overflow=MAX_OVERFLOW,
            pool_recycle=1800,
            connect_args={
                "connect_timeout": CONNECT_TIMEOUT_SECONDS,
                "application_name": "clinic-actions",
                # Wait for another worker's row lock as long as SQLite waits for its file lock.
                "options": f"-c lock_timeout={int(busy_timeout_seconds * 1000)}",
            },
        )
    raise ValueError(f"unsupported database URL {describe(url)!r}: use sqlite:/// or postgresql://")


def _use_sqlite_transactions(engine: Engine, busy_timeout_seconds: float) -> None:
    """SQLAlchemy's documented recipe: let us issue BEGIN ourselves (IMMEDIATE for writes)."""

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # no implicit BEGIN from the sqlite3 module
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_seconds * 1000)}")
        # FULL: a committed request survives a power cut, not only a crash.
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Connection) -> None:
        writing = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")

"""Records the questions the assistant could not answer, for the staff report (``make report``).

Stored in SQLite (``var/unanswered.db``, or ``CLINIC_UNANSWERED_PATH``) or, when
``CLINIC_DATABASE_URL`` / ``clinic_delivery.database_url`` is set, in the ``unanswered`` table of
that database (PostgreSQL in the scaled setup): the message text with e-mail addresses and phone
numbers masked, the date, and what the assistant did. Messages that disclosed a health condition
are never stored (their text would be health data). Records older than the retention period are
deleted by :func:`purge` (``make purge``, and daily by the action server).

Every function takes an optional ``path``: a SQLite file or a database URL; by default the
configured store (:func:`target`).
"""

import datetime
import logging
import os
import re
import threading
from pathlib import Path
from typing import List, Optional, Set, Tuple, Union

from sqlalchemy import (
    Column,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from clinic_requests import database
from clinic_requests.config import ConfigError, database_url
from clinic_requests.database import UtcTime

logger = logging.getLogger(__name__)

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_PATH = PROJECT_DIR / "var" / "unanswered.db"
MAX_STORED_CHARS = 500
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")
PHONE = re.compile(r"\+?\d[\d\s().-]{6,}\d")

Location = Union[Path, str]

metadata = MetaData()
# Same columns as the SQLite files created before PostgreSQL support (times: ISO text, seconds).
unanswered_table = Table(
    "unanswered",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("created_at", UtcTime(timespec="seconds"), nullable=False),
    Column("text", Text, nullable=False),
    Column("outcome", Text, nullable=False),
    Column("intent", Text),
    Column("handled", Integer, nullable=False, server_default=text("0")),
    Index("unanswered_created", "created_at"),
    sqlite_autoincrement=True,
)
U = unanswered_table.c

_ready: Set[Tuple] = set()  # see _ready_key
_ready_lock = threading.Lock()


def db_path() -> Path:
    """The SQLite file used when no database URL is set."""
    return Path(os.environ.get("CLINIC_UNANSWERED_PATH", DEFAULT_PATH))


def target() -> Location:
    """Where the records are: the configured database URL, else :func:`db_path`."""
    return database_url() or db_path()


def location(path: Optional[Location] = None) -> str:
    """Where the records are, safe to print (file, or URL without password)."""
    return database.describe(_url(path))


def scrub(text: str) -> str:
    """The message without contact details, cut to a sane length."""
    text = EMAIL.sub("[email]", text)
    text = PHONE.sub("[phone]", text)
    return " ".join(text.split())[:MAX_STORED_CHARS]


def record(text: str, outcome: str, intent: Optional[str], path: Optional[Location] = None) -> None:
    """Store one unanswered message; a storage problem is logged, never shown to the visitor."""
    cleaned = scrub(text or "")
    if not cleaned:
        return
    try:
        engine = _engine(path)
        with database.write(engine) as connection:
            connection.execute(
                insert(unanswered_table).values(
                    created_at=datetime.datetime.now(datetime.timezone.utc),
                    text=cleaned,
                    outcome=outcome,
                    intent=intent,
                )
            )
    except (SQLAlchemyError, ConfigError, OSError, ValueError) as error:
        logger.error(
            "Could not record an unanswered question in %s: %s", _safe_location(path), error
        )


def entries(
    since: Optional[datetime.date] = None,
    include_handled: bool = False,
    path: Optional[Location] = None,
) -> List[Tuple]:
    """Rows (id, created_at, text, outcome, intent, handled), oldest first.

    ``created_at`` is ISO text (``2024-05-21T14:00:00+00:00``) on every backend.
    """
    query = select(U.id, U.created_at, U.text, U.outcome, U.intent, U.handled)
    if since:
        start = datetime.datetime.combine(since, datetime.time(), tzinfo=datetime.timezone.utc)
        query = query.where(U.created_at >= start)
    if not include_handled:
        query = query.where(U.handled == 0)
    with database.read(_engine(path)) as connection:
        rows = connection.execute(query.order_by(U.id)).fetchall()
    return [(row[0], row[1].isoformat(timespec="seconds"), *row[2:]) for row in rows]


def mark_handled(ids: List[int], path: Optional[Location] = None) -> int:
    """Mark entries as handled (they leave the report); returns how many changed."""
    if not ids:
        return 0
    with database.write(_engine(path)) as connection:
        return connection.execute(
            update(unanswered_table).where(U.id.in_(list(ids))).values(handled=1)
        ).rowcount


def purge(
    before: datetime.datetime, *, dry_run: bool = False, path: Optional[Location] = None
) -> int:
    """Delete records older than ``before`` (retention); returns how many (would) go."""
    old = U.created_at < before
    if dry_run:
        with database.read(_engine(path)) as connection:
            return connection.execute(
                select(func.count()).select_from(unanswered_table).where(old)
            ).scalar_one()
    with database.write(_engine(path)) as connection:
        return connection.execute(delete(unanswered_table).where(old)).rowcount


def _url(path: Optional[Location]) -> str:
    chosen = target() if path is None else path
    return str(chosen) if database.is_url(chosen) else database.sqlite_url(Path(chosen))


def _safe_location(path: Optional[Location]) -> str:
    try:
        return location(path)
    except Exception:  # only for an error message
        return str(path or DEFAULT_PATH)


def _engine(path: Optional[Location]) -> Engine:
    """The engine, with the table created on first use (once per process and database).

    For SQLite the database is the file itself: one deleted or replaced since is prepared
    again (simply created again, as before). Checking that costs one ``stat``; preparing it
    on every record cost the visitor milliseconds.
    """
    url = _url(path)
    engine = database.engine_for(url)
    if _ready_key(engine, url) not in _ready:
        with _ready_lock:
            if _ready_key(engine, url) not in _ready:
                database.retry_once(lambda: _create_schema(engine), "creating the table")
                key = _ready_key(engine, url)
                if key is not None:  # None: the file is gone again already
                    _ready.add(key)
    return engine


def _ready_key(engine: Engine, url: str) -> Optional[Tuple]:
    """This process and database; for a SQLite file also which file (device, inode).

    ``None`` (never ready) when the file is missing or empty: a deleted file's inode number
    is soon reused, e.g. by an empty file created in its place (ours is never empty).
    """
    key = (os.getpid(), url)
    file = engine.url.database if engine.dialect.name == "sqlite" else None
    if not file:
        return key
    try:
        status = os.stat(file)
    except OSError:
        return None
    if status.st_size == 0:
        return None
    return (*key, status.st_dev, status.st_ino)


def _create_schema(engine: Engine) -> None:
    # Not WAL (unlike the outbox): each record opens and closes its own connection, and the
    # last close of a WAL file checkpoints and syncs it; measured 0.1-0.3 ms slower per record.
    with database.write(engine) as connection:
        if engine.dialect.name == "postgresql":
            # Two action servers creating the table at the same moment take turns
            # (CREATE TABLE IF NOT EXISTS alone can fail on PostgreSQL then).
            connection.execute(text("SELECT pg_advisory_xact_lock(hashtext('clinic_schema'))"))
        metadata.create_all(connection, checkfirst=True)

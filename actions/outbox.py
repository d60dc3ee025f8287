"""SQLite outbox: every booking, consultation or hand-off request, stored durably.

A request is written in one transaction *before* anyone tries to deliver it, so a
crash, a restart or a dead webhook never loses it. Each row's ``id`` (uuid4 hex)
is also the ``Idempotency-Key`` the receiver uses to drop duplicates.

Several action-server processes may share one database file: each method opens
its own short-lived connection (WAL mode, busy timeout), and a worker must
:meth:`Outbox.claim_due` a request -- a conditional UPDATE that sets a
``claimed_until`` lease -- before delivering it, so two workers never deliver
the same request at the same time.

States::

    pending --(2xx / 409)--------------------------> delivered
    pending --(error, attempts < max)--> pending (next_attempt_at = later)
    pending --(error, attempts == max)-------------> failed --retry_failed()--> pending
"""

import json
import logging
import sqlite3
import threading
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional

from actions.config import outbox_path
from actions.payload import KINDS, validate_payload

logger = logging.getLogger(__name__)

PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"
STATES = (PENDING, DELIVERED, FAILED)

BUSY_TIMEOUT_SECONDS = 10.0
DEFAULT_CLAIM_LIMIT = 20
SCHEMA_VERSION = 1
MAX_ERROR_CHARS = 500

_SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    id              TEXT PRIMARY KEY,
    kind            TEXT NOT NULL
                    CHECK (kind IN ('booking', 'consultation', 'handoff')),
    service         TEXT,
    payload         TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error      TEXT,
    claimed_until   TEXT,
    claimed_by      TEXT,
    delivered_at    TEXT,
    updated_at      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS requests_due ON requests (state, next_attempt_at);
"""


@dataclass(frozen=True)
class OutboxRequest:
    """One stored request, as read from the outbox.

    Attributes:
        id: uuid4 hex; also the webhook ``Idempotency-Key``.
        kind: ``booking``, ``consultation`` or ``handoff``.
        service: The service asked about, if any (copied from the payload).
        payload: The validated payload (every field of ``PAYLOAD_FIELDS``,
            see :mod:`actions.payload`).
        created_at: When the request was stored (UTC).
        state: ``pending``, ``delivered`` or ``failed``.
        attempts: Delivery attempts made so far.
        next_attempt_at: Earliest time of the next attempt (UTC).
        last_error: Why the last failed attempt failed, if one did.
        claimed_until: End of the current delivery lease, if any (UTC).
        delivered_at: When the webhook accepted the request (UTC), if it did.
    """

    id: str
    kind: str
    service: Optional[str]
    payload: Dict[str, Any]
    created_at: datetime
    state: str
    attempts: int
    next_attempt_at: datetime
    last_error: Optional[str]
    claimed_until: Optional[datetime]
    delivered_at: Optional[datetime]


def utc_now() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(timezone.utc)


class Outbox:
    """Durable store of requests waiting to reach the clinic.

    Usage::

        outbox = Outbox()                      # var/outbox.db or CLINIC_OUTBOX_PATH
        request = outbox.add("booking", {"service": "4-D Facial", ...})
        for request in outbox.claim_due(worker_id, lease_seconds=60):
            ...deliver, then mark_delivered / mark_attempt_failed / mark_failed

    The file, its folder and the table are created on first use, not in
    ``__init__``. The object holds no open connection, so one instance may be
    used from several threads, and several instances (or processes) may share
    one file.
    """

    def __init__(
        self,
        path: Optional[Path] = None,
        *,
        busy_timeout_seconds: float = BUSY_TIMEOUT_SECONDS,
    ) -> None:
        """Create an outbox on ``path`` (default: :func:`actions.config.outbox_path`).

        Args:
            path: SQLite file; its folder is created on first use.
            busy_timeout_seconds: How long to wait for another process's lock.
        """
        self._path = Path(path) if path is not None else outbox_path()
        self._busy_timeout = busy_timeout_seconds
        self._ready = False
        self._ready_lock = threading.Lock()

    @property
    def path(self) -> Path:
        """The SQLite file holding the requests."""
        return self._path

    def add(self, kind: str, payload: Mapping[str, Any]) -> OutboxRequest:
        """Store a new pending request in one transaction.

        Args:
            kind: One of ``KINDS``.
            payload: Request fields, see :func:`actions.payload.validate_payload`.

        Returns:
            The stored request; it is on disk when this returns.

        Raises:
            ValueError: Unknown kind or invalid payload (nothing is stored).
        """
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
        clean = validate_payload(payload)
        request_id = uuid.uuid4().hex
        now = _iso(utc_now())
        with self._connect() as connection, _transaction(connection):
            connection.execute(
                "INSERT INTO requests (id, kind, service, payload, created_at, state,"
                " attempts, next_attempt_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)",
                (
                    request_id,
                    kind,
                    clean["service"],
                    json.dumps(clean, ensure_ascii=False, sort_keys=True),
                    now,
                    PENDING,
                    now,
                    now,
                ),
            )
        logger.info("Stored %s request %s in the outbox.", kind, request_id)
        stored = self.get(request_id)
        assert stored is not None  # just committed
        return stored

    def get(self, request_id: str) -> Optional[OutboxRequest]:
        """Return one request, or ``None`` if the id is unknown."""
        with self._connect() as connection:
            row = connection.execute(
                "SELECT * FROM requests WHERE id = ?", (request_id,)
            ).fetchone()
        return _to_request(row) if row else None

    def list(self, state: Optional[str] = None) -> List[OutboxRequest]:
        """Return requests, oldest first, optionally only those in ``state``.

        Raises:
            ValueError: ``state`` is not one of ``STATES``.
        """
        with self._connect() as connection:
            if state is None:
                rows = connection.execute(
                    "SELECT * FROM requests ORDER BY created_at, id"
                ).fetchall()
            else:
                _check_state(state)
                rows = connection.execute(
                    "SELECT * FROM requests WHERE state = ? ORDER BY created_at, id",
                    (state,),
                ).fetchall()
        return [_to_request(row) for row in rows]

    def counts(self) -> Dict[str, int]:
        """Return the number of requests per state (every state present)."""
        with self._connect() as connection:
            rows = connection.execute(
                "SELECT state, COUNT(*) FROM requests GROUP BY state"
            ).fetchall()
        return {**{state: 0 for state in STATES}, **{row[0]: row[1] for row in rows}}

    def due(self, now: Optional[datetime] = None) -> List[OutboxRequest]:
        """Return pending requests whose next attempt is due and that nobody holds.

        This only reads; use :meth:`claim_due` before delivering.
        """
        moment = _iso(now or utc_now())
        with self._connect() as connection:
            rows = connection.execute(
                "SELECT * FROM requests WHERE state = ? AND next_attempt_at <= ?"
                " AND (claimed_until IS NULL OR claimed_until <= ?)"
                " ORDER BY next_attempt_at, created_at",
                (PENDING, moment, moment),
            ).fetchall()
        return [_to_request(row) for row in rows]

    def claim(
        self,
        request_id: str,
        worker_id: str,
        lease_seconds: float,
        now: Optional[datetime] = None,
    ) -> Optional[OutboxRequest]:
        """Reserve one due request for ``worker_id`` for ``lease_seconds``.

        Returns:
            The claimed request, or ``None`` if it is not pending, not due, or
            another worker holds an unexpired lease on it.
        """
        moment = now or utc_now()
        with self._connect() as connection, _transaction(connection):
            claimed = _claim_row(
                connection, request_id, worker_id, lease_seconds, moment
            )
            row = (
                connection.execute(
                    "SELECT * FROM requests WHERE id = ?", (request_id,)
                ).fetchone()
                if claimed
                else None
            )
        return _to_request(row) if row else None

    def claim_due(
        self,
        worker_id: str,
        lease_seconds: float,
        now: Optional[datetime] = None,
        limit: int = DEFAULT_CLAIM_LIMIT,
    ) -> List[OutboxRequest]:
        """Reserve up to ``limit`` due requests for ``worker_id``.

        Runs as one ``BEGIN IMMEDIATE`` transaction (one writer at a time across
        processes) and each row is taken with a conditional UPDATE, so a request
        is never handed to two workers while a lease on it is running.

        Args:
            worker_id: Who holds the lease (for diagnosis).
            lease_seconds: How long the claim lasts; must outlast one delivery.
            now: The current time (tests pass a fixed one).
            limit: Most requests to claim at once.

        Returns:
            The claimed requests, oldest due first.
        """
        moment = now or utc_now()
        iso_now = _iso(moment)
        with self._connect() as connection, _transaction(connection):
            ids = [
                row[0]
                for row in connection.execute(
                    "SELECT id FROM requests WHERE state = ? AND next_attempt_at <= ?"
                    " AND (claimed_until IS NULL OR claimed_until <= ?)"
                    " ORDER BY next_attempt_at, created_at LIMIT ?",
                    (PENDING, iso_now, iso_now, limit),
                )
            ]
            claimed = [
                request_id
                for request_id in ids
                if _claim_row(connection, request_id, worker_id, lease_seconds, moment)
            ]
            rows = [
                connection.execute(
                    "SELECT * FROM requests WHERE id = ?", (request_id,)
                ).fetchone()
                for request_id in claimed
            ]
        return [_to_request(row) for row in rows]

    def mark_delivered(self, request_id: str) -> bool:
        """Record a successful attempt; the request is delivered for good.

        Returns:
            ``True`` if the request was pending (or failed) and is now delivered.
        """
        now = _iso(utc_now())
        return self._update(
            "UPDATE requests SET state = ?, attempts = attempts + 1, delivered_at = ?,"
            " claimed_until = NULL, claimed_by = NULL, updated_at = ?"
            " WHERE id = ? AND state != ?",
            (DELIVERED, now, now, request_id, DELIVERED),
        )

    def mark_attempt_failed(
        self,
        request_id: str,
        error: str,
        next_attempt_at: datetime,
        *,
        worker_id: Optional[str] = None,
    ) -> bool:
        """Record a failed attempt and when to try again; releases the lease.

        Args:
            request_id: The request.
            error: Short reason, shown to staff as "last error".
            next_attempt_at: Earliest time of the next attempt.
            worker_id: If given, only record it while this worker holds the claim
                (a slow worker whose lease ran out does not overwrite another's).

        Returns:
            ``True`` if a pending request was updated.
        """
        return self._update(
            "UPDATE requests SET attempts = attempts + 1, last_error = ?,"
            " next_attempt_at = ?, claimed_until = NULL, claimed_by = NULL,"
            " updated_at = ? WHERE id = ? AND state = ?" + _owner_clause(worker_id),
            (
                _short(error),
                _iso(next_attempt_at),
                _iso(utc_now()),
                request_id,
                PENDING,
                *_owner_args(worker_id),
            ),
        )

    def mark_failed(
        self, request_id: str, error: str, *, worker_id: Optional[str] = None
    ) -> bool:
        """Record the last allowed attempt as failed; the request stops retrying.

        It stays in the outbox as ``failed`` until :meth:`retry_failed`.

        Returns:
            ``True`` if a pending request was updated.
        """
        return self._update(
            "UPDATE requests SET state = ?, attempts = attempts + 1, last_error = ?,"
            " claimed_until = NULL, claimed_by = NULL, updated_at = ?"
            " WHERE id = ? AND state = ?" + _owner_clause(worker_id),
            (
                FAILED,
                _short(error),
                _iso(utc_now()),
                request_id,
                PENDING,
                *_owner_args(worker_id),
            ),
        )

    def retry_failed(self) -> int:
        """Put every failed request back to pending with zero attempts, due now.

        ``last_error`` is kept until the next attempt replaces it.

        Returns:
            How many requests were reset.
        """
        now = _iso(utc_now())
        with self._connect() as connection, _transaction(connection):
            cursor = connection.execute(
                "UPDATE requests SET state = ?, attempts = 0, next_attempt_at = ?,"
                " claimed_until = NULL, claimed_by = NULL, updated_at = ?"
                " WHERE state = ?",
                (PENDING, now, now, FAILED),
            )
            count = cursor.rowcount
        if count:
            logger.info("Reset %d failed request(s) to pending.", count)
        return count

    def _update(self, sql: str, parameters: tuple) -> bool:
        with self._connect() as connection, _transaction(connection):
            return connection.execute(sql, parameters).rowcount == 1

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        self._ensure_schema()
        connection = self._open()
        try:
            yield connection
        finally:
            connection.close()

    def _open(self) -> sqlite3.Connection:
        # isolation_level=None: we issue BEGIN IMMEDIATE / COMMIT ourselves.
        connection = sqlite3.connect(
            str(self._path), timeout=self._busy_timeout, isolation_level=None
        )
        connection.row_factory = sqlite3.Row
        connection.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")
        # FULL: a committed request survives a power cut, not only a crash.
        connection.execute("PRAGMA synchronous = FULL")
        return connection

    def _ensure_schema(self) -> None:
        if self._ready:
            return
        with self._ready_lock:
            if self._ready:
                return
            self._path.parent.mkdir(parents=True, exist_ok=True)
            connection = self._open()
            try:
                mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    logger.warning(
                        "Outbox %s runs in journal mode %r, not WAL "
                        "(network file system?); it still works, with more locking.",
                        self._path,
                        mode,
                    )
                with _transaction(connection):
                    for statement in filter(None, map(str.strip, _SCHEMA.split(";"))):
                        connection.execute(statement)
                    version = connection.execute("PRAGMA user_version").fetchone()[0]
                    if version == 0:
                        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                    elif version > SCHEMA_VERSION:
                        raise RuntimeError(
                            f"{self._path} has outbox schema {version}; this code "
                            f"knows up to {SCHEMA_VERSION}"
                        )
            finally:
                connection.close()
            self._ready = True


@contextmanager
def _transaction(connection: sqlite3.Connection) -> Iterator[None]:
    """Run the block in one write transaction; roll back on any error."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def _claim_row(
    connection: sqlite3.Connection,
    request_id: str,
    worker_id: str,
    lease_seconds: float,
    now: datetime,
) -> bool:
    iso_now = _iso(now)
    cursor = connection.execute(
        "UPDATE requests SET claimed_until = ?, claimed_by = ?, updated_at = ?"
        " WHERE id = ? AND state = ? AND next_attempt_at <= ?"
        " AND (claimed_until IS NULL OR claimed_until <= ?)",
        (
            _iso(now + timedelta(seconds=lease_seconds)),
            worker_id,
            iso_now,
            request_id,
            PENDING,
            iso_now,
            iso_now,
        ),
    )
    return cursor.rowcount == 1


def _owner_clause(worker_id: Optional[str]) -> str:
    return "" if worker_id is None else " AND claimed_by = ?"


def _owner_args(worker_id: Optional[str]) -> tuple:
    return () if worker_id is None else (worker_id,)


def _check_state(state: str) -> None:
    if state not in STATES:
        raise ValueError(f"state must be one of {', '.join(STATES)}, got {state!r}")


def _short(error: str) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"


def _iso(moment: datetime) -> str:
    """Format an aware datetime as fixed-width UTC ISO text (sorts as text)."""
    if moment.tzinfo is None:
        raise ValueError("outbox times must be timezone-aware")
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def _parse(text: Optional[str]) -> Optional[datetime]:
    return datetime.fromisoformat(text) if text else None


def _to_request(row: sqlite3.Row) -> OutboxRequest:
    return OutboxRequest(
        id=row["id"],
        kind=row["kind"],
        service=row["service"],
        payload=json.loads(row["payload"]),
        created_at=datetime.fromisoformat(row["created_at"]),
        state=row["state"],
        attempts=row["attempts"],
        next_attempt_at=datetime.fromisoformat(row["next_attempt_at"]),
        last_error=row["last_error"],
        claimed_until=_parse(row["claimed_until"]),
        delivered_at=_parse(row["delivered_at"]),
    )

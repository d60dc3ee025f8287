"""The outbox: every booking, consultation or hand-off request, stored durably.

A request is written in one transaction *before* anyone tries to deliver it, so a
crash, a restart or a dead webhook never loses it. Each row's ``id`` (uuid4 hex)
is also the ``Idempotency-Key`` the receiver uses to drop duplicates.

Where: a SQLite file (``var/outbox.db`` or ``CLINIC_OUTBOX_PATH``) by default, or the
``requests`` table of the database named by ``CLINIC_DATABASE_URL`` /
``clinic_delivery.database_url`` (PostgreSQL, shared by several action servers).
Connections come from :mod:`clinic_requests.database` (SQLAlchemy Core); the table, its
schema version and :class:`OutboxRequest` are in :mod:`clinic_requests.outbox_schema`.

Several action-server processes may share one outbox, and a worker must
:meth:`Outbox.claim_due` a request -- a conditional UPDATE that sets a
``claimed_until`` lease -- before delivering it, so two workers never deliver
the same request at the same time. On SQLite the claim runs in a ``BEGIN
IMMEDIATE`` transaction (one writer at a time); on PostgreSQL the candidate rows
are selected ``FOR UPDATE SKIP LOCKED`` (each worker takes different rows without
waiting for the others). What each step changes is :mod:`clinic_requests.outbox_states`.

States::

    pending --(2xx / 409)--------------------------> delivered
    pending --(error, attempts < max)--> pending (next_attempt_at = later)
    pending --(error, attempts == max)-------------> failed --retry_failed()--> pending
"""

import json
import logging
import threading
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Union

from sqlalchemy import and_, delete, func, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from clinic_requests import database
from clinic_requests import outbox_states as states
from clinic_requests.config import database_url, outbox_path
from clinic_requests.outbox_schema import (
    DELIVERED,
    FAILED,
    PENDING,
    STATES,
    OutboxRequest,
    create_schema,
    requests_table,
    to_request,
)
from clinic_requests.outbox_states import utc_now
from clinic_requests.payload import KINDS, validate_payload

__all__ = [
    "DELIVERED",
    "FAILED",
    "PENDING",
    "STATES",
    "Outbox",
    "OutboxRequest",
    "requests_table",
    "utc_now",
]

logger = logging.getLogger(__name__)

BUSY_TIMEOUT_SECONDS = database.BUSY_TIMEOUT_SECONDS
DEFAULT_CLAIM_LIMIT = 20
R = requests_table.c


class Outbox:
    """Durable store of requests waiting to reach the clinic.

    Usage::

        outbox = Outbox()     # CLINIC_DATABASE_URL, else var/outbox.db or CLINIC_OUTBOX_PATH
        request = outbox.add("booking", {"service": "4-D Facial", ...})
        for request in outbox.claim_due(worker_id, lease_seconds=60):
            ...deliver, then mark_delivered / mark_attempt_failed / mark_failed

    The file (or table), its folder and the schema are created on first use, not in
    ``__init__``. The object holds no open connection of its own (PostgreSQL
    connections are pooled per process), so one instance may be used from several
    threads, and several instances (or processes) may share one database.
    """

    def __init__(
        self,
        path: Optional[Union[Path, str]] = None,
        *,
        busy_timeout_seconds: float = BUSY_TIMEOUT_SECONDS,
    ) -> None:
        """Create an outbox (nothing is opened yet).

        Args:
            path: A SQLite file, or a database URL (``postgresql://...``,
                ``sqlite:///...``). Default: :func:`clinic_requests.config.database_url`
                if set, else :func:`clinic_requests.config.outbox_path`.
            busy_timeout_seconds: How long to wait for another process's lock.
        """
        if path is None:
            path = database_url() or outbox_path()
        if database.is_url(path):
            self._url = str(path)
        else:
            self._url = database.sqlite_url(Path(path))
        self._path = database.sqlite_file(self._url)
        self._busy_timeout = busy_timeout_seconds
        self._ready = False
        self._ready_lock = threading.Lock()

    @property
    def path(self) -> Optional[Path]:
        """The SQLite file holding the requests (``None`` on PostgreSQL)."""
        return self._path

    @property
    def url(self) -> str:
        """The database URL (may contain a password: use :attr:`location` in output)."""
        return self._url

    @property
    def location(self) -> str:
        """Where the requests are, safe to print: the file, or the URL without password."""
        return database.describe(self._url)

    def add(
        self, kind: str, payload: Mapping[str, Any], request_id: Optional[str] = None
    ) -> OutboxRequest:
        """Store a new pending request in one transaction.

        Args:
            kind: One of ``KINDS``.
            payload: Request fields, see :func:`clinic_requests.payload.validate_payload`.
            request_id: The caller's id for this request (see
                :func:`clinic_requests.submit.turn_request_id`); a request already stored under
                it is returned as it is, so handling the same turn twice stores it once.

        Returns:
            The stored request; it is committed when this returns.

        Raises:
            ValueError: Unknown kind or invalid payload (nothing is stored).
            sqlalchemy.exc.SQLAlchemyError: The database could not store it (the
                caller tells the visitor it was not sent).
        """
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
        clean = validate_payload(payload)
        caller_id = request_id is not None
        if request_id is not None:
            existing = self.get(request_id)
            if existing is not None:
                logger.info(
                    "Request %s is already stored (the same turn was handled again).", request_id
                )
                return existing
        request_id = request_id or uuid.uuid4().hex
        now = utc_now()
        row = {
            "id": request_id,
            "kind": kind,
            "service": clean["service"],
            "payload": json.dumps(clean, ensure_ascii=False, sort_keys=True),
            "created_at": now,
            "state": PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "updated_at": now,
        }
        attempt = {"number": 0}

        def store() -> None:
            attempt["number"] += 1
            try:
                with self._write() as connection:
                    connection.execute(insert(requests_table).values(**row))
            except IntegrityError:
                # On the retry: the first COMMIT reached the database, its answer did not.
                # With the caller's id: another server stored the same turn just now.
                # Either way the request is stored once.
                if attempt["number"] == 1 and not caller_id:
                    raise

        database.retry_once(store, "storing a request")
        logger.info("Stored %s request %s in the outbox.", kind, request_id)
        stored = self.get(request_id)
        assert stored is not None  # just committed
        return stored

    def get(self, request_id: str) -> Optional[OutboxRequest]:
        """Return one request, or ``None`` if the id is unknown."""
        with self._read() as connection:
            row = connection.execute(select(requests_table).where(R.id == request_id)).first()
        return to_request(row) if row else None

    def list(self, state: Optional[str] = None) -> List[OutboxRequest]:
        """Return requests, oldest first, optionally only those in ``state``.

        Raises:
            ValueError: ``state`` is not one of ``STATES``.
        """
        query = select(requests_table).order_by(R.created_at, R.id)
        if state is not None:
            states.check_state(state)
            query = query.where(R.state == state)
        with self._read() as connection:
            rows = connection.execute(query).fetchall()
        return [to_request(row) for row in rows]

    def counts(self) -> Dict[str, int]:
        """Return the number of requests per state (every state present)."""
        with self._read() as connection:
            rows = connection.execute(select(R.state, func.count()).group_by(R.state)).fetchall()
        return {**{state: 0 for state in STATES}, **{row[0]: row[1] for row in rows}}

    def due(self, now: Optional[datetime] = None) -> List[OutboxRequest]:
        """Return pending requests whose next attempt is due and that nobody holds.

        This only reads; use :meth:`claim_due` before delivering.
        """
        moment = states.aware(now or utc_now())
        with self._read() as connection:
            rows = connection.execute(
                select(requests_table)
                .where(states.due_clause(moment))
                .order_by(R.next_attempt_at, R.created_at)
            ).fetchall()
        return [to_request(row) for row in rows]

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
        moment = states.aware(now or utc_now())
        with self._write() as connection:
            if not states.claim_row(connection, request_id, worker_id, lease_seconds, moment):
                return None
            row = connection.execute(select(requests_table).where(R.id == request_id)).first()
        return to_request(row) if row else None

    def claim_due(
        self,
        worker_id: str,
        lease_seconds: float,
        now: Optional[datetime] = None,
        limit: int = DEFAULT_CLAIM_LIMIT,
    ) -> List[OutboxRequest]:
        """Reserve up to ``limit`` due requests for ``worker_id``.

        Runs as one write transaction and each row is taken with a conditional
        UPDATE, so a request is never handed to two workers while a lease on it is
        running.

        Args:
            worker_id: Who holds the lease (for diagnosis).
            lease_seconds: How long the claim lasts; must outlast one delivery.
            now: The current time (tests pass a fixed one).
            limit: Most requests to claim at once.

        Returns:
            The claimed requests, oldest due first.
        """
        moment = states.aware(now or utc_now())
        # Backend-specific on purpose: FOR UPDATE SKIP LOCKED is how PostgreSQL lets
        # several workers claim at once without waiting on, or double-taking, each
        # other's rows. SQLAlchemy renders nothing for it on SQLite, whose BEGIN
        # IMMEDIATE already makes every claim run alone.
        candidates = (
            select(R.id)
            .where(states.due_clause(moment))
            .order_by(R.next_attempt_at, R.created_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        with self._write() as connection:
            ids = [row[0] for row in connection.execute(candidates)]
            claimed = [
                request_id
                for request_id in ids
                if states.claim_row(connection, request_id, worker_id, lease_seconds, moment)
            ]
            rows = (
                {
                    row.id: row
                    for row in connection.execute(select(requests_table).where(R.id.in_(claimed)))
                }
                if claimed
                else {}
            )
        return [to_request(rows[request_id]) for request_id in claimed]

    def mark_delivered(self, request_id: str) -> bool:
        """Record a successful attempt; the request is delivered for good.

        Returns:
            ``True`` if the request was pending (or failed) and is now delivered.
        """
        return self._update(states.delivered(request_id))

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
        return self._update(states.attempt_failed(request_id, error, next_attempt_at, worker_id))

    def mark_failed(self, request_id: str, error: str, *, worker_id: Optional[str] = None) -> bool:
        """Record the last allowed attempt as failed; the request stops retrying.

        It stays in the outbox as ``failed`` until :meth:`retry_failed`.

        Returns:
            ``True`` if a pending request was updated.
        """
        return self._update(states.failed(request_id, error, worker_id))

    def retry_failed(self, request_id: Optional[str] = None) -> int:
        """Put failed requests back to pending with zero attempts, due now.

        ``last_error`` is kept until the next attempt replaces it.

        Args:
            request_id: Only this request (the staff page's "retry"); default every one.

        Returns:
            How many requests were reset.
        """
        with self._write() as connection:
            count = connection.execute(states.retried(request_id)).rowcount
        if count:
            logger.info("Reset %d failed request(s) to pending.", count)
        return count

    def purge_delivered(self, before: datetime, *, dry_run: bool = False) -> int:
        """Delete delivered requests whose delivery is older than ``before`` (retention).

        Pending and failed requests are never deleted, however old: they have not
        reached the clinic yet.

        Returns:
            How many requests were (or, with ``dry_run``, would be) deleted.
        """
        old = and_(R.state == DELIVERED, R.delivered_at < states.aware(before))
        if dry_run:
            with self._read() as connection:
                return connection.execute(
                    select(func.count()).select_from(requests_table).where(old)
                ).scalar_one()
        with self._write() as connection:
            return connection.execute(delete(requests_table).where(old)).rowcount

    def _update(self, statement: Any) -> bool:
        with self._write() as connection:
            return connection.execute(statement).rowcount == 1

    def _engine(self) -> Engine:
        engine = database.engine_for(self._url, self._busy_timeout)
        self._ensure_schema(engine)
        return engine

    def _write(self) -> Any:
        return database.write(self._engine())

    def _read(self) -> Any:
        return database.read(self._engine())

    def _ensure_schema(self, engine: Engine) -> None:
        if self._ready:
            return
        with self._ready_lock:
            if self._ready:
                return
            database.retry_once(lambda: create_schema(engine), "creating the outbox schema")
            self._ready = True

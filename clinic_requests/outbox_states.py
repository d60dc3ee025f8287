"""How a stored request moves between states: the SQL of each step of the outbox.

:class:`clinic_requests.outbox.Outbox` runs these statements; here is only what each step
changes (the table: :mod:`clinic_requests.outbox_schema`)::

    pending --claim (lease)--> pending, claimed_by / claimed_until set
    pending --delivered------> delivered          (any step ends the lease)
    pending --attempt_failed-> pending, next_attempt_at later
    pending --failed---------> failed --retried--> pending, attempts 0, due now
"""

from datetime import datetime, timedelta, timezone
from typing import Any, Optional, Tuple

from sqlalchemy import and_, or_, update
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Update

from clinic_requests.outbox_schema import DELIVERED, FAILED, PENDING, STATES, requests_table

MAX_ERROR_CHARS = 500
R = requests_table.c


def utc_now() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(timezone.utc)


def due_clause(moment: datetime) -> Any:
    """Pending, due at ``moment``, and nobody holds a running lease on it."""
    return and_(
        R.state == PENDING,
        R.next_attempt_at <= moment,
        or_(R.claimed_until.is_(None), R.claimed_until <= moment),
    )


def claim_row(
    connection: Connection,
    request_id: str,
    worker_id: str,
    lease_seconds: float,
    now: datetime,
) -> bool:
    """Take a lease on one due request for ``worker_id``; False if it is not due or held."""
    result = connection.execute(
        update(requests_table)
        .where(R.id == request_id, due_clause(now))
        .values(
            claimed_until=now + timedelta(seconds=lease_seconds),
            claimed_by=worker_id,
            updated_at=now,
        )
    )
    return result.rowcount == 1


def _released(*where: Any, now: datetime, **values: Any) -> Update:
    """The rows ``where`` changed by ``values``, their lease ended: every step but the claim."""
    return (
        update(requests_table)
        .where(*where)
        .values(claimed_until=None, claimed_by=None, updated_at=now, **values)
    )


def delivered(request_id: str) -> Update:
    """A successful attempt: delivered for good (from pending, or failed)."""
    now = utc_now()
    return _released(
        R.id == request_id,
        R.state != DELIVERED,
        now=now,
        state=DELIVERED,
        attempts=R.attempts + 1,
        delivered_at=now,
    )


def attempt_failed(
    request_id: str, error: str, next_attempt_at: datetime, worker_id: Optional[str]
) -> Update:
    """A failed attempt of a pending request, to be tried again at ``next_attempt_at``; only
    while ``worker_id`` (when given) holds its claim."""
    return _released(
        R.id == request_id,
        R.state == PENDING,
        *_owned_by(worker_id),
        now=utc_now(),
        attempts=R.attempts + 1,
        last_error=short_error(error),
        next_attempt_at=aware(next_attempt_at),
    )


def failed(request_id: str, error: str, worker_id: Optional[str]) -> Update:
    """The last allowed attempt failed: the request stops retrying."""
    return _released(
        R.id == request_id,
        R.state == PENDING,
        *_owned_by(worker_id),
        now=utc_now(),
        state=FAILED,
        attempts=R.attempts + 1,
        last_error=short_error(error),
    )


def retried(request_id: Optional[str] = None) -> Update:
    """Failed requests (or this one) back to pending with zero attempts, due now."""
    now = utc_now()
    which = () if request_id is None else (R.id == request_id,)
    return _released(
        R.state == FAILED, *which, now=now, state=PENDING, attempts=0, next_attempt_at=now
    )


def _owned_by(worker_id: Optional[str]) -> Tuple[Any, ...]:
    return () if worker_id is None else (R.claimed_by == worker_id,)


def check_state(state: str) -> None:
    """Refuse a state name that is not one of ``STATES``."""
    if state not in STATES:
        raise ValueError(f"state must be one of {', '.join(STATES)}, got {state!r}")


def short_error(error: str) -> str:
    """The error on one line, cut to ``MAX_ERROR_CHARS``."""
    text_ = " ".join(str(error).split())
    return text_ if len(text_) <= MAX_ERROR_CHARS else text_[: MAX_ERROR_CHARS - 1] + "…"


def aware(moment: datetime) -> datetime:
    """Refuse naive times before they reach SQL (they would be ambiguous)."""
    if moment.tzinfo is None:
        raise ValueError("outbox times must be timezone-aware")
    return moment.astimezone(timezone.utc)

"""Which delivery channel (webhook, e-mail) has each request: one row per request and channel.

A request is scheduled, claimed and retried as a whole by the outbox (one lease, one backoff,
one ``pending``/``delivered``/``failed`` state). This log records, per channel, the
attempts, the last error and when it was delivered, so that:

* a request is ``delivered`` only when every configured channel has it;
* a later attempt -- the next retry, or staff's "retry" of a failed request -- sends only on
  the channels that do not have it yet (the webhook is not posted again because the e-mail
  failed, and the other way round);
* staff see each channel's own state and error.

Kept in the outbox's database (a ``request_channels`` table next to ``requests``, SQLite or
PostgreSQL). Rows of requests deleted by the retention purge go with them
(:meth:`ChannelLog.purge_orphans`).
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Dict, Iterable, List, Optional, Set

from sqlalchemy import Column, Integer, MetaData, Table, Text, and_, delete, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from clinic_requests import database
from clinic_requests.database import UtcTime
from clinic_requests.outbox_schema import requests_table
from clinic_requests.outbox_states import short_error

logger = logging.getLogger(__name__)

metadata = MetaData()
channels_table = Table(
    "request_channels",
    metadata,
    Column("request_id", Text, primary_key=True),
    Column("channel", Text, primary_key=True),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text),
    Column("last_attempt_at", UtcTime(), nullable=False),
    Column("delivered_at", UtcTime()),
)
C = channels_table.c


@dataclass(frozen=True)
class ChannelState:
    """One channel's record for one request.

    Attributes:
        channel: ``webhook`` or ``email``.
        attempts: Attempts on this channel so far.
        last_error: Why the last attempt failed, or a warning about a delivery.
        last_attempt_at: When it was last tried (UTC).
        delivered_at: When this channel got the request (UTC), if it did.
    """

    channel: str
    attempts: int
    last_error: Optional[str]
    last_attempt_at: datetime
    delivered_at: Optional[datetime]

    @property
    def delivered(self) -> bool:
        """Whether this channel has the request."""
        return self.delivered_at is not None


class ChannelLog:
    """Per-channel delivery records, in the database at ``url`` (the outbox's)."""

    def __init__(self, url: str) -> None:
        """Nothing is opened yet; the table is created on first use."""
        self._url = url

    def delivered_channels(self, request_id: str) -> Set[str]:
        """The channels that have this request."""
        with database.read(self._engine()) as connection:
            rows = connection.execute(
                select(C.channel).where(C.request_id == request_id, C.delivered_at.is_not(None))
            )
            return {row[0] for row in rows}

    def record(
        self, request_id: str, channel: str, *, delivered: bool, note: Optional[str] = None
    ) -> None:
        """Record one attempt on ``channel`` (``note``: the error, or a delivery's warning)."""
        now = datetime.now(timezone.utc)
        note = short_error(note) if note else None
        changes = {"attempts": C.attempts + 1, "last_error": note, "last_attempt_at": now}
        if delivered:
            changes["delivered_at"] = now
        where = and_(C.request_id == request_id, C.channel == channel)

        def store() -> None:
            with database.write(self._engine()) as connection:
                if connection.execute(
                    update(channels_table).where(where).values(**changes)
                ).rowcount:
                    return
                connection.execute(
                    insert(channels_table).values(
                        request_id=request_id,
                        channel=channel,
                        attempts=1,
                        last_error=note,
                        last_attempt_at=now,
                        delivered_at=now if delivered else None,
                    )
                )

        try:
            database.retry_once(store, "recording a delivery attempt")
        except IntegrityError:  # another process inserted the row just now: count on it
            database.retry_once(store, "recording a delivery attempt")

    def states(self, request_ids: Iterable[str]) -> Dict[str, List[ChannelState]]:
        """Request id -> its channels' records (channel order: by name)."""
        wanted = list(dict.fromkeys(request_ids))
        found: Dict[str, List[ChannelState]] = {request_id: [] for request_id in wanted}
        if not wanted:
            return found
        with database.read(self._engine()) as connection:
            rows = connection.execute(
                select(channels_table)
                .where(C.request_id.in_(wanted))
                .order_by(C.request_id, C.channel)
            )
            for row in rows:
                found[row.request_id].append(
                    ChannelState(
                        channel=row.channel,
                        attempts=row.attempts,
                        last_error=row.last_error,
                        last_attempt_at=row.last_attempt_at,
                        delivered_at=row.delivered_at,
                    )
                )
        return found

    def purge_orphans(self) -> int:
        """Delete the records of requests no longer in the outbox (after the retention purge)."""
        with database.write(self._engine()) as connection:
            return connection.execute(
                delete(channels_table).where(C.request_id.not_in(select(requests_table.c.id)))
            ).rowcount

    def _engine(self) -> Engine:
        return database.engine_with_tables(self._url, metadata, "request_channels")

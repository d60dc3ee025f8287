"""Staff's "handled" mark on a request: who dealt with it, and when.

Separate from delivery: a request is *delivered* when it reached the clinic (webhook,
e-mail), and *handled* when a person at the clinic has dealt with it (called the visitor
back, booked them). Set on the staff page; kept in the outbox's database (a
``request_handled`` table next to ``requests``), and deleted with the request by the
retention purge (:meth:`HandledRequests.purge_orphans`).
"""

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Dict, Iterable, Optional

from sqlalchemy import Column, MetaData, Table, Text, delete, insert, select, update
from sqlalchemy.engine import Engine

from clinic_requests import database
from clinic_requests.database import UtcTime
from clinic_requests.outbox_schema import requests_table

MAX_NAME_CHARS = 80

metadata = MetaData()
handled_table = Table(
    "request_handled",
    metadata,
    Column("request_id", Text, primary_key=True),
    Column("handled_by", Text, nullable=False),
    Column("handled_at", UtcTime(), nullable=False),
)
H = handled_table.c


@dataclass(frozen=True)
class HandledMark:
    """Who marked a request handled, and when (UTC)."""

    handled_by: str
    handled_at: datetime


class HandledRequests:
    """The marks, in the database at ``url`` (the outbox's)."""

    def __init__(self, url: str) -> None:
        """Nothing is opened yet; the table is created on first use."""
        self._url = url

    def mark(self, request_id: str, handled_by: str, now: Optional[datetime] = None) -> HandledMark:
        """Mark a request handled by ``handled_by`` (a later mark replaces an earlier one)."""
        who = " ".join(str(handled_by).split())[:MAX_NAME_CHARS]
        if not who:
            raise ValueError("say who handled the request")
        moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
        with database.write(self._engine()) as connection:
            changed = connection.execute(
                update(handled_table)
                .where(H.request_id == request_id)
                .values(handled_by=who, handled_at=moment)
            ).rowcount
            if not changed:
                connection.execute(
                    insert(handled_table).values(
                        request_id=request_id, handled_by=who, handled_at=moment
                    )
                )
        return HandledMark(who, moment)

    def unmark(self, request_id: str) -> bool:
        """Take the mark away (handled by mistake); ``True`` if there was one."""
        with database.write(self._engine()) as connection:
            return bool(
                connection.execute(delete(handled_table).where(H.request_id == request_id)).rowcount
            )

    def marks(self, request_ids: Optional[Iterable[str]] = None) -> Dict[str, HandledMark]:
        """Request id -> its mark, for the given requests (all when ``None``)."""
        query = select(handled_table)
        if request_ids is not None:
            query = query.where(H.request_id.in_(list(request_ids)))
        with database.read(self._engine()) as connection:
            return {
                row.request_id: HandledMark(row.handled_by, row.handled_at)
                for row in connection.execute(query)
            }

    def purge_orphans(self) -> int:
        """Delete the marks of requests no longer in the outbox (after the retention purge)."""
        with database.write(self._engine()) as connection:
            return connection.execute(
                delete(handled_table).where(H.request_id.not_in(select(requests_table.c.id)))
            ).rowcount

    def _engine(self) -> Engine:
        return database.engine_with_tables(self._url, metadata, "request_handled")

"""The outbox's table and its rows: columns, schema version, one stored request as read.

:mod:`clinic_requests.outbox` stores, claims and updates requests in this table;
:mod:`clinic_requests.channel_log`, :mod:`clinic_requests.handled_requests` and the retention
purge refer to it. The schema is created once per database by whichever process gets there
first (:func:`create_schema`), on SQLite (``PRAGMA user_version``) and on PostgreSQL (a row
of ``clinic_schema``).
"""

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Dict, Optional

from sqlalchemy import (
    CheckConstraint,
    Column,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    insert,
    select,
    text,
)
from sqlalchemy.engine import Engine, Row

from clinic_requests import database
from clinic_requests.database import UtcTime

logger = logging.getLogger(__name__)

PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"
STATES = (PENDING, DELIVERED, FAILED)

SCHEMA_VERSION = 1

metadata = MetaData()
# Same columns and constraints as the SQLite files created before PostgreSQL support.
requests_table = Table(
    "requests",
    metadata,
    Column("id", Text, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("service", Text),
    Column("payload", Text, nullable=False),
    Column("created_at", UtcTime(), nullable=False),
    Column("state", Text, nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("next_attempt_at", UtcTime(), nullable=False),
    Column("last_error", Text),
    Column("claimed_until", UtcTime()),
    Column("claimed_by", Text),
    Column("delivered_at", UtcTime()),
    Column("updated_at", UtcTime(), nullable=False),
    CheckConstraint("kind IN ('booking', 'consultation', 'handoff')", name="requests_kind"),
    CheckConstraint("state IN ('pending', 'delivered', 'failed')", name="requests_state"),
    Index("requests_due", "state", "next_attempt_at"),
)
# PostgreSQL has no PRAGMA user_version: the schema version is a row here instead.
schema_table = Table(
    "clinic_schema",
    metadata,
    Column("component", Text, primary_key=True),
    Column("version", Integer, nullable=False),
)


@dataclass(frozen=True)
class OutboxRequest:
    """One stored request, as read from the outbox.

    Attributes:
        id: uuid4 hex; also the webhook ``Idempotency-Key``.
        kind: ``booking``, ``consultation`` or ``handoff``.
        service: The service asked about, if any (copied from the payload).
        payload: The validated payload (every field of ``PAYLOAD_FIELDS``,
            see :mod:`clinic_requests.payload`).
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


def create_schema(engine: Engine) -> None:
    """Create the table once, whichever process gets there first; check its version."""
    if engine.dialect.name == "sqlite":
        raw = engine.raw_connection()  # outside any transaction, as SQLite requires
        try:
            cursor = raw.cursor()
            mode = cursor.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            cursor.close()
        finally:
            raw.close()
        if str(mode).lower() != "wal":
            logger.warning(
                "Outbox %s runs in journal mode %r, not WAL (network file system?); "
                "it still works, with more locking.",
                database.describe(str(engine.url)),
                mode,
            )
        with database.write(engine) as connection:
            requests_table.create(connection, checkfirst=True)
            version = connection.exec_driver_sql("PRAGMA user_version").scalar()
            if version == 0:
                connection.exec_driver_sql(f"PRAGMA user_version = {SCHEMA_VERSION}")
            _check_version(engine, version)
        return
    with database.write(engine) as connection:
        # PostgreSQL: CREATE TABLE IF NOT EXISTS is not safe against a second action
        # server doing the same at the same moment; a transaction-scoped advisory lock
        # makes the creators take turns.
        connection.execute(text("SELECT pg_advisory_xact_lock(hashtext('clinic_schema'))"))
        metadata.create_all(connection, tables=[requests_table, schema_table], checkfirst=True)
        version = connection.execute(
            select(schema_table.c.version).where(schema_table.c.component == "outbox")
        ).scalar()
        if version is None:
            connection.execute(
                insert(schema_table).values(component="outbox", version=SCHEMA_VERSION)
            )
        _check_version(engine, version or 0)


def _check_version(engine: Engine, version: int) -> None:
    if version > SCHEMA_VERSION:
        raise RuntimeError(
            f"{database.describe(str(engine.url))} has outbox schema {version}; this code "
            f"knows up to {SCHEMA_VERSION}"
        )


def to_request(row: Row) -> OutboxRequest:
    return OutboxRequest(
        id=row.id,
        kind=row.kind,
        service=row.service,
        payload=json.loads(row.payload),
        created_at=row.created_at,
        state=row.state,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        claimed_until=row.claimed_until,
        delivered_at=row.delivered_at,
    )

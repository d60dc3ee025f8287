"""Retention: delete conversations, delivered requests and unanswered records older than N days.

What goes (``before`` = now minus ``retention_days``):

* Conversations in Rasa's SQL tracker store (the ``events`` table): a conversation goes
  *whole*, when its latest event is older than ``before`` -- never half of one.
* Outbox requests that are ``delivered`` and were delivered before ``before``. Pending and
  failed requests are never deleted, however old: they have not reached the clinic. Their
  per-channel delivery records and staff's "handled" marks go with them.
* Unanswered-question records created before ``before``.

:func:`purge` is the logic (URLs / stores and a cutoff in, counts out); :func:`purge_configured`
reads the settings (:func:`clinic_requests.config.retention_days`, ``CLINIC_RETENTION_DAYS``,
default 90, 0 = keep forever); ``scripts/purge.py`` (``make purge``) and :func:`start_daily_purge`
(the action server, :mod:`clinic_requests.background`: once a day per process) call it.
"""

import logging
import os
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import List, Optional, Tuple, Union

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    delete,
    func,
    inspect,
    select,
)

from clinic_requests import database, unanswered
from clinic_requests.channel_log import ChannelLog
from clinic_requests.config import ConfigError, retention_days, tracker_store_url
from clinic_requests.handled_requests import HandledRequests
from clinic_requests.outbox import Outbox

logger = logging.getLogger(__name__)

Location = Union[Path, str]
DAY_SECONDS = 24 * 60 * 60
FIRST_RUN_DELAY_SECONDS = 60.0  # let the action server finish starting first
SENDERS_PER_TRANSACTION = 500  # short transactions: Rasa keeps writing meanwhile
THREAD_NAME = "clinic-retention"

# The columns of Rasa's SQLTrackerStore table that the purge reads (Rasa creates the table).
_tracker_metadata = MetaData()
events_table = Table(
    "events",
    _tracker_metadata,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False),
    Column("timestamp", Float),
)
E = events_table.c


@dataclass(frozen=True)
class PurgeResult:
    """What a purge deleted (or, in a dry run, would delete), per store.

    Attributes:
        before: The cutoff: data older than this goes.
        conversations: Conversations (tracker senders) deleted whole.
        events: Their tracker events.
        requests: Delivered outbox requests.
        unanswered: Unanswered-question records.
        dry_run: Nothing was deleted, only counted.
        errors: Stores that could not be purged, with the reason (the others were).
    """

    before: datetime
    conversations: int = 0
    events: int = 0
    requests: int = 0
    unanswered: int = 0
    dry_run: bool = False
    errors: Tuple[str, ...] = field(default_factory=tuple)

    def summary(self) -> str:
        """One line for logs and the CLI."""
        verb = "would delete" if self.dry_run else "deleted"
        text = (
            f"{verb} {self.conversations} conversation(s) ({self.events} event(s)), "
            f"{self.requests} delivered request(s), {self.unanswered} unanswered "
            f"record(s) older than {self.before.isoformat(timespec='seconds')}"
        )
        return text + ("; failed: " + "; ".join(self.errors) if self.errors else "")


def cutoff(days: int, now: Optional[datetime] = None) -> datetime:
    """``now`` minus ``days`` (aware UTC)."""
    return (now or datetime.now(timezone.utc)).astimezone(timezone.utc) - timedelta(days=days)


def purge_tracker(url: str, before: datetime, *, dry_run: bool = False) -> Tuple[int, int]:
    """Delete whole conversations whose latest event is older than ``before``.

    Args:
        url: SQLAlchemy URL of Rasa's SQL tracker store.
        before: Cutoff (aware).
        dry_run: Only count.

    Returns:
        (conversations, events) deleted or, with ``dry_run``, to delete.
    """
    file = database.sqlite_file(url)
    if file is not None and not file.exists():
        return 0, 0  # no conversation stored yet (and no empty file created)
    engine = database.engine_for(url)
    if not inspect(engine).has_table("events"):
        return 0, 0  # no conversation stored yet
    limit = before.timestamp()  # Rasa stores event times as Unix seconds
    old_senders = select(E.sender_id).group_by(E.sender_id).having(func.max(E.timestamp) < limit)
    with database.read(engine) as connection:
        senders: List[str] = [row[0] for row in connection.execute(old_senders)]
        if dry_run:
            if not senders:
                return 0, 0
            events = connection.execute(
                select(func.count())
                .select_from(events_table)
                .where(E.sender_id.in_(old_senders.scalar_subquery()))
            ).scalar_one()
            return len(senders), events
    conversations = events = 0
    for start in range(0, len(senders), SENDERS_PER_TRANSACTION):
        chunk = senders[start : start + SENDERS_PER_TRANSACTION]
        # Checked again inside the delete: a conversation that got a new event since the
        # list was read is kept whole.
        still_old = (
            select(E.sender_id)
            .where(E.sender_id.in_(chunk))
            .group_by(E.sender_id)
            .having(func.max(E.timestamp) < limit)
        )
        with database.write(engine) as connection:
            gone = [row[0] for row in connection.execute(still_old)]
            if gone:
                events += connection.execute(
                    delete(events_table).where(E.sender_id.in_(gone))
                ).rowcount
                conversations += len(gone)
    return conversations, events


def purge(
    before: datetime,
    *,
    tracker_url: Optional[str],
    outbox: Optional[Location],
    unanswered_store: Optional[Location],
    dry_run: bool = False,
) -> PurgeResult:
    """Delete what is older than ``before`` from each given store (``None`` = skip that store).

    A store that fails (database down, file unreadable) does not stop the others; its
    error is in :attr:`PurgeResult.errors`.
    """
    if before.tzinfo is None:
        raise ValueError("the cutoff must be timezone-aware")
    counts = {"conversations": 0, "events": 0, "requests": 0, "unanswered": 0}
    errors: List[str] = []
    if tracker_url is not None:
        try:
            counts["conversations"], counts["events"] = purge_tracker(
                tracker_url, before, dry_run=dry_run
            )
        except Exception as error:  # reported per store; the others still run
            errors.append(f"conversations ({database.describe(tracker_url)}): {error}")
    if outbox is not None and not _missing_file(outbox):
        box = Outbox(outbox)
        try:
            counts["requests"] = box.purge_delivered(before, dry_run=dry_run)
            if not dry_run:  # their delivery records and staff marks go with them
                ChannelLog(box.url).purge_orphans()
                HandledRequests(box.url).purge_orphans()
        except Exception as error:
            errors.append(f"requests ({box.location}): {error}")
    if unanswered_store is not None and not _missing_file(unanswered_store):
        try:
            counts["unanswered"] = unanswered.purge(before, dry_run=dry_run, path=unanswered_store)
        except Exception as error:
            errors.append(f"unanswered ({unanswered.location(unanswered_store)}): {error}")
    return PurgeResult(before=before, dry_run=dry_run, errors=tuple(errors), **counts)


def _missing_file(location: Location) -> bool:
    """A SQLite store that was never created: nothing to purge, and nothing to create."""
    if database.is_url(location):
        file = database.sqlite_file(str(location))
        return file is not None and not file.exists()
    return not Path(location).exists()


def purge_configured(
    days: Optional[int] = None, *, dry_run: bool = False, now: Optional[datetime] = None
) -> Optional[PurgeResult]:
    """Purge the configured stores (endpoints.yml + environment).

    Args:
        days: Override of the retention setting.
        dry_run: Only count.
        now: The current time (tests).

    Returns:
        The result, or ``None`` when retention is 0 (keep forever).

    Raises:
        ConfigError: A setting is malformed.
    """
    days = retention_days() if days is None else days
    if days < 0:
        raise ConfigError(f"retention days must be 0 (keep forever) or more, got {days}")
    if days == 0:
        return None
    return purge(
        cutoff(days, now),
        tracker_url=tracker_store_url(),
        outbox=Outbox().url,
        unanswered_store=unanswered.target(),
        dry_run=dry_run,
    )


class DailyPurge:
    """Runs :func:`purge_configured` in a daemon thread: shortly after start, then daily.

    At most once a day per process (several action servers each purge once a day; deleting
    what is already gone is harmless). Each run is logged with its counts.
    """

    def __init__(
        self,
        first_delay_seconds: float = FIRST_RUN_DELAY_SECONDS,
        interval_seconds: float = DAY_SECONDS,
    ) -> None:
        self._first_delay = first_delay_seconds
        self._interval = interval_seconds
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._lock = threading.Lock()
        self.last_result: Optional[PurgeResult] = None
        self.runs = 0

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the thread once (a no-op when running)."""
        with self._lock:
            if self.running:
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
            self._thread.start()

    def stop(self, timeout_seconds: float = 10.0) -> None:
        """Stop the thread (after the purge in progress, if any)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_seconds)

    def run_once(self) -> Optional[PurgeResult]:
        """One purge of the configured stores, logged; never raises."""
        self.runs += 1
        try:
            result = purge_configured()
        except Exception as error:  # a broken setting must not stop the action server
            logger.error("Retention purge did not run: %s", error)
            return None
        if result is None:
            logger.info("Retention is 0 days: nothing is deleted (keep forever).")
        elif result.errors:
            logger.error("Retention purge (pid %d): %s", os.getpid(), result.summary())
        else:
            logger.info("Retention purge (pid %d): %s", os.getpid(), result.summary())
        self.last_result = result
        return result

    def _run(self) -> None:
        if self._stop.wait(self._first_delay):
            return
        while True:
            self.run_once()
            if self._stop.wait(self._interval):
                return


_daily: Optional[DailyPurge] = None
_daily_pid: Optional[int] = None
_daily_lock = threading.Lock()


def start_daily_purge() -> DailyPurge:
    """Start this process's daily purge once (cheap to call again; forks get their own)."""
    global _daily, _daily_pid
    with _daily_lock:
        if _daily is None or _daily_pid != os.getpid():
            _daily, _daily_pid = DailyPurge(), os.getpid()
        daily = _daily
    daily.start()
    return daily


def stop_daily_purge(timeout_seconds: float = 10.0) -> None:
    """Stop and forget this process's daily purge (tests, shutdown)."""
    global _daily, _daily_pid
    with _daily_lock:
        daily = _daily if _daily_pid == os.getpid() else None
        _daily, _daily_pid = None, None
    if daily is not None:
        daily.stop(timeout_seconds)

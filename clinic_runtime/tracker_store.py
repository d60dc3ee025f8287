"""Rasa's SQL tracker store with a per-process cache validated against the database.

Selected in endpoints.yml, Rasa's own extension point for tracker stores, as ``type:
clinic_runtime.tracker_store.CachedSQLTrackerStore`` under ``tracker_store:``; every other setting
is Rasa's ``SQL`` store's (dialect, db, url, port, username, password, ...), and the table is Rasa's
``events`` table, unchanged: a database written by one store can be read by the other.

Why: Rasa's ``SQLTrackerStore`` rebuilds the whole conversation from the database on every
retrieve (a query, ``json.loads`` and ``Event`` deserialisation per stored event, ~70 us each),
and runs a counting subquery on every save. Our server retrieves twice per message (Rasa, then
the website channel's reply guard) and saves once, so the cost grows with the conversation
(docs/benchmarks-levers.md: measured, before/after).

How it stays correct with several Rasa processes sharing one database (the scaled setup):

* Every retrieve and save first asks the database for the conversation's ``(count(id),
  max(id))`` -- one indexed query. The cache is used only if that key equals the key recorded
  with the cached events; any row added (or removed) by another process changes it, and the
  conversation is then read from the database exactly as Rasa does.
* The key is read *before* the events, so a write racing with a load can only make the recorded
  key older than the events (a later miss), never newer (a stale hit).
* On save the new events are appended to the cached copy only when the save started from a
  validated cache entry, no new event starts a session (``SessionStarted``: Rasa's retrieve then
  returns the new session only, which is left to Rasa's code) and none is older than the
  session's start. The new key is computed from the rows inserted; if another writer inserted
  at the same time, the next validation sees a different count and reloads.
* Cached events are kept pickled and unpickled on every retrieve, so a tracker handed to Rasa
  never shares mutable ``Event`` objects with the cache (Rasa mutates some, e.g. entities added
  to the latest user message).
* Rows are assumed to be appended only, as Rasa does; deleting a conversation changes its count.
  Editing a stored row in place (not something Rasa does) would not be noticed.

For SQLite the two statements run on every message -- the key query and one INSERT per new
event -- go straight to the ``sqlite3`` cursor of the session's own connection (same
transaction, committed by the session as before). Why not SQLAlchemy here: its per-statement
machinery (ORM session, compiled-statement cache keys, result objects) cost ~10x the statement
itself, ~0.5 ms of CPU per message (docs/benchmarks-levers.md). PostgreSQL keeps SQLAlchemy Core.

It also gives a SQLite file database a connection pool (SQLAlchemy 1.4 opens a new SQLite
connection for every session of Rasa's store: ``NullPool``) and SQLite's write-ahead log
(``journal_mode=WAL``, still ``synchronous=FULL``: as durable as before, but a commit costs
one sync of the log instead of the rollback journal's several, ~1.4 -> ~0.2 ms here).
PostgreSQL keeps Rasa's engine and pool unchanged.
"""

import itertools
import json
import logging
import os
import pickle
from collections import OrderedDict
from typing import Any, Dict, List, NamedTuple, Optional, Tuple

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import ActionExecuted, Event, SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

logger = logging.getLogger(__name__)

DEFAULT_CACHE_CONVERSATIONS = 5000
_KEY_SQL = sa.text("SELECT count(id), max(id) FROM events WHERE sender_id = :sender_id")

Key = Tuple[int, Optional[int]]


class _Entry(NamedTuple):
    key: Key
    events: Tuple[bytes, ...]  # one pickle per event of the latest session, in order
    session_start: Optional[float]  # timestamp of the latest SessionStarted among them


def _pickled(events: List[Event]) -> Tuple[bytes, ...]:
    return tuple(pickle.dumps(event, protocol=pickle.HIGHEST_PROTOCOL) for event in events)


def _session_start(events: List[Event]) -> Optional[float]:
    starts = [e.timestamp for e in events if isinstance(e, SessionStarted)]
    return max(starts) if starts else None


def _sqlite_wal(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


class CachedSQLTrackerStore(SQLTrackerStore):
    """``SQLTrackerStore`` plus a validated per-process cache (see the module docstring)."""

    engine: Any  # Rasa's SQLAlchemy engine, replaced by a pooled one for a SQLite file

    def __init__(
        self, *args: Any, cache_conversations: int = DEFAULT_CACHE_CONVERSATIONS, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name == "sqlite" and self.engine.url.database not in (
            None,
            "",
            ":memory:",
        ):
            # A pool instead of SQLAlchemy 1.4's NullPool (a new connection per session).
            url = self.engine.url
            self.engine.dispose()
            self.engine = sa.create_engine(
                url,
                poolclass=sa.pool.QueuePool,
                pool_size=5,
                connect_args={"check_same_thread": False},
            )
            sa.event.listen(self.engine, "connect", _sqlite_wal)
            self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        # SQLite: the hot statements on the DBAPI cursor (module docstring).
        self._sqlite = self.engine.dialect.name == "sqlite"
        columns = [column.name for column in self.SQLEvent.__table__.columns if column.name != "id"]
        self._row_columns = tuple(columns)
        self._sqlite_insert = (
            f"INSERT INTO {self.SQLEvent.__tablename__} ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' for _ in columns)})"
        )
        self._sqlite_key = (
            f"SELECT count(id), max(id) FROM {self.SQLEvent.__tablename__} WHERE sender_id = ?"
        )
        self.cache_conversations = int(cache_conversations)
        self._cache: OrderedDict[str, _Entry] = OrderedDict()
        self._saved_slots: OrderedDict[str, Tuple[Key, bytes]] = OrderedDict()
        # CLINIC_RUNTIME_SKIP=saved_slots: only for measuring (clinic_bench/levers_ab.py)
        self.remember_slots = "saved_slots" not in os.environ.get("CLINIC_RUNTIME_SKIP", "").split(
            ","
        )
        self.hits = 0
        self.misses = 0

    # -- the cache --------------------------------------------------------------------------
    def _key(self, session: Any, sender_id: str) -> Key:
        if self._sqlite:
            cursor = session.connection().connection.cursor()
            try:
                count, max_id = cursor.execute(self._sqlite_key, (sender_id,)).fetchone()
            finally:
                cursor.close()
        else:
            count, max_id = session.execute(_KEY_SQL, {"sender_id": sender_id}).one()
        return int(count), (None if max_id is None else int(max_id))

    def _insert(self, session: Any, sender_id: str, events: List[Event]) -> List[int]:
        """Insert one row per event, in order; the new rows' ids."""
        rows = [self._row(sender_id, event) for event in events]
        if not self._sqlite:
            insert = self.SQLEvent.__table__.insert()
            return [session.execute(insert, row).inserted_primary_key[0] for row in rows]
        cursor = session.connection().connection.cursor()
        try:
            ids = []
            for row in rows:
                cursor.execute(self._sqlite_insert, tuple(row[name] for name in self._row_columns))
                ids.append(cursor.lastrowid)
            return ids
        finally:
            cursor.close()

    def _remember(self, sender_id: str, entry: _Entry) -> None:
        if self.cache_conversations <= 0:
            return
        self._cache[sender_id] = entry
        self._cache.move_to_end(sender_id)
        while len(self._cache) > self.cache_conversations:
            self._cache.popitem(last=False)

    def _valid_entry(self, sender_id: str, key: Key) -> Optional[_Entry]:
        entry = self._cache.get(sender_id)
        if entry is not None and entry.key == key:
            self.hits += 1
            self._cache.move_to_end(sender_id)
            return entry
        self.misses += 1
        return None

    # -- Rasa's interface -------------------------------------------------------------------
    async def _retrieve(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> Optional[DialogueStateTracker]:
        if fetch_events_from_all_sessions or not self.domain:
            return await super()._retrieve(sender_id, fetch_events_from_all_sessions)
        with self.session_scope() as session:
            key = self._key(session, sender_id)  # first: see the class docstring
            if key[0] == 0:  # no rows: Rasa's query would return none either
                self._cache.pop(sender_id, None)
                return None
            entry = self._valid_entry(sender_id, key)
            if entry is None:
                rows = self._event_query(
                    session, sender_id, fetch_events_from_all_sessions=False
                ).all()
                data = [row.data for row in rows]
        if entry is not None:
            events = [pickle.loads(blob) for blob in entry.events]
        else:
            tracker = await self._tracker_from_rows(sender_id, data)
            if tracker is None:
                self._cache.pop(sender_id, None)
                return None
            events = list(tracker.events)
            try:
                self._remember(sender_id, _Entry(key, _pickled(events), _session_start(events)))
            except Exception as error:  # an unpicklable event: just do not cache
                logger.debug(f"Not caching conversation '{sender_id}': {error}")
                self._cache.pop(sender_id, None)
            return tracker
        if not events:
            return None
        return DialogueStateTracker.from_events(sender_id, events, self.domain.slots)

    async def _tracker_from_rows(
        self, sender_id: str, data: List[str]
    ) -> Optional[DialogueStateTracker]:
        """As Rasa's ``_retrieve`` builds the tracker from the rows' JSON."""
        events = [json.loads(item) for item in data]
        if self.domain and events:
            return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        return None

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Rasa's ``save`` (only new events are inserted), counting from the cache when valid."""
        await self.stream_events(tracker)
        sender_id = tracker.sender_id
        with self.session_scope() as session:
            key = self._key(session, sender_id)
            entry = self._valid_entry(sender_id, key)
            if entry is not None:
                stored = len(entry.events)
            elif key[0] == 0:  # nothing stored yet: Rasa's count query would say 0
                stored = 0
            else:
                stored = self._event_query(
                    session, sender_id, fetch_events_from_all_sessions=False
                ).count()
            new_events = list(itertools.islice(tracker.events, stored, len(tracker.events)))
            if stored == 0 and _only_the_opening_listen(new_events):
                # Rasa's create_tracker saves a new conversation's opening action_listen on its
                # own: a commit and a disk sync for every new visitor. Nothing is lost by not
                # writing it now: the save at the end of the first message (the only way the
                # conversation gets content) stores it with that message's events.
                return
            # One INSERT per row, as the ORM's flush does (each gives its id), without the
            # ORM's unit of work around them: the same rows for a fraction of the CPU.
            new_ids = self._insert(session, sender_id, new_events)
            if new_ids:
                session.commit()
        self._after_save(sender_id, key, entry, new_events, new_ids)
        self._remember_slots(tracker, key, new_ids)
        logger.debug(f"Tracker with sender_id '{sender_id}' stored to database")

    # -- slots as saved by this process (the website channel's reply guard) ----------------
    def _remember_slots(self, tracker: DialogueStateTracker, key: Key, new_ids: List[int]) -> None:
        if self.cache_conversations <= 0 or not self.remember_slots or None in new_ids:
            return
        new_key = (
            key[0] + len(new_ids),
            max([i for i in [key[1], *new_ids] if i is not None], default=None),
        )
        try:
            slots = pickle.dumps(tracker.current_slot_values(), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as error:  # an unpicklable slot value: the guard reads the tracker
            logger.debug(f"Not remembering the slots of '{tracker.sender_id}': {error}")
            self._saved_slots.pop(tracker.sender_id, None)
            return
        self._saved_slots[tracker.sender_id] = (new_key, slots)
        self._saved_slots.move_to_end(tracker.sender_id)
        while len(self._saved_slots) > self.cache_conversations:
            self._saved_slots.popitem(last=False)

    async def saved_slots(self, sender_id: str) -> Optional[Dict[str, Any]]:
        """The conversation's slots as this process last saved them, if still current.

        Current means: the database's ``(count(id), max(id))`` of the conversation is the one
        this process's save produced, i.e. nobody (no other process, no deletion) has written
        to it since. Otherwise None: the caller reads the tracker (``retrieve``) instead.
        """
        remembered = self._saved_slots.get(sender_id)
        if remembered is None:
            return None
        with self.session_scope() as session:
            key = self._key(session, sender_id)
        if key != remembered[0]:
            self._saved_slots.pop(sender_id, None)
            return None
        return pickle.loads(remembered[1])

    def _row(self, sender_id: str, event: Event) -> Dict[str, Any]:
        """The ``events`` row for one event, exactly as Rasa's ``save`` writes it."""
        data = event.as_dict()
        return {
            "sender_id": sender_id,
            "type_name": event.type_name,
            "timestamp": data.get("timestamp"),
            "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
            "action_name": data.get("name"),
            "data": json.dumps(data),
        }

    def _remember_first_save(
        self, sender_id: str, new_events: List[Event], new_ids: List[int]
    ) -> None:
        """Cache a conversation's first rows as Rasa's retrieve will read them back.

        The conversation had no rows, so the table now holds exactly these (checked by the key
        on the next read). Rasa's query keeps the rows whose timestamp is at or after the
        latest ``session_started`` one (all rows if there is none), in id order; the same
        filter is applied here. A visitor's second message then needs no database read.
        """
        start = _session_start(new_events)
        if start is None:
            kept = new_events
        else:  # a row without a timestamp fails SQL's ``>=`` too
            kept = [e for e in new_events if e.timestamp is not None and e.timestamp >= start]
        self._remember_pickled(sender_id, (len(new_ids), max(new_ids)), (), kept, start)

    def _after_save(
        self,
        sender_id: str,
        key: Key,
        entry: Optional[_Entry],
        new_events: List[Event],
        new_ids: List[int],
    ) -> None:
        if entry is None and key[0] == 0 and new_ids and None not in new_ids:
            self._remember_first_save(sender_id, new_events, new_ids)
            return
        if entry is None:
            return  # the next retrieve loads (and caches) it the way Rasa does
        start = entry.session_start
        if (
            any(isinstance(e, SessionStarted) for e in new_events)
            or (
                start is not None
                and any(e.timestamp is None or e.timestamp < start for e in new_events)
            )
            or None in new_ids
        ):
            self._cache.pop(sender_id, None)  # Rasa's query decides what the session holds
            return
        new_key = (
            key[0] + len(new_ids),
            max([i for i in [key[1], *new_ids] if i is not None], default=None),
        )
        self._remember_pickled(sender_id, new_key, entry.events, new_events, start)

    def _remember_pickled(
        self,
        sender_id: str,
        key: Key,
        cached: Tuple[bytes, ...],
        events: List[Event],
        start: Optional[float],
    ) -> None:
        """Cache ``cached`` + ``events`` under ``key``; an unpicklable event: forget it."""
        try:
            blobs = _pickled(events)
        except Exception as error:
            logger.debug(f"Not caching conversation '{sender_id}': {error}")
            self._cache.pop(sender_id, None)
            return
        self._remember(sender_id, _Entry(key, cached + blobs, start))


def _only_the_opening_listen(events: List[Event]) -> bool:
    """What Rasa's ``create_tracker`` saves: one ``action_listen`` and nothing else."""
    return (
        len(events) == 1
        and isinstance(events[0], ActionExecuted)
        and events[0].action_name == ACTION_LISTEN_NAME
    )

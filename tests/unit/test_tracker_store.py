"""clinic_runtime.tracker_store: the cached SQL tracker store answers exactly as Rasa's does.

Two store objects on one database file stand for two Rasa processes sharing PostgreSQL (the
scaled setup): whatever one writes, the other must see on its next retrieve.
"""

from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from rasa.core.tracker_store import SQLTrackerStore, create_tracker_store
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    EntitiesAdded,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from clinic_runtime.tracker_store import CachedSQLTrackerStore

PROJECT_DIR = Path(__file__).resolve().parents[2]
DOMAIN = Domain.load(str(PROJECT_DIR / "domain.yml"))


def turn(text: str, number: int):
    return [
        UserUttered(text, {"name": "greet", "confidence": 0.9}, timestamp=1000.0 + number),
        ActionExecuted("action_answer", timestamp=1000.1 + number),
        BotUttered(f"answer {number}", timestamp=1000.2 + number),
        SlotSet("misses_in_a_row", number, timestamp=1000.3 + number),
        ActionExecuted("action_listen", timestamp=1000.4 + number),
    ]


def dump(tracker):
    return None if tracker is None else [e.as_dict() for e in tracker.events]


@pytest.fixture
def db(tmp_path):
    return str(tmp_path / "tracker.db")


def stores(db, n=2):
    return [CachedSQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=db) for _ in range(n)]


async def converse(store, sender, turns, start=0):
    tracker = await store.retrieve(sender)
    if tracker is None:
        tracker = DialogueStateTracker(sender, DOMAIN.slots)
        tracker.update(ActionExecuted("action_session_start", timestamp=999.0))
        tracker.update(SessionStarted(timestamp=999.1))
        tracker.update(ActionExecuted("action_listen", timestamp=999.2))
    for number in range(start, start + turns):
        for event in turn(f"message {number}", number):
            tracker.update(event)
        await store.save(tracker)
        tracker = await store.retrieve(sender)
    return tracker


async def test_same_conversation_as_rasas_store(db):
    (ours,) = stores(db, 1)
    rasa = SQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=db)
    await converse(ours, "v1", 5)
    await converse(rasa, "v2", 5)
    for sender in ("v1", "v2"):
        expected = await rasa.retrieve(sender)
        assert dump(await ours.retrieve(sender)) == dump(expected)
        assert (await ours.retrieve(sender)).current_slot_values() == expected.current_slot_values()
    assert ours.hits > 0, "the cache was never used"
    assert await ours.retrieve("nobody") is None
    # the rows themselves are the ones Rasa writes (ours go through the sqlite3 cursor)
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.connect() as connection:
        rows = {
            sender: connection.execute(
                sa.text(
                    "SELECT type_name, timestamp, intent_name, action_name, data FROM events "
                    "WHERE sender_id = :s ORDER BY id"
                ),
                {"s": sender},
            ).all()
            for sender in ("v1", "v2")
        }
    assert rows["v1"] == rows["v2"] and len(rows["v1"]) > 20


async def test_a_write_by_another_process_is_seen(db):
    first, second = stores(db)
    await converse(first, "v", 2)
    await first.retrieve("v")  # cached in the first process
    await converse(second, "v", 3, start=2)  # the visitor's next messages go to the second
    seen = await first.retrieve("v")
    assert dump(seen) == dump(await SQLTrackerStore(domain=DOMAIN, db=db).retrieve("v"))
    assert seen.get_slot("misses_in_a_row") == 4
    # and the first process then saves on top of it without duplicating or losing events
    await converse(first, "v", 1, start=5)
    assert dump(await second.retrieve("v")) == dump(
        await SQLTrackerStore(domain=DOMAIN, db=db).retrieve("v")
    )
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.connect() as connection:
        count = connection.execute(
            sa.text("SELECT count(*) FROM events WHERE sender_id='v'")
        ).scalar()
    assert count == 3 + 6 * 5


async def test_deleted_conversation_is_not_served_from_the_cache(db):
    (ours,) = stores(db, 1)
    await converse(ours, "v", 2)
    assert await ours.retrieve("v") is not None
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.begin() as connection:  # e.g. the retention job (scripts/purge.py)
        connection.execute(sa.text("DELETE FROM events WHERE sender_id='v'"))
    assert await ours.retrieve("v") is None


async def test_a_new_session_is_read_as_rasa_reads_it(db):
    (ours,) = stores(db, 1)
    tracker = await converse(ours, "v", 2)
    tracker.update(ActionExecuted("action_session_start", timestamp=5000.0))
    tracker.update(SessionStarted(timestamp=5000.1))
    tracker.update(ActionExecuted("action_listen", timestamp=5000.2))
    await ours.save(tracker)
    expected = await SQLTrackerStore(domain=DOMAIN, db=db).retrieve("v")
    assert len(expected.events) == 2  # Rasa returns the latest session only
    assert dump(await ours.retrieve("v")) == dump(expected)
    assert dump(await ours.retrieve("v")) == dump(expected)


@pytest.mark.parametrize(
    "extra",
    [
        [],
        # a row older than the session start and one without a timestamp: Rasa's query drops both
        [SlotSet("misses_in_a_row", 7, timestamp=998.0), SlotSet("person_offered", True)],
    ],
)
async def test_a_conversations_first_save_is_served_from_the_cache(db, extra):
    """A visitor's second message needs no read, and gets what Rasa's query would give."""
    (ours,) = stores(db, 1)
    assert await ours.retrieve("v") is None
    empty = DialogueStateTracker("v", DOMAIN.slots)
    await ours.save(empty)  # Rasa saves the new, empty tracker first: nothing is written
    tracker = DialogueStateTracker("v", DOMAIN.slots)
    for event in [
        ActionExecuted("action_session_start", timestamp=999.0),
        SessionStarted(timestamp=999.1),
        ActionExecuted("action_listen", timestamp=999.2),
        *extra,
        *turn("hello", 1),
    ]:
        tracker.update(event)
    await ours.save(tracker)
    misses = ours.misses
    served = await ours.retrieve("v")
    assert ours.misses == misses, "the first save was not cached"
    expected = await SQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=db).retrieve("v")
    assert dump(served) == dump(expected)
    assert served.current_slot_values() == expected.current_slot_values()
    # the next save counts from the cached session, as Rasa counts: no duplicate rows
    served.update(UserUttered("again", {"name": "greet", "confidence": 0.9}, timestamp=2000.0))
    await ours.save(served)
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT count(*) FROM events")).scalar()
    assert rows == 3 + len(extra) + len(turn("hello", 1)) + 1
    assert dump(await ours.retrieve("v")) == dump(
        await SQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=db).retrieve("v")
    )


async def test_a_first_save_by_two_processes_at_once_is_not_served_stale(db):
    one, two = stores(db)
    await converse(one, "v", 1)
    await converse(two, "v", 1, start=1)  # two appended after one's first save
    expected = await SQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=db).retrieve("v")
    assert dump(await one.retrieve("v")) == dump(expected)


async def test_trackers_handed_out_do_not_share_events_with_the_cache(db):
    (ours,) = stores(db, 1)
    await converse(ours, "v", 1)
    tracker = await ours.retrieve("v")
    before = dump(await ours.retrieve("v"))
    # Rasa mutates the latest user message when entities are added; never saved here.
    tracker.latest_message.entities.append({"entity": "condition", "value": "pregnancy"})
    tracker.update(EntitiesAdded([{"entity": "x", "value": "y"}]))
    assert dump(await ours.retrieve("v")) == before


def test_endpoints_yml_selects_this_store(tmp_path, monkeypatch):
    """Rasa falls back to an in-memory store, with only a warning, if the class cannot load."""
    endpoints = yaml.safe_load((PROJECT_DIR / "endpoints.yml").read_text())["tracker_store"]
    monkeypatch.setenv("CLINIC_TRACKER_DB", str(tmp_path / "t.db"))
    config = EndpointConfig.from_dict({**endpoints, "db": str(tmp_path / "t.db")})
    store = create_tracker_store(config, DOMAIN)
    assert type(store) is CachedSQLTrackerStore


async def test_a_new_conversation_is_stored_with_its_first_message_not_before(db):
    (ours,) = stores(db, 1)
    rasa = SQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=db)
    engine = sa.create_engine(f"sqlite:///{db}")

    def rows(sender):
        with engine.connect() as connection:
            return connection.execute(
                sa.text(
                    "SELECT type_name, action_name FROM events WHERE sender_id = :s ORDER BY id"
                ),
                {"s": sender},
            ).fetchall()

    for store, sender in ((ours, "new-ours"), (rasa, "new-rasa")):
        tracker = await store.get_or_create_tracker(sender)  # as Rasa's processor does
        if store is ours:
            assert rows(sender) == [] and await store.retrieve(sender) is None
        for event in turn("hello", 1):
            tracker.update(event)
        await store.save(tracker)
    assert rows("new-ours") == rows("new-rasa")
    assert rows("new-ours")[0] == ("action", "action_listen")
    untimed = [
        [{k: v for k, v in event.items() if k != "timestamp"} for event in dump(tracker)]
        for tracker in (await ours.retrieve("new-ours"), await rasa.retrieve("new-rasa"))
    ]
    assert untimed[0] == untimed[1]
    # a conversation that already has rows is saved as before, whatever its events
    await converse(ours, "old", 1)
    before = len(rows("old"))
    tracker = await ours.retrieve("old")
    tracker.update(ActionExecuted("action_listen"))
    await ours.save(tracker)
    assert len(rows("old")) == before + 1

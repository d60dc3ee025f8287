"""The staff page's figures, counted from the stores on SQLite and on PostgreSQL."""

import datetime
from pathlib import Path

from sqlalchemy import create_engine

from clinic_content.email import EmailTemplateStore
from clinic_content.paths import CONTENT_DIR
from clinic_requests import database, unanswered
from clinic_requests.channel_log import ChannelLog
from clinic_requests.handled_requests import HandledRequests
from clinic_requests.outbox import Outbox
from clinic_staff.charts import day_columns, outcome_columns, ranking
from clinic_staff.figures import events_table, figures
from clinic_staff.stores import Stores
from tests.pg_fixture import StorageBackend

TODAY = datetime.datetime.now(datetime.timezone.utc).date()


def test_figures_count_conversations_requests_questions_and_outcomes(
    storage_backend: StorageBackend, tmp_path: Path
) -> None:
    tracker = storage_backend.target(tmp_path, "tracker.db")
    tracker_url = tracker if isinstance(tracker, str) else database.sqlite_url(tracker)
    engine = create_engine(tracker_url)
    events_table.metadata.create_all(engine)
    now = datetime.datetime.now(datetime.timezone.utc).timestamp()
    with engine.begin() as connection:
        rows = [
            ("a", now, "ask_price"),
            ("a", now, "greet"),
            ("b", now, "ask_price+ask_history"),
            ("c", now - 86400, "ask_history"),
            ("old", now - 40 * 86400, "ask_price"),
        ]
        for sender, moment, intent in rows:
            connection.execute(
                events_table.insert().values(
                    sender_id=sender, type_name="user", timestamp=moment, intent_name=intent
                )
            )
    engine.dispose()
    outbox = Outbox(storage_backend.target(tmp_path, "outbox.db"))
    outbox.add("booking", {"name": "A"})
    store = storage_backend.target(tmp_path, "unanswered.db")
    unanswered.record("how much is it", "unknown", "ask_price", path=store)
    unanswered.record("zzk blorp", "fallback", "nlu_fallback", path=store)
    stores = Stores(
        outbox=outbox,
        channels=ChannelLog(outbox.url),
        handled=HandledRequests(outbox.url),
        unanswered=store,
        tracker_url=tracker_url,
        content_dir=CONTENT_DIR,
        templates=EmailTemplateStore(CONTENT_DIR),
    )

    found = figures(stores, 7, today=TODAY)

    assert found.problems == []
    assert (found.conversations[-2:], found.total_conversations) == ([1, 2], 3)
    assert (found.requests[-1], found.total_requests) == (1, 1)
    assert sorted(found.top_questions) == [("history", 2), ("price", 2)]
    today = found.outcomes[-1]
    assert (today.answered, today.not_answered, today.not_understood) == (1, 1, 1)
    assert found.answered_share == 2 / 4
    assert not day_columns("c", found.days, found.conversations, "conversations").empty
    assert len(outcome_columns("o", found.outcomes).rects) == 4
    assert {label.text for label in ranking("q", found.top_questions).labels} == {
        "price",
        "history",
        "2",
    }


def test_no_store_yet_means_empty_figures(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "outbox.db")
    stores = Stores(
        outbox=outbox,
        channels=ChannelLog(outbox.url),
        handled=HandledRequests(outbox.url),
        unanswered=tmp_path / "u.db",
        tracker_url=database.sqlite_url(tmp_path / "none.db"),
        content_dir=CONTENT_DIR,
        templates=EmailTemplateStore(CONTENT_DIR),
    )
    found = figures(stores, 30)
    assert found.problems == [] and found.total_conversations == 0
    assert found.answered_share is None
    assert day_columns("c", found.days, found.conversations, "x").empty
    assert not (tmp_path / "none.db").exists()

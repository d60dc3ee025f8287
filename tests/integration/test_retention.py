"""Retention (clinic_requests/retention.py, scripts/purge.py) on SQLite and on PostgreSQL.

Conversations are written by Rasa's own SQLTrackerStore, then back-dated data is purged:
old data goes, recent data stays, pending and failed requests stay however old they are.
"""

import asyncio
import logging
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Dict, List, Union

import pytest
from sqlalchemy import create_engine, func, select, update
from sqlalchemy.engine import make_url

from clinic_requests import database, unanswered
from clinic_requests.config import ENV_DATABASE_URL, ENV_RETENTION_DAYS
from clinic_requests.outbox import DELIVERED, FAILED, PENDING, Outbox, requests_table
from clinic_requests.retention import DailyPurge, cutoff, events_table, purge, purge_configured
from tests.pg_fixture import StorageBackend

PROJECT_ROOT = Path(__file__).resolve().parents[2]
NOW = datetime.now(timezone.utc)
OLD = NOW - timedelta(days=100)
RECENT = NOW - timedelta(days=1)


def save_conversation(store, sender: str, times: List[datetime]) -> None:
    """A conversation of user/bot turns at ``times``, saved by Rasa's tracker store."""
    from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    events = []
    for moment in times:
        stamp = moment.timestamp()
        events += [
            UserUttered("hello", timestamp=stamp),
            BotUttered("Hi!", timestamp=stamp + 1),
            ActionExecuted("action_listen", timestamp=stamp + 2),
        ]
    asyncio.run(store.save(DialogueStateTracker.from_events(sender, events)))


def rasa_store(url: str):
    """Rasa's SQLTrackerStore on ``url`` (as endpoints.yml would configure it)."""
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return SQLTrackerStore(Domain.empty(), dialect="sqlite", db=parsed.database)
    return SQLTrackerStore(
        Domain.empty(),
        dialect="postgresql",
        host=parsed.host,
        port=parsed.port,
        db=parsed.database,
        username=parsed.username,
    )


def events_per_sender(url: str) -> Dict[str, int]:
    engine = create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(
            select(events_table.c.sender_id, func.count()).group_by(events_table.c.sender_id)
        ).fetchall()
    engine.dispose()
    return dict(rows)


@pytest.fixture
def stores(tmp_path: Path, storage_backend: StorageBackend) -> Dict[str, Union[Path, str]]:
    """Tracker, outbox and unanswered stores with old and recent data in each."""
    if storage_backend.is_postgres:  # one database for all three, as in the scaled setup
        url = storage_backend.target(tmp_path, "")
        found = {"tracker": url, "outbox": url, "unanswered": url}
    else:
        found = {
            "tracker": database.sqlite_url(tmp_path / "tracker.db"),
            "outbox": tmp_path / "outbox.db",
            "unanswered": tmp_path / "unanswered.db",
        }

    tracker = rasa_store(str(found["tracker"]))
    save_conversation(tracker, "old-visitor", [OLD - timedelta(days=5), OLD])
    save_conversation(tracker, "recent-visitor", [RECENT])
    save_conversation(tracker, "returning-visitor", [OLD, RECENT])  # must stay whole
    tracker.engine.dispose()

    outbox = Outbox(found["outbox"])
    ids = {
        name: outbox.add("booking", {"name": name}).id
        for name in ("old-delivered", "recent-delivered", "old-pending", "old-failed")
    }
    outbox.mark_delivered(ids["old-delivered"])
    outbox.mark_delivered(ids["recent-delivered"])
    outbox.mark_failed(ids["old-failed"], "HTTP 500")
    engine = database.engine_for(outbox.url)
    with database.write(engine) as connection:
        table = requests_table
        connection.execute(
            update(table)
            .values(created_at=OLD - timedelta(days=100))
            .where(table.c.id != ids["recent-delivered"])
        )
        connection.execute(
            update(table).values(delivered_at=OLD).where(table.c.id == ids["old-delivered"])
        )

    unanswered.record("old question", "unknown", None, path=found["unanswered"])
    engine = database.engine_for(unanswered._url(found["unanswered"]))
    with database.write(engine) as connection:
        connection.execute(update(unanswered.unanswered_table).values(created_at=OLD))
    unanswered.record("recent question", "unknown", None, path=found["unanswered"])
    return {**found, **{f"id:{k}": v for k, v in ids.items()}}


def test_purge_deletes_old_data_and_keeps_recent_and_undelivered(stores) -> None:
    before_counts = events_per_sender(str(stores["tracker"]))
    kwargs = dict(
        tracker_url=str(stores["tracker"]),
        outbox=stores["outbox"],
        unanswered_store=stores["unanswered"],
    )

    dry = purge(cutoff(90), dry_run=True, **kwargs)
    assert (dry.conversations, dry.events, dry.requests, dry.unanswered) == (1, 6, 1, 1)
    assert events_per_sender(str(stores["tracker"])) == before_counts  # nothing deleted

    result = purge(cutoff(90), **kwargs)

    assert (result.conversations, result.events, result.requests, result.unanswered) == (1, 6, 1, 1)
    assert result.errors == ()
    after = events_per_sender(str(stores["tracker"]))
    assert set(after) == {"recent-visitor", "returning-visitor"}
    assert after["returning-visitor"] == before_counts["returning-visitor"]  # whole
    outbox = Outbox(stores["outbox"])
    left = {r.payload["name"]: r.state for r in outbox.list()}
    assert left == {"recent-delivered": DELIVERED, "old-pending": PENDING, "old-failed": FAILED}
    texts = [row[2] for row in unanswered.entries(include_handled=True, path=stores["unanswered"])]
    assert texts == ["recent question"]

    again = purge(cutoff(90), **kwargs)
    assert (again.conversations, again.requests, again.unanswered) == (0, 0, 0)
    # Pending and failed requests stay even with a zero-day cutoff.
    purge(cutoff(0), outbox=stores["outbox"], tracker_url=None, unanswered_store=None)
    assert {r.state for r in outbox.list()} == {PENDING, FAILED}


def test_purge_command_reads_the_settings_and_dry_runs(
    stores, tmp_path: Path, storage_backend: StorageBackend
) -> None:
    tracker = make_url(str(stores["tracker"]))
    endpoints = tmp_path / "endpoints-test.yml"
    if storage_backend.is_postgres:
        endpoints.write_text(
            "tracker_store:\n  type: SQL\n  dialect: postgresql\n  url: ${PG_HOST}\n"
            f"  port: {tracker.port}\n  db: {tracker.database}\n  username: clinic\n"
            "clinic_delivery:\n  database_url: ${TEST_DB_URL}\n"
            "clinic_retention:\n  retention_days: 90\n"
        )
    else:
        endpoints.write_text(
            "tracker_store:\n  type: SQL\n  dialect: sqlite\n  db: ${CLINIC_TRACKER_DB}\n"
            "clinic_retention:\n  retention_days: 90\n"
        )
    env = {k: v for k, v in os.environ.items() if k not in (ENV_DATABASE_URL, ENV_RETENTION_DAYS)}
    env.update(
        {
            "CLINIC_ENDPOINTS_PATH": str(endpoints),
            "PG_HOST": "127.0.0.1",
            "TEST_DB_URL": str(stores["outbox"]),
            "CLINIC_TRACKER_DB": str(tracker.database),
            "CLINIC_OUTBOX_PATH": str(stores["outbox"]),
            "CLINIC_UNANSWERED_PATH": str(stores["unanswered"]),
        }
    )

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "scripts/purge.py", *args],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    dry = run("--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "Retention 90 days" in dry.stdout and "dry run" in dry.stdout
    assert "would delete 1 (6 events)" in dry.stdout
    assert "would delete 1 delivered" in dry.stdout
    assert len(events_per_sender(str(stores["tracker"]))) == 3

    wide = run("--days", "200", "--dry-run")  # DAYS=200: nothing is that old
    assert "would delete 0 (0 events)" in wide.stdout

    done = run()
    assert done.returncode == 0, done.stderr
    assert "deleted 1 (6 events)" in done.stdout and "unanswered:    deleted 1" in done.stdout
    assert len(events_per_sender(str(stores["tracker"]))) == 2

    env[ENV_RETENTION_DAYS] = "0"
    kept = run()
    assert kept.returncode == 0 and "keep forever" in kept.stdout


def test_the_daily_run_purges_and_logs(
    stores, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    endpoints = tmp_path / "endpoints-daily.yml"
    endpoints.write_text("clinic_retention:\n  retention_days: 30\n")
    monkeypatch.setenv("CLINIC_ENDPOINTS_PATH", str(endpoints))  # no tracker store here
    monkeypatch.delenv(ENV_RETENTION_DAYS, raising=False)
    if isinstance(stores["outbox"], str):
        monkeypatch.setenv(ENV_DATABASE_URL, stores["outbox"])
    else:
        monkeypatch.delenv(ENV_DATABASE_URL, raising=False)
        monkeypatch.setenv("CLINIC_OUTBOX_PATH", str(stores["outbox"]))
        monkeypatch.setenv("CLINIC_UNANSWERED_PATH", str(stores["unanswered"]))
    caplog.set_level(logging.INFO, logger="clinic_requests.retention")

    daily = DailyPurge(first_delay_seconds=0, interval_seconds=3600)
    daily.start()
    try:
        deadline = time.monotonic() + 30
        while daily.last_result is None and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)
        assert daily.runs == 1  # once, not again until a day has passed
    finally:
        daily.stop()
    assert not daily.running
    result = daily.last_result
    assert result is not None
    assert (result.conversations, result.requests, result.unanswered) == (0, 1, 1)
    logged = [r.getMessage() for r in caplog.records if "Retention purge" in r.getMessage()]
    assert len(logged) == 1 and "deleted 0 conversation(s)" in logged[0]
    assert purge_configured(0) is None

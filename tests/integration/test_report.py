"""`make report` (scripts/report.py) on the unanswered-question records, on SQLite and
PostgreSQL."""

import datetime
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, Union

import pytest
from sqlalchemy import update

from clinic_requests import database, unanswered
from clinic_requests.config import ENV_DATABASE_URL
from tests.pg_fixture import StorageBackend

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = PROJECT_ROOT / "scripts" / "report.py"


@pytest.fixture
def store(tmp_path: Path, storage_backend: StorageBackend) -> Union[Path, str]:
    return storage_backend.target(tmp_path, "unanswered.db")


@pytest.fixture
def report_env(tmp_path: Path, storage_backend: StorageBackend, store) -> Dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if k not in (ENV_DATABASE_URL, "CLINIC_UNANSWERED_PATH")
    }
    env["CLINIC_UNANSWERED_PATH"] = str(tmp_path / "unanswered.db")
    env.update(storage_backend.env(store, "CLINIC_UNANSWERED_PATH"))
    env["CLINIC_ENDPOINTS_PATH"] = str(tmp_path / "no-endpoints.yml")
    return env


def report(env: Dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def backdate(store, days: int) -> None:
    """Move every record ``days`` into the past."""
    engine = database.engine_for(unanswered._url(store))
    with database.write(engine) as connection:
        connection.execute(
            update(unanswered.unanswered_table).values(
                created_at=datetime.datetime.now(datetime.timezone.utc)
                - datetime.timedelta(days=days)
            )
        )


def test_report_groups_recent_questions_and_marks_them_handled(store, report_env) -> None:
    unanswered.record("is there parking near the clinic?", "out_of_scope", None, path=store)
    backdate(store, 40)  # outside the 30-day report window
    unanswered.record("how much is it", "unknown", "ask_price", path=store)
    unanswered.record(
        "how much does it cost? mail me at anna@example.com", "unknown", "ask_price", path=store
    )
    unanswered.record("do you sell gift cards", "fallback", None, path=store)

    rows = unanswered.entries(path=store)
    assert [row[2] for row in rows][-1] == "do you sell gift cards"
    assert "[email]" in rows[2][2] and "anna@" not in rows[2][2]
    assert all(row[1].endswith("+00:00") for row in rows)

    shown = report(report_env, "--days", "30")
    assert shown.returncode == 0, shown.stderr
    assert "3 messages" in shown.stdout
    assert "asked 2x" in shown.stdout and "parking" not in shown.stdout
    assert "gift cards" in shown.stdout

    ids = [str(row[0]) for row in rows[1:3]]
    marked = report(report_env, "--mark-handled", *ids)
    assert marked.returncode == 0, marked.stderr
    assert marked.stdout.startswith("Marked 2 entries as handled.")
    again = report(report_env, "--days", "30")
    assert "1 messages" in again.stdout and "asked 2x" not in again.stdout

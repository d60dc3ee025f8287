"""Tests for the storage and retention settings in clinic_requests/config.py and
clinic_requests/database.py."""

from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from clinic_requests import database
from clinic_requests.config import (
    DEFAULT_RETENTION_DAYS,
    ConfigError,
    database_url,
    load_delivery_settings,
    retention_days,
    tracker_store_url,
)
from clinic_requests.outbox import Outbox

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "endpoints.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_no_database_url_means_sqlite_files(tmp_path: Path) -> None:
    assert database_url(tmp_path / "missing.yml", environ={}) is None
    assert database_url(PROJECT_ROOT / "endpoints.yml", environ={}) is None
    outbox_file = tmp_path / "outbox.db"
    assert Outbox(outbox_file).url == f"sqlite:///{outbox_file}"


def test_database_url_from_file_with_variables_and_environment_wins(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "clinic_delivery:\n  database_url: postgresql://clinic@${H}:5433/c\n  max_attempts: 3\n",
    )
    assert database_url(path, environ={"H": "db"}) == "postgresql://clinic@db:5433/c"
    assert (
        database_url(path, environ={"H": "db", "CLINIC_DATABASE_URL": "sqlite:///x.db"})
        == "sqlite:///x.db"
    )
    # The delivery settings ignore the storage key instead of calling it unknown.
    assert load_delivery_settings(path, environ={}).max_attempts == 3
    with pytest.raises(ConfigError, match="uses \\$\\{H\\}"):
        database_url(path, environ={})
    with pytest.raises(ConfigError, match="CLINIC_DATABASE_URL: expected a postgresql"):
        database_url(path, environ={"CLINIC_DATABASE_URL": "mysql://x/y"})


def test_outbox_location_hides_the_password() -> None:
    outbox = Outbox("postgresql://clinic:s3cret@127.0.0.1:5433/clinic")
    assert outbox.path is None
    assert "s3cret" not in outbox.location and "127.0.0.1:5433/clinic" in outbox.location


def test_retention_days_default_file_environment(tmp_path: Path) -> None:
    assert retention_days(tmp_path / "missing.yml", environ={}) == DEFAULT_RETENTION_DAYS == 90
    assert retention_days(PROJECT_ROOT / "endpoints.yml", environ={}) == 90
    path = write(tmp_path, "clinic_retention:\n  retention_days: 30\n")
    assert retention_days(path, environ={}) == 30
    assert retention_days(path, environ={"CLINIC_RETENTION_DAYS": "0"}) == 0
    assert retention_days(path, environ={"CLINIC_RETENTION_DAYS": ""}) == 30


@pytest.mark.parametrize(
    "section, environ, message",
    [
        ("  retention_days: -1\n", {}, "clinic_retention.retention_days: must be 0"),
        ("  retention_days: 1.5\n", {}, "whole number"),
        ("  retention_days: soon\n", {}, "whole number"),
        ("  keep_days: 3\n", {}, "unknown setting 'clinic_retention.keep_days'"),
        ("", {"CLINIC_RETENTION_DAYS": "ninety"}, "CLINIC_RETENTION_DAYS"),
    ],
)
def test_bad_retention_values_name_their_source(tmp_path: Path, section: str, environ, message):
    path = write(tmp_path, "clinic_retention:\n" + section if section else "")
    with pytest.raises(ConfigError, match=message):
        retention_days(path, environ=environ)


def test_tracker_store_url_as_rasa_builds_it(tmp_path: Path) -> None:
    assert (
        tracker_store_url(
            PROJECT_ROOT / "endpoints.yml", environ={"CLINIC_TRACKER_DB": str(tmp_path / "t.db")}
        )
        == f"sqlite:///{tmp_path / 't.db'}"
    )
    # Unset CLINIC_TRACKER_DB: var/tracker.db, as scripts/serve.sh does.
    assert (
        tracker_store_url(PROJECT_ROOT / "endpoints.yml", environ={})
        == f"sqlite:///{PROJECT_ROOT / 'var' / 'tracker.db'}"
    )
    scaled = write(
        tmp_path,
        "tracker_store:\n  type: SQL\n  dialect: postgresql\n"
        "  url: ${HOST}\n  port: ${PORT}\n  db: clinic\n"
        "  username: clinic\n  password: ${PW}\n",
    )
    assert (
        tracker_store_url(scaled, environ={"HOST": "127.0.0.1", "PORT": "5433", "PW": ""})
        == "postgresql://clinic@127.0.0.1:5433/clinic"
    )
    assert (
        tracker_store_url(scaled, environ={"HOST": "db:6000", "PORT": "", "PW": "p"})
        == "postgresql://clinic:p@db:6000/clinic"
    )
    cached = write(
        tmp_path,
        "tracker_store:\n  type: clinic_runtime.tracker_store."
        "CachedSQLTrackerStore\n  dialect: sqlite\n  db: /x/t.db\n",
    )
    assert tracker_store_url(cached, environ={}) == "sqlite:////x/t.db"
    memory = write(tmp_path, "tracker_store:\n  type: redis\n")
    assert tracker_store_url(memory, environ={}) is None


def test_a_connection_lost_mid_statement_is_retried_once() -> None:
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError(
                "INSERT", {}, Exception("server closed the connection"), connection_invalidated=True
            )
        return "stored"

    assert database.retry_once(flaky, "a test") == "stored"
    assert len(calls) == 2

    def broken():
        raise OperationalError("INSERT", {}, Exception("disk full"))

    with pytest.raises(OperationalError):
        database.retry_once(broken, "a test")

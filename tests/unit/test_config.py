"""Tests for clinic_requests/config.py: endpoints.yml plus environment overrides."""

import os
from pathlib import Path
from typing import Dict

import pytest

from clinic_requests import endpoints_file
from clinic_requests.config import (
    DEFAULT_OUTBOX_PATH,
    ConfigError,
    DeliverySettings,
    database_url,
    load_delivery_settings,
    outbox_path,
    tracker_store_url,
)

ENDPOINTS = """\
action_endpoint:
  url: "http://localhost:5055/webhook"
clinic_delivery:
  webhook_url: https://booking.example.com/hooks/assistant
  timeout_seconds: 5
  max_attempts: 4
  backoff_base_seconds: 1
  backoff_max_seconds: 60
  poll_seconds: 0.5
"""


@pytest.fixture
def endpoints(tmp_path: Path) -> Path:
    path = tmp_path / "endpoints.yml"
    path.write_text(ENDPOINTS, encoding="utf-8")
    return path


def test_no_file_means_defaults_and_no_webhook(tmp_path: Path) -> None:
    settings = load_delivery_settings(tmp_path / "missing.yml", environ={})
    assert settings == DeliverySettings()
    assert settings.webhook_url is None
    assert (settings.max_attempts, settings.backoff_base_seconds) == (10, 2.0)
    assert (settings.backoff_max_seconds, settings.poll_seconds) == (300.0, 2.0)


def test_file_without_our_key_means_defaults(tmp_path: Path) -> None:
    path = tmp_path / "endpoints.yml"
    path.write_text("action_endpoint:\n  url: http://localhost:5055/webhook\n")
    assert load_delivery_settings(path, environ={}) == DeliverySettings()


def test_settings_come_from_endpoints_yml(endpoints: Path) -> None:
    settings = load_delivery_settings(endpoints, environ={})
    assert settings == DeliverySettings(
        webhook_url="https://booking.example.com/hooks/assistant",
        timeout_seconds=5.0,
        max_attempts=4,
        backoff_base_seconds=1.0,
        backoff_max_seconds=60.0,
        poll_seconds=0.5,
    )
    assert settings.webhook_host == "https://booking.example.com"
    assert settings.lease_seconds >= 4 * settings.timeout_seconds


def test_environment_wins_and_empty_values_are_ignored(endpoints: Path) -> None:
    environ = {
        "CLINIC_WEBHOOK_URL": "http://127.0.0.1:9000/hook",
        "CLINIC_DELIVERY_MAX_ATTEMPTS": "20",
        "CLINIC_DELIVERY_POLL_SECONDS": "",
        "CLINIC_WEBHOOK_TOKEN": "s3cret",
    }
    settings = load_delivery_settings(endpoints, environ=environ)
    assert settings.webhook_url == "http://127.0.0.1:9000/hook"
    assert settings.max_attempts == 20
    assert settings.poll_seconds == 0.5
    assert settings.webhook_token == "s3cret"


def test_endpoints_path_and_outbox_path_from_environment(endpoints: Path, tmp_path: Path) -> None:
    environ = {"CLINIC_ENDPOINTS_PATH": str(endpoints)}
    assert load_delivery_settings(environ=environ).max_attempts == 4
    assert outbox_path({}) == DEFAULT_OUTBOX_PATH
    assert outbox_path({"CLINIC_OUTBOX_PATH": str(tmp_path / "x.db")}) == (tmp_path / "x.db")


def test_token_in_url_is_not_logged(tmp_path: Path) -> None:
    environ = {"CLINIC_WEBHOOK_URL": "https://user:pw@hooks.example.com/abc?key=1"}
    settings = load_delivery_settings(tmp_path / "none.yml", environ=environ)
    assert settings.webhook_host == "https://hooks.example.com"


@pytest.mark.parametrize(
    "section, environ, message",
    [
        ("  timeout_seconds: soon\n", {}, "yml: clinic_delivery.timeout_seconds"),
        ("  max_attempts: 0\n", {}, "greater than 0"),
        ("  max_attempts: 2.5\n", {}, "whole number"),
        ("  retries: 3\n", {}, "unknown setting 'clinic_delivery.retries'"),
        ("  webhook_url: ftp://files.example.com\n", {}, "http\\(s\\) URL"),
        ("  backoff_base_seconds: 10\n  backoff_max_seconds: 5\n", {}, "smaller than"),
        ("", {"CLINIC_DELIVERY_POLL_SECONDS": "-1"}, "CLINIC_DELIVERY_POLL_SECONDS"),
    ],
)
def test_bad_values_are_reported_with_their_source(
    tmp_path: Path, section: str, environ: Dict[str, str], message: str
) -> None:
    path = tmp_path / "endpoints.yml"
    path.write_text("clinic_delivery:\n" + section if section else "", encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_delivery_settings(path, environ=environ)


def test_broken_yaml_is_reported_by_file_name(tmp_path: Path) -> None:
    path = tmp_path / "endpoints.yml"
    path.write_text("clinic_delivery: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="endpoints.yml: not valid YAML"):
        load_delivery_settings(path, environ={})


def test_an_edited_endpoints_file_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "endpoints.yml"
    path.write_text("clinic_delivery:\n  database_url: sqlite:///a.db\n", encoding="utf-8")
    assert database_url(path, environ={}) == "sqlite:///a.db"

    path.write_text("clinic_delivery:\n  database_url: sqlite:///b.db\n", encoding="utf-8")
    later = path.stat().st_mtime_ns + 2_000_000_000  # same size: only the time tells
    os.utime(path, ns=(later, later))
    assert database_url(path, environ={}) == "sqlite:///b.db"

    path.write_text("clinic_delivery:\n  max_attempts: 3\n", encoding="utf-8")
    assert database_url(path, environ={}) is None
    path.unlink()
    assert database_url(path, environ={}) is None


def test_broken_yaml_is_reported_every_time_until_fixed(tmp_path: Path) -> None:
    path = tmp_path / "endpoints.yml"
    path.write_text("clinic_delivery: [unclosed\n", encoding="utf-8")
    for _ in range(2):
        with pytest.raises(ConfigError, match="endpoints.yml: not valid YAML"):
            database_url(path, environ={})

    path.write_text("clinic_delivery:\n  database_url: sqlite:///fixed.db\n", encoding="utf-8")
    assert database_url(path, environ={}) == "sqlite:///fixed.db"


def test_changing_a_returned_section_changes_nothing_read_later(tmp_path: Path) -> None:
    path = tmp_path / "endpoints.yml"
    path.write_text(
        "clinic_delivery:\n  database_url: sqlite:///a.db\n"
        "tracker_store:\n  type: SQL\n  dialect: postgresql\n  url: db\n  db: clinic\n"
        "  query:\n    sslmode: require\n",
        encoding="utf-8",
    )
    endpoints_file.read_section(path)["database_url"] = "postgresql://elsewhere/x"
    endpoints_file.read_mapping(path, "tracker_store")["query"]["sslmode"] = "disable"

    assert database_url(path, environ={}) == "sqlite:///a.db"
    assert tracker_store_url(path, environ={}) == "postgresql://db/clinic?sslmode=require"

"""Tests for scripts/requests_cli.py, run as staff run it: a separate process.

Every test runs twice: outbox in a SQLite file, and in PostgreSQL (``storage_backend``).
"""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, Iterator

import pytest

from clinic_requests.config import ENV_DATABASE_URL, ENV_OVERRIDES, ENV_WEBHOOK_TOKEN
from clinic_requests.outbox import DELIVERED, FAILED, PENDING, Outbox
from tests.pg_fixture import StorageBackend
from tests.stored import stored

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = PROJECT_ROOT / "scripts" / "requests_cli.py"


@pytest.fixture
def cli_env(tmp_path: Path, storage_backend: StorageBackend) -> Iterator[Dict[str, str]]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ENV_OVERRIDES.values() and key not in (ENV_WEBHOOK_TOKEN, ENV_DATABASE_URL)
    }
    env["CLINIC_OUTBOX_PATH"] = str(tmp_path / "outbox.db")
    env.update(
        storage_backend.env(storage_backend.target(tmp_path, "outbox.db"), "CLINIC_OUTBOX_PATH")
    )
    env["CLINIC_ENDPOINTS_PATH"] = str(tmp_path / "no-endpoints.yml")
    yield env


@pytest.fixture
def outbox(cli_env: Dict[str, str]) -> Outbox:
    return Outbox(cli_env.get(ENV_DATABASE_URL) or Path(cli_env["CLINIC_OUTBOX_PATH"]))


def run(env: Dict[str, str], *args: str) -> subprocess.CompletedProcess:
    # Run from another folder: the tool must not depend on the caller's cwd.
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        cwd=Path(env["CLINIC_OUTBOX_PATH"]).parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_list_shows_a_table_and_counts(cli_env: Dict[str, str], outbox: Outbox) -> None:
    booking = outbox.add("booking", {"service": "4-D Facial"})
    handoff = outbox.add("handoff", {})
    outbox.mark_failed(handoff.id, "HTTP 503: maintenance")

    everything = run(cli_env, "list")
    failed_only = run(cli_env, "list", "--state", "failed")

    assert everything.returncode == 0, everything.stderr
    header = everything.stdout.splitlines()[0].split()
    assert header[:4] == ["id", "kind", "service", "created"]
    assert booking.id in everything.stdout and handoff.id in everything.stdout
    assert "HTTP 503: maintenance" in everything.stdout
    assert "1 pending, 0 delivered, 1 failed" in everything.stdout
    assert handoff.id in failed_only.stdout and booking.id not in failed_only.stdout


def test_list_of_an_empty_outbox(cli_env: Dict[str, str]) -> None:
    result = run(cli_env, "list")
    assert result.returncode == 0
    assert result.stdout.startswith("No requests.")


def test_show_prints_the_exact_webhook_body(cli_env: Dict[str, str], outbox: Outbox) -> None:
    request = outbox.add("consultation", {"name": "Anna", "conditions": ["epilepsy"]})

    result = run(cli_env, "show", request.id[:8])

    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["state"] == PENDING
    assert shown["body"]["id"] == request.id
    assert shown["body"]["conditions"] == ["epilepsy"]
    assert run(cli_env, "show", "ffffffffffff").returncode == 1


def test_retry_failed_puts_requests_back(cli_env: Dict[str, str], outbox: Outbox) -> None:
    request = outbox.add("booking", {})
    outbox.mark_failed(request.id, "connection error")

    result = run(cli_env, "retry-failed")

    assert result.returncode == 0
    assert result.stdout.startswith("1 failed request(s) set back to pending.")
    retried = stored(outbox, request.id)
    assert (retried.state, retried.attempts) == (PENDING, 0)
    assert outbox.counts()[FAILED] == 0 and outbox.counts()[DELIVERED] == 0


def test_deliver_now_without_a_webhook_changes_nothing(
    cli_env: Dict[str, str], outbox: Outbox
) -> None:
    request = outbox.add("booking", {})

    result = run(cli_env, "deliver-now")

    assert result.returncode == 1
    assert "No webhook configured" in result.stderr
    assert stored(outbox, request.id).attempts == 0

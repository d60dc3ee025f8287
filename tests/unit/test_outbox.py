"""Tests for clinic_requests/outbox.py on real SQLite files (and real extra processes)."""

import json
import sqlite3
import subprocess
import sys
import textwrap
import uuid
from datetime import timedelta, timezone
from pathlib import Path
from typing import Any, Dict, List

import pytest

from clinic_requests.outbox import DELIVERED, FAILED, PENDING, Outbox, utc_now
from clinic_requests.payload import PAYLOAD_FIELDS
from tests.stored import stored

PROJECT_ROOT = Path(__file__).resolve().parents[2]
LEASE = 60.0

PAYLOAD: Dict[str, Any] = {
    "service": "4-D Facial",
    "name": "Anna Smith",
    "contact": "anna.smith@example.com",
    "preferred_time": "next Tuesday afternoon",
    "preferred_time_iso": "2024-05-21T14:00:00.000+01:00",
    "conditions": ["pregnancy"],
    "transcript": [
        {"sender": "user", "text": "Can I book the facial?"},
        {"sender": "bot", "text": "Of course."},
    ],
    "booking_link": "https://example-clinic.com/book",
}


@pytest.fixture
def outbox_file(tmp_path: Path) -> Path:
    return tmp_path / "var" / "nested" / "outbox.db"


@pytest.fixture
def outbox(outbox_file: Path) -> Outbox:
    return Outbox(outbox_file)


def _run_python(code: str, db: Path) -> subprocess.Popen:
    """Start a separate Python process that uses the outbox on ``db``."""
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), str(db)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_add_stores_a_pending_request(outbox: Outbox) -> None:
    before = utc_now()
    request = outbox.add("booking", PAYLOAD)

    assert uuid.UUID(hex=request.id).version == 4
    assert len(request.id) == 32
    assert request.kind == "booking"
    assert request.service == "4-D Facial"
    assert request.payload == {
        **PAYLOAD,
        "reason": None,
        "topic": None,
        "amends": None,
        "party_size": None,
    }
    assert request.state == PENDING
    assert request.attempts == 0
    assert request.last_error is None
    assert request.created_at.tzinfo == timezone.utc
    assert before <= request.created_at <= utc_now()
    assert request.next_attempt_at == request.created_at
    assert outbox.get(request.id) == request


def test_missing_payload_fields_are_filled_in(outbox: Outbox) -> None:
    request = outbox.add("handoff", {"name": "  Ben  ", "contact": ""})

    assert set(request.payload) == set(PAYLOAD_FIELDS)
    assert request.payload["name"] == "Ben"
    assert request.payload["contact"] is None
    assert request.payload["conditions"] == []
    assert request.payload["transcript"] == []
    assert request.service is None


def test_nothing_touches_the_disk_before_first_use(outbox_file: Path) -> None:
    outbox = Outbox(outbox_file)
    assert not outbox_file.parent.exists()

    outbox.add("consultation", {})

    assert outbox_file.exists()
    with sqlite3.connect(outbox_file) as connection:
        mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_path_defaults_to_the_environment(
    monkeypatch: pytest.MonkeyPatch, outbox_file: Path
) -> None:
    monkeypatch.setenv("CLINIC_OUTBOX_PATH", str(outbox_file))
    assert Outbox().path == outbox_file


@pytest.mark.parametrize(
    "kind, payload, message",
    [
        ("invoice", PAYLOAD, "kind must be one of"),
        ("booking", {**PAYLOAD, "email": "x@example.com"}, "unknown payload field"),
        ("booking", {**PAYLOAD, "conditions": ["I am pregnant"]}, "not a category id"),
        ("booking", {**PAYLOAD, "conditions": "pregnancy"}, "list of category ids"),
        ("booking", {**PAYLOAD, "service": 4}, "must be a string"),
        (
            "handoff",
            {"transcript": [{"sender": "admin", "text": "hi"}]},
            "transcript turn",
        ),
        ("booking", ["not", "a", "dict"], "must be a mapping"),
    ],
)
def test_invalid_requests_are_refused_and_nothing_is_stored(
    outbox: Outbox, kind: str, payload: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        outbox.add(kind, payload)
    assert outbox.list() == []


def test_a_crash_right_after_add_keeps_the_request(outbox_file: Path) -> None:
    """The process dies hard between storing and delivering: the row survives."""
    process = _run_python(
        """
        import os, sys
        from clinic_requests.outbox import Outbox
        request = Outbox(sys.argv[1]).add("booking", {"name": "Crash Test"})
        print(request.id, flush=True)
        os._exit(9)  # no cleanup, no close, no delivery
        """,
        outbox_file,
    )
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 9, stderr
    request_id = stdout.strip()

    stored = Outbox(outbox_file).get(request_id)

    assert stored is not None
    assert stored.state == PENDING
    assert stored.payload["name"] == "Crash Test"


def test_list_filters_by_state_oldest_first(outbox: Outbox) -> None:
    first = outbox.add("booking", PAYLOAD)
    second = outbox.add("consultation", PAYLOAD)
    third = outbox.add("handoff", {})
    outbox.mark_delivered(second.id)
    outbox.mark_failed(third.id, "HTTP 500")

    assert [r.id for r in outbox.list()] == [first.id, second.id, third.id]
    assert [r.id for r in outbox.list(PENDING)] == [first.id]
    assert [r.id for r in outbox.list(DELIVERED)] == [second.id]
    assert [r.id for r in outbox.list(FAILED)] == [third.id]
    assert outbox.counts() == {PENDING: 1, DELIVERED: 1, FAILED: 1}
    with pytest.raises(ValueError, match="state must be one of"):
        outbox.list("lost")


def test_due_skips_requests_waiting_for_their_retry_time(outbox: Outbox) -> None:
    now = utc_now()
    waiting = outbox.add("booking", PAYLOAD)
    ready = outbox.add("booking", PAYLOAD)
    outbox.mark_attempt_failed(waiting.id, "timeout", now + timedelta(minutes=5))

    assert [r.id for r in outbox.due(now + timedelta(seconds=1))] == [ready.id]
    later = now + timedelta(minutes=6)
    assert {r.id for r in outbox.due(later)} == {waiting.id, ready.id}


def test_a_lease_stops_a_second_outbox_on_the_same_file(outbox_file: Path) -> None:
    mine, theirs = Outbox(outbox_file), Outbox(outbox_file)
    request = mine.add("booking", PAYLOAD)
    now = utc_now()

    claimed = mine.claim_due("worker-a", LEASE, now=now)

    assert [r.id for r in claimed] == [request.id]
    assert claimed[0].claimed_until == now + timedelta(seconds=LEASE)
    assert theirs.claim_due("worker-b", LEASE, now=now) == []
    assert theirs.claim(request.id, "worker-b", LEASE, now=now) is None
    assert theirs.due(now) == []

    after_lease = now + timedelta(seconds=LEASE + 1)
    assert theirs.claim(request.id, "worker-b", LEASE, now=after_lease) is not None


def test_claims_in_parallel_processes_never_overlap(outbox_file: Path) -> None:
    outbox = Outbox(outbox_file)
    ids = {outbox.add("booking", PAYLOAD).id for _ in range(40)}
    code = """
        import json, os, sys
        from clinic_requests.outbox import Outbox
        outbox, mine = Outbox(sys.argv[1]), []
        while True:
            claimed = outbox.claim_due(f"worker-{os.getpid()}", 600, limit=1)
            if not claimed:
                break
            mine.append(claimed[0].id)
        print(json.dumps(mine))
        """
    processes = [_run_python(code, outbox_file) for _ in range(4)]

    claimed_by_process: List[List[str]] = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
        claimed_by_process.append(json.loads(stdout))

    all_claims = [rid for claims in claimed_by_process for rid in claims]
    assert len(all_claims) == len(set(all_claims)) == 40
    assert set(all_claims) == ids


def test_failed_attempts_then_giving_up_then_retrying(outbox: Outbox) -> None:
    request = outbox.add("booking", PAYLOAD)
    retry_at = utc_now() + timedelta(seconds=4)

    outbox.claim_due("worker-a", LEASE)
    assert outbox.mark_attempt_failed(request.id, "HTTP 503", retry_at)
    after_one = stored(outbox, request.id)
    assert (after_one.state, after_one.attempts) == (PENDING, 1)
    assert after_one.last_error == "HTTP 503"
    assert after_one.next_attempt_at == retry_at
    assert after_one.claimed_until is None

    assert outbox.mark_failed(request.id, "connection error: refused")
    failed = stored(outbox, request.id)
    assert (failed.state, failed.attempts) == (FAILED, 2)
    assert outbox.due(utc_now() + timedelta(days=1)) == []

    assert outbox.retry_failed() == 1
    retried = stored(outbox, request.id)
    assert (retried.state, retried.attempts) == (PENDING, 0)
    assert [r.id for r in outbox.due()] == [request.id]
    assert outbox.retry_failed() == 0

    assert outbox.mark_delivered(request.id)
    delivered = stored(outbox, request.id)
    assert (delivered.state, delivered.attempts) == (DELIVERED, 1)
    assert delivered.delivered_at is not None


def test_a_late_failure_cannot_undo_a_delivery(outbox: Outbox) -> None:
    request = outbox.add("booking", PAYLOAD)
    outbox.mark_delivered(request.id)

    assert not outbox.mark_attempt_failed(request.id, "timeout", utc_now())
    assert not outbox.mark_failed(request.id, "timeout")
    assert not outbox.mark_delivered(request.id)
    assert stored(outbox, request.id).state == DELIVERED
    assert stored(outbox, request.id).attempts == 1


def test_only_the_lease_holder_records_a_failure(outbox: Outbox) -> None:
    request = outbox.add("booking", PAYLOAD)
    now = utc_now()
    outbox.claim(request.id, "slow-worker", 1, now=now)
    outbox.claim(request.id, "other-worker", LEASE, now=now + timedelta(seconds=2))

    retry_at = now + timedelta(minutes=1)
    assert not outbox.mark_attempt_failed(request.id, "timeout", retry_at, worker_id="slow-worker")
    assert outbox.mark_attempt_failed(request.id, "HTTP 500", retry_at, worker_id="other-worker")
    assert stored(outbox, request.id).last_error == "HTTP 500"


def test_unknown_ids_and_naive_times(outbox: Outbox) -> None:
    assert outbox.get("0" * 32) is None
    assert not outbox.mark_delivered("0" * 32)
    with pytest.raises(ValueError, match="timezone-aware"):
        outbox.due(utc_now().replace(tzinfo=None))

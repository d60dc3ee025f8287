"""End-to-end delivery: real outbox, real worker thread, real HTTP on 127.0.0.1.

Every test runs twice: outbox in a SQLite file, and in PostgreSQL (``storage_backend``).

The stand-in booking system (tests/webhook_receiver.py) behaves as docs/webhook.md asks a receiver
to: it stores each request once per Idempotency-Key and answers 409 to a repeat.
Every test counts both the POSTs it received and the distinct keys it stored.
"""

import json
import logging
import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List

import pytest

from clinic_requests.background import start_delivery, stop_delivery
from clinic_requests.channels import delivery_channels
from clinic_requests.config import (
    ENV_DATABASE_URL,
    ENV_OVERRIDES,
    ENV_WEBHOOK_TOKEN,
    DeliverySettings,
)
from clinic_requests.delivery import WORKER_THREAD_NAME, DeliveryWorker
from clinic_requests.outbox import DELIVERED, FAILED, PENDING, Outbox
from clinic_requests.submit import submit_request
from tests.pg_fixture import StorageBackend
from tests.stored import stored
from tests.webhook_receiver import HOOK_PATH, Receiver

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DOCS = PROJECT_ROOT / "docs" / "webhook.md"
# Short timings so retries happen in milliseconds, not minutes.
FAST = {
    "CLINIC_WEBHOOK_TIMEOUT_SECONDS": "2",
    "CLINIC_DELIVERY_MAX_ATTEMPTS": "10",
    "CLINIC_DELIVERY_BACKOFF_BASE_SECONDS": "0.05",
    "CLINIC_DELIVERY_BACKOFF_MAX_SECONDS": "0.5",
    "CLINIC_DELIVERY_POLL_SECONDS": "0.05",
}


def free_port() -> int:
    """A port on 127.0.0.1 with nothing listening (yet)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {check}")
        time.sleep(0.02)


def documented_fields() -> List[str]:
    """Field names of the JSON example in docs/webhook.md."""
    example = re.search(r"```json\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)
    assert example is not None, "docs/webhook.md has no JSON example"
    return list(json.loads(example.group(1)))


def payload(number: int) -> Dict[str, Any]:
    return {
        "service": "4-D Facial",
        "name": f"Visitor {number}",
        "contact": f"visitor{number}@example.com",
        "preferred_time": "next Tuesday afternoon",
        "preferred_time_iso": "2024-05-21T14:00:00.000+01:00",
        "conditions": ["pregnancy"] if number % 2 else [],
        "transcript": [
            {"sender": "user", "text": f"I'd like to book, I'm visitor {number}"},
            {"sender": "bot", "text": "Of course."},
        ],
        "booking_link": "https://example-clinic.com/book",
    }


@pytest.fixture
def env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, storage_backend: StorageBackend
) -> Iterator[Dict[str, str]]:
    """Point delivery at a temporary outbox, no endpoints.yml, fast retries."""
    for variable in [*ENV_OVERRIDES.values(), ENV_WEBHOOK_TOKEN, ENV_DATABASE_URL]:
        monkeypatch.delenv(variable, raising=False)
    target = storage_backend.target(tmp_path / "var", "outbox.db")
    values = {
        "CLINIC_OUTBOX_PATH": str(tmp_path / "var" / "outbox.db"),
        **storage_backend.env(target, "CLINIC_OUTBOX_PATH"),
        "CLINIC_ENDPOINTS_PATH": str(tmp_path / "no-endpoints.yml"),
        **FAST,
    }
    for variable, value in values.items():
        monkeypatch.setenv(variable, value)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    stop_delivery()
    yield values
    stop_delivery()


@pytest.fixture
def outbox(env: Dict[str, str]) -> Outbox:
    return Outbox(env.get(ENV_DATABASE_URL) or Path(env["CLINIC_OUTBOX_PATH"]))


def worker_for(outbox: Outbox, url: str, **settings: Any) -> DeliveryWorker:
    """A worker with fast retries posting to ``url``."""
    options = {
        "webhook_url": url,
        "timeout_seconds": 2.0,
        "backoff_base_seconds": 0.05,
        "backoff_max_seconds": 0.5,
        "poll_seconds": 0.05,
        **settings,
    }
    delivery_settings = DeliverySettings(**options)
    return DeliveryWorker(outbox, delivery_channels(delivery_settings), delivery_settings)


def test_requests_wait_while_the_booking_system_is_down_then_arrive_once(
    monkeypatch: pytest.MonkeyPatch,
    env: Dict[str, str],
    outbox: Outbox,
    receivers: Callable[..., Receiver],
) -> None:
    port = free_port()
    monkeypatch.setenv("CLINIC_WEBHOOK_URL", f"http://127.0.0.1:{port}{HOOK_PATH}")
    monkeypatch.setenv("CLINIC_WEBHOOK_TOKEN", "test-token")
    kinds = ("booking", "consultation", "handoff")
    start_delivery()  # as the action server does when it starts

    created = [submit_request(kinds[n % 3], payload(n)) for n in range(20)]

    # Down: every request has been tried and is still pending, none given up.
    wait_until(lambda: all(r.attempts >= 1 for r in outbox.list()))
    assert outbox.counts() == {PENDING: 20, DELIVERED: 0, FAILED: 0}
    assert all("connection error" in (r.last_error or "") for r in outbox.list())

    receiver = receivers(port)
    wait_until(lambda: outbox.counts()[DELIVERED] == 20)
    time.sleep(0.3)  # would-be duplicates have time to show up

    ids = {request.id for request in created}
    assert len(receiver.posts) == 20
    assert len(set(receiver.keys)) == 20
    assert set(receiver.keys) == set(receiver.stored) == ids
    assert outbox.counts() == {PENDING: 0, DELIVERED: 20, FAILED: 0}
    for post in receiver.posts:
        assert post.method == "POST"
        assert post.headers["Content-Type"].startswith("application/json")
        assert post.headers["Authorization"] == "Bearer test-token"
        assert post.body is not None and post.body["id"] == post.key
        assert list(post.body) == documented_fields()
    first = stored(outbox, created[1].id)
    assert receiver.stored[first.id] == {
        "id": first.id,
        "kind": "consultation",
        "created_at": first.created_at.isoformat(),
        **payload(1),
        # fields a booking request leaves empty are sent as null, so the receiver sees them all
        "reason": None,
        "topic": None,
        "amends": None,
        "party_size": None,
    }


def test_a_500_is_retried_and_delivered_once(
    outbox: Outbox, receivers: Callable[..., Receiver]
) -> None:
    receiver = receivers(free_port(), answers=[500])
    worker = worker_for(outbox, receiver.url)
    request = outbox.add("booking", payload(1))
    worker.start()
    try:
        worker.wake()
        wait_until(lambda: stored(outbox, request.id).state == DELIVERED)
    finally:
        worker.stop()

    assert [post.status for post in receiver.posts] == [500, 200]
    assert receiver.keys == [request.id, request.id]
    assert list(receiver.stored) == [request.id]
    delivered = stored(outbox, request.id)
    assert delivered.attempts == 2
    assert (delivered.last_error or "").startswith("HTTP 500")


def test_a_409_counts_as_delivered(outbox: Outbox, receivers: Callable[..., Receiver]) -> None:
    request = outbox.add("handoff", payload(2))
    receiver = receivers(free_port())
    receiver.stored[request.id] = {"id": request.id}  # it already has this one

    result = worker_for(outbox, receiver.url).run_once()

    assert (result.delivered, result.retrying, result.failed) == (1, 0, 0)
    assert [post.status for post in receiver.posts] == [409]
    assert stored(outbox, request.id).state == DELIVERED


def test_a_lost_answer_is_resent_and_the_receiver_drops_the_repeat(
    outbox: Outbox, receivers: Callable[..., Receiver]
) -> None:
    """The receiver stores the POST but answers after our timeout."""
    receiver = receivers(free_port(), slow_first_seconds=1.5)
    worker = worker_for(outbox, receiver.url, timeout_seconds=0.3)
    request = outbox.add("booking", payload(3))
    worker.start()
    try:
        wait_until(lambda: stored(outbox, request.id).state == DELIVERED)
    finally:
        worker.stop()

    assert receiver.keys == [request.id, request.id]
    assert [post.status for post in receiver.posts] == [200, 409]
    assert list(receiver.stored) == [request.id]
    assert stored(outbox, request.id).last_error == "timeout after 0.3 s"


def test_a_redirect_is_not_followed(outbox: Outbox, receivers: Callable[..., Receiver]) -> None:
    receiver = receivers(free_port(), answers=[302])
    # A retry delay (0.5-1 s) longer than one pass, however slow the disk: the first
    # run_once must stop after the 302 instead of retrying within the same pass.
    worker = worker_for(outbox, receiver.url, backoff_base_seconds=1.0, backoff_max_seconds=1.0)
    request = outbox.add("booking", payload(4))

    first = worker.run_once()

    assert (first.delivered, first.retrying) == (0, 1)
    assert "redirect" in (stored(outbox, request.id).last_error or "")
    worker.start()
    try:
        wait_until(lambda: stored(outbox, request.id).state == DELIVERED)
    finally:
        worker.stop()
    assert [(post.method, post.status) for post in receiver.posts] == [
        ("POST", 302),
        ("POST", 200),
    ]


def test_after_max_attempts_requests_fail_until_staff_retry(
    outbox: Outbox, receivers: Callable[..., Receiver]
) -> None:
    port = free_port()
    worker = worker_for(outbox, f"http://127.0.0.1:{port}{HOOK_PATH}", max_attempts=3)
    created = [outbox.add("consultation", payload(n)) for n in range(5)]
    worker.start()
    try:
        wait_until(lambda: outbox.counts()[FAILED] == 5)
        assert all(r.attempts == 3 for r in outbox.list(FAILED))

        receiver = receivers(port)
        time.sleep(0.3)
        assert receiver.posts == []  # failed requests wait for a person

        assert outbox.retry_failed() == 5
        worker.wake()
        wait_until(lambda: outbox.counts()[DELIVERED] == 5)
    finally:
        worker.stop()

    assert len(receiver.posts) == len(set(receiver.keys)) == 5
    assert set(receiver.stored) == {request.id for request in created}


def test_without_a_webhook_requests_stay_pending_and_one_line_is_logged(
    env: Dict[str, str], outbox: Outbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="clinic_requests")

    start_delivery()
    for number in range(3):
        submit_request("booking", payload(number))
    time.sleep(0.3)
    start_delivery()  # started once: no second notice

    notices = [r for r in caplog.records if "No webhook configured" in r.getMessage()]
    assert len(notices) == 1
    assert notices[0].levelno == logging.INFO
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert outbox.counts() == {PENDING: 3, DELIVERED: 0, FAILED: 0}
    assert all(r.attempts == 0 for r in outbox.list())
    assert WORKER_THREAD_NAME not in {t.name for t in threading.enumerate()}


def test_two_processes_delivering_at_once_send_each_request_once(
    env: Dict[str, str], outbox: Outbox, receivers: Callable[..., Receiver]
) -> None:
    receiver = receivers(free_port(), per_post_seconds=0.02)
    created = [outbox.add("booking", payload(n)) for n in range(20)]
    child_env = {**os.environ, "CLINIC_WEBHOOK_URL": receiver.url}

    processes = [
        subprocess.Popen(
            [sys.executable, "scripts/requests_cli.py", "deliver-now"],
            cwd=PROJECT_ROOT,
            env=child_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=120) for process in processes]

    assert [process.returncode for process in processes] == [0, 0], outputs
    assert len(receiver.posts) == 20
    assert len(set(receiver.keys)) == 20
    assert set(receiver.stored) == {request.id for request in created}
    assert outbox.counts() == {PENDING: 0, DELIVERED: 20, FAILED: 0}

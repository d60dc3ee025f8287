"""The action server's entry point (``python -m clinic_requests.action_server``), as a real process.

It must be Rasa SDK's action server (health route, our actions registered) that also runs
this process's delivery worker from the start -- a request left pending before the start is
delivered without anyone chatting -- and stops it, and the daily purge, cleanly on SIGTERM
or Ctrl-C: exit code 0 and a log line for each. Two of them on one outbox deliver each
request once.
"""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List

import pytest

from clinic_requests.config import (
    ENV_DATABASE_URL,
    ENV_OVERRIDES,
    ENV_SMTP_PASSWORD,
    ENV_WEBHOOK_TOKEN,
)
from clinic_requests.outbox import DELIVERED, PENDING, Outbox
from tests.servers import free_port, wait_for
from tests.stored import stored
from tests.webhook_receiver import Receiver

PROJECT_DIR = Path(__file__).resolve().parents[2]
FAST = {
    "CLINIC_WEBHOOK_TIMEOUT_SECONDS": "2",
    "CLINIC_DELIVERY_BACKOFF_BASE_SECONDS": "0.05",
    "CLINIC_DELIVERY_BACKOFF_MAX_SECONDS": "0.5",
    "CLINIC_DELIVERY_POLL_SECONDS": "0.05",
}
STOPPED_LINES = (
    "Delivery worker stopped",
    "Daily retention purge stopped",
    "Action server stopped",
)


def payload(number: int) -> Dict[str, Any]:
    return {
        "service": "4-D Facial",
        "name": f"Visitor {number}",
        "contact": f"visitor{number}@example.com",
        "preferred_time": "next Tuesday",
    }


def wait_until(check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {check}")
        time.sleep(0.05)


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hook = Receiver(port=free_port(), per_post_seconds=0.01).start()
    yield hook
    hook.stop()


@pytest.fixture
def outbox(tmp_path: Path) -> Outbox:
    return Outbox(tmp_path / "var" / "outbox.db")


@pytest.fixture
def action_servers(
    tmp_path: Path, outbox: Outbox, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[], Dict[str, Any]]]:
    """Start entry points on free 127.0.0.1 ports (SQLite outbox, the stand-in webhook)."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")  # this test's own HTTP calls
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {
            *ENV_OVERRIDES.values(),
            ENV_DATABASE_URL,
            ENV_WEBHOOK_TOKEN,
            ENV_SMTP_PASSWORD,
            "CLINIC_RETENTION_DAYS",
        }
    }
    env.update(
        FAST,
        SANIC_HOST="127.0.0.1",
        CLINIC_WEBHOOK_URL=receiver.url,
        CLINIC_OUTBOX_PATH=str(outbox.path),
        CLINIC_UNANSWERED_PATH=str(tmp_path / "var" / "unanswered.db"),
        CLINIC_ENDPOINTS_PATH=str(tmp_path / "no-endpoints.yml"),
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
        TF_CPP_MIN_LOG_LEVEL="3",
        RASA_TELEMETRY_ENABLED="false",
    )
    started: List[Dict[str, Any]] = []

    def start() -> Dict[str, Any]:
        port = free_port()
        log = tmp_path / f"actions-{port}.log"
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "clinic_requests.action_server",
                "--actions",
                "actions",
                "--port",
                str(port),
            ],
            cwd=PROJECT_DIR,
            env=env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        server = {"process": process, "port": port, "log": log, "url": f"http://127.0.0.1:{port}"}
        started.append(server)
        wait_for(f"{server['url']}/health", [process], 60)
        return server

    yield start
    for server in started:  # a test that failed half-way: stop what it started, by PID
        if server["process"].poll() is None:
            server["process"].kill()
            server["process"].wait(10)


def stop(server: Dict[str, Any], signum: int = signal.SIGTERM) -> str:
    """Stop one server with ``signum``; its log."""
    server["process"].send_signal(signum)
    returncode = server["process"].wait(30)
    log = server["log"].read_text(encoding="utf-8", errors="replace")
    assert returncode == 0, log
    return log


def test_it_serves_the_actions_delivers_what_is_pending_and_stops_cleanly_on_sigterm(
    action_servers: Callable[[], Dict[str, Any]], outbox: Outbox, receiver: Receiver
) -> None:
    waiting = outbox.add("booking", payload(1))  # left pending before the start

    server = action_servers()

    assert get_json(f"{server['url']}/health") == {"status": "ok"}
    actions = {entry["name"] for entry in get_json(f"{server['url']}/actions")}
    assert {"action_answer", "action_submit_booking", "validate_booking_form"} <= actions
    wait_until(lambda: stored(outbox, waiting.id).state == DELIVERED)
    assert list(receiver.stored) == [waiting.id]

    # A request stored while it runs is delivered too, without anyone chatting.
    later = outbox.add("handoff", payload(2))
    wait_until(lambda: stored(outbox, later.id).state == DELIVERED)
    assert receiver.keys == [waiting.id, later.id]

    log = stop(server)
    assert "Delivering outbox" in log and "Daily retention purge started" in log
    stops = [line for line in log.splitlines() if any(text in line for text in STOPPED_LINES)]
    assert len(stops) == 3, log
    assert "Traceback" not in log


def test_two_action_servers_deliver_each_request_once_and_stop_on_ctrl_c(
    action_servers: Callable[[], Dict[str, Any]], outbox: Outbox, receiver: Receiver
) -> None:
    first, second = action_servers(), action_servers()
    created = [outbox.add("booking", payload(n)) for n in range(20)]

    wait_until(lambda: outbox.counts()[DELIVERED] == 20)
    time.sleep(0.3)  # would-be duplicates have time to show up

    assert len(receiver.posts) == len(set(receiver.keys)) == 20
    assert set(receiver.stored) == {request.id for request in created}
    assert outbox.counts()[PENDING] == 0
    for server in (first, second):
        log = stop(server, signal.SIGINT)
        assert all(text in log for text in STOPPED_LINES), log

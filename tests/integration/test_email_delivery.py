"""E-mail delivery end to end: real outbox, real worker, a real SMTP server on 127.0.0.1.

The SMTP servers (tests/smtp_server.py) are started by the tests: one that accepts (plain,
STARTTLS with a login, implicit TLS), one that refuses, one that never answers, and one
stopped and started again. Every test counts the messages the server accepted and their
Message-IDs: one request is one e-mail.
"""

import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List

import pytest

from clinic_requests.background import start_delivery, stop_delivery
from clinic_requests.channel_log import ChannelLog
from clinic_requests.config import (
    ENV_DATABASE_URL,
    ENV_OVERRIDES,
    ENV_SMTP_PASSWORD,
    ENV_WEBHOOK_TOKEN,
)
from clinic_requests.outbox import DELIVERED, FAILED, PENDING, Outbox
from clinic_requests.submit import submit_request
from tests.pg_fixture import StorageBackend
from tests.servers import free_port
from tests.smtp_server import MailServer, SilentServer, make_certificate
from tests.stored import stored

PROJECT_ROOT = Path(__file__).resolve().parents[2]
FROM = "assistant@clinic.example"
TO = ("desk@clinic.example", "manager@clinic.example")
FAST = {
    "CLINIC_DELIVERY_MAX_ATTEMPTS": "10",
    "CLINIC_DELIVERY_BACKOFF_BASE_SECONDS": "0.05",
    "CLINIC_DELIVERY_BACKOFF_MAX_SECONDS": "0.3",
    "CLINIC_DELIVERY_POLL_SECONDS": "0.05",
    "CLINIC_WEBHOOK_TIMEOUT_SECONDS": "2",
    "CLINIC_SMTP_TIMEOUT_SECONDS": "5",
}


def wait_until(check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {check}")
        time.sleep(0.02)


def payload(number: int, **extra: Any) -> Dict[str, Any]:
    return {
        "service": "4-D Facial",
        "name": f"Visitor {number}",
        "contact": f"visitor{number}@example.com",
        "preferred_time": "next Tuesday afternoon",
        "conditions": ["pregnancy"] if number % 2 else [],
        "transcript": [
            {"sender": "user", "text": f"I'd like to book, I'm visitor {number}"},
            {"sender": "bot", "text": "Of course."},
        ],
        **extra,
    }


@pytest.fixture
def servers() -> Iterator[List[Any]]:
    """Every server a test starts is stopped after it."""
    started: List[Any] = []
    yield started
    for server in started:
        server.stop()


@pytest.fixture
def mail(servers: List[Any]) -> Callable[..., MailServer]:
    def start(**options: Any) -> MailServer:
        server = MailServer(port=options.pop("port", None) or free_port(), **options).start()
        servers.append(server)
        return server

    return start


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Callable[..., Outbox]]:
    """Configure delivery through the environment (as an operator would) and start this process's
    delivery worker; returns a setter."""
    for variable in [
        *ENV_OVERRIDES.values(),
        ENV_WEBHOOK_TOKEN,
        ENV_DATABASE_URL,
        ENV_SMTP_PASSWORD,
    ]:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("CLINIC_ENDPOINTS_PATH", str(tmp_path / "no-endpoints.yml"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    stop_delivery()

    def configure(
        smtp_port: int, outbox_target: Any = None, *, worker: bool = True, **variables: str
    ) -> Outbox:
        target = outbox_target or tmp_path / "var" / "outbox.db"
        if isinstance(target, str):
            monkeypatch.setenv(ENV_DATABASE_URL, target)
        else:
            monkeypatch.setenv("CLINIC_OUTBOX_PATH", str(target))
        settings = {
            **FAST,
            "CLINIC_SMTP_HOST": "127.0.0.1",
            "CLINIC_SMTP_PORT": str(smtp_port),
            "CLINIC_SMTP_SECURITY": "none",
            "CLINIC_EMAIL_FROM": FROM,
            "CLINIC_EMAIL_TO": ",".join(TO),
            **variables,
        }
        for variable, value in settings.items():
            monkeypatch.setenv(variable, value)
        if worker:  # with these settings, as the action server does when it starts
            start_delivery()
        return Outbox(target)

    yield configure
    stop_delivery()


def test_a_request_arrives_as_one_email_over_starttls_with_a_login(
    env: Callable[..., Outbox], mail: Callable[..., MailServer], tmp_path: Path
) -> None:
    certificate = make_certificate(tmp_path / "tls")
    server = mail(security="starttls", certificate=certificate, login=("frontdesk", "app-password"))
    outbox = env(
        server.port,
        CLINIC_SMTP_SECURITY="starttls",
        CLINIC_SMTP_CA_FILE=str(certificate[0]),
        CLINIC_SMTP_USERNAME="frontdesk",
        CLINIC_SMTP_PASSWORD="app-password",
    )

    request = submit_request(
        "consultation", payload(1, name="<b>Jane</b><script>alert(1)</script>")
    )
    wait_until(lambda: stored(outbox, request.id).state == DELIVERED)

    assert len(server.received) == 1
    received = server.received[0]
    message = received.message
    assert received.mail_from == FROM
    assert sorted(received.recipients) == sorted(TO)
    assert message["Message-ID"] == f"<{request.id}@clinic.example>"
    assert message["Reply-To"] == "visitor1@example.com"
    assert request.id[:8] in message["Subject"]
    assert message["Subject"].startswith("Consultation request")
    plain, rich = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None and rich is not None
    text, html = plain.get_content(), rich.get_content()
    for expected in (
        "Name: <b>Jane</b><script>alert(1)</script>",
        "Contact: visitor1@example.com",
        "Treatment: 4-D Facial",
        "Preferred time: next Tuesday afternoon",
        "Health conditions (categories): pregnancy",
        "Visitor: I'd like to book, I'm visitor 1",
        request.id,
    ):
        assert expected in text
    assert "<script>" not in html and "<b>Jane" not in html
    assert "&lt;b&gt;Jane&lt;/b&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html
    channels = ChannelLog(outbox.url).states([request.id])[request.id]
    assert [(c.channel, c.attempts, c.delivered) for c in channels] == [("email", 1, True)]


def test_implicit_tls_is_supported(
    env: Callable[..., Outbox], mail: Callable[..., MailServer], tmp_path: Path
) -> None:
    certificate = make_certificate(tmp_path / "tls")
    server = mail(security="tls", certificate=certificate)
    outbox = env(server.port, CLINIC_SMTP_SECURITY="tls", CLINIC_SMTP_CA_FILE=str(certificate[0]))

    request = submit_request("handoff", payload(2))
    wait_until(lambda: stored(outbox, request.id).state == DELIVERED)

    assert server.message_ids == [f"<{request.id}@clinic.example>"]


def test_an_untrusted_certificate_is_not_accepted(
    env: Callable[..., Outbox], mail: Callable[..., MailServer], tmp_path: Path
) -> None:
    server = mail(security="starttls", certificate=make_certificate(tmp_path / "tls"))
    outbox = env(server.port, CLINIC_SMTP_SECURITY="starttls")  # no CA file: system CAs only

    request = submit_request("booking", payload(3))
    wait_until(lambda: stored(outbox, request.id).attempts >= 1)

    assert server.received == []
    error = stored(outbox, request.id).last_error or ""
    assert "TLS error" in error and "CERTIFICATE_VERIFY_FAILED" in error


def test_a_refusing_server_is_retried_then_failed_until_staff_retry(
    env: Callable[..., Outbox], mail: Callable[..., MailServer]
) -> None:
    server = mail(refuse_with="451 4.3.0 Mailbox temporarily unavailable")
    outbox = env(server.port, CLINIC_DELIVERY_MAX_ATTEMPTS="4")

    request = submit_request("booking", payload(4))
    wait_until(lambda: stored(outbox, request.id).state == FAILED)

    failed = stored(outbox, request.id)
    assert failed.attempts == 4
    assert failed.last_error == "SMTP 451 4.3.0 Mailbox temporarily unavailable"
    assert len(server.attempts) == 4 and server.received == []

    time.sleep(0.5)
    assert len(server.attempts) == 4  # a failed request waits for a person

    server.refuse_with = None
    assert outbox.retry_failed() == 1
    submit_request("booking", payload(5))  # wakes the worker, as a new request would
    wait_until(lambda: outbox.counts()[DELIVERED] == 2)
    assert sorted(server.message_ids) == sorted(f"<{r.id}@clinic.example>" for r in outbox.list())


def test_a_server_that_never_answers_times_out_and_is_retried(
    env: Callable[..., Outbox], servers: List[Any]
) -> None:
    silent = SilentServer(free_port())
    servers.append(silent)
    outbox = env(
        silent.port,
        CLINIC_SMTP_TIMEOUT_SECONDS="0.5",
        CLINIC_DELIVERY_BACKOFF_BASE_SECONDS="5",
        CLINIC_DELIVERY_BACKOFF_MAX_SECONDS="5",
    )

    request = submit_request("booking", payload(6))
    wait_until(lambda: stored(outbox, request.id).attempts >= 1)

    kept = stored(outbox, request.id)
    assert kept.state == PENDING
    assert kept.last_error == "timeout after 0.5 s"


def test_a_mail_server_that_was_down_gets_every_request_once_after_its_restart(
    env: Callable[..., Outbox], mail: Callable[..., MailServer]
) -> None:
    server = mail()
    server.stop()  # the clinic's mail server is down
    outbox = env(server.port)

    created = [submit_request("booking", payload(n)) for n in range(10)]
    wait_until(lambda: all(r.attempts >= 1 for r in outbox.list()))
    assert outbox.counts()[PENDING] == 10
    assert all("connection error" in (r.last_error or "") for r in outbox.list())

    server.start()
    wait_until(lambda: outbox.counts()[DELIVERED] == 10)
    time.sleep(0.3)  # would-be duplicates have time to show up
    assert sorted(server.message_ids) == sorted(f"<{r.id}@clinic.example>" for r in created)


def test_a_turn_handled_twice_sends_one_email(
    env: Callable[..., Outbox], mail: Callable[..., MailServer]
) -> None:
    server = mail()
    outbox = env(server.port)

    first = submit_request("handoff", payload(7), request_id="a" * 32)
    again = submit_request("handoff", payload(7), request_id="a" * 32)
    wait_until(lambda: stored(outbox, first.id).state == DELIVERED)
    time.sleep(0.3)

    assert again.id == first.id
    assert server.message_ids == [f"<{'a' * 32}@clinic.example>"]


def test_a_recipient_refused_among_several_is_reported_not_resent(
    env: Callable[..., Outbox], mail: Callable[..., MailServer]
) -> None:
    server = mail(refuse_recipients=("manager@clinic.example",))
    outbox = env(server.port)

    request = submit_request("booking", payload(8))
    wait_until(lambda: stored(outbox, request.id).state == DELIVERED)

    assert [r.recipients for r in server.received] == [["desk@clinic.example"]]
    channel = ChannelLog(outbox.url).states([request.id])[request.id][0]
    assert "manager@clinic.example" in (channel.last_error or "")
    assert "550" in (channel.last_error or "")


def test_a_wrong_password_is_a_login_error_for_staff(
    env: Callable[..., Outbox], mail: Callable[..., MailServer], tmp_path: Path
) -> None:
    certificate = make_certificate(tmp_path / "tls")
    server = mail(security="starttls", certificate=certificate, login=("frontdesk", "right"))
    outbox = env(
        server.port,
        CLINIC_SMTP_SECURITY="starttls",
        CLINIC_SMTP_CA_FILE=str(certificate[0]),
        CLINIC_SMTP_USERNAME="frontdesk",
        CLINIC_SMTP_PASSWORD="wrong",
    )

    request = submit_request("booking", payload(9))
    wait_until(lambda: stored(outbox, request.id).attempts >= 1)

    assert (stored(outbox, request.id).last_error or "").startswith("login refused: 535")
    assert server.received == []


class Webhook:
    """A webhook receiver that can be told to fail; counts POSTs per Idempotency-Key."""

    def __init__(self, port: int) -> None:
        self.failing = False
        self.keys: List[str] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status = 503 if hook.failing else 200
                if not hook.failing:
                    hook.keys.append(self.headers["Idempotency-Key"])
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{port}/hook"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_with_webhook_and_email_each_channel_gets_the_request_once(
    env: Callable[..., Outbox],
    mail: Callable[..., MailServer],
    servers: List[Any],
    storage_backend: StorageBackend,
    tmp_path: Path,
) -> None:
    webhook = Webhook(free_port())
    servers.append(webhook)
    server = mail(refuse_with="554 5.7.1 Message rejected")
    outbox = env(
        server.port,
        storage_backend.target(tmp_path / "var", "outbox.db"),
        CLINIC_WEBHOOK_URL=webhook.url,
        CLINIC_DELIVERY_MAX_ATTEMPTS="3",
    )

    # The webhook takes it, the e-mail is refused until the request fails.
    request = submit_request("booking", payload(10))
    wait_until(lambda: stored(outbox, request.id).state == FAILED)
    failed = stored(outbox, request.id)
    assert failed.last_error == "email: SMTP 554 5.7.1 Message rejected"
    assert webhook.keys == [request.id]
    states = {c.channel: c for c in ChannelLog(outbox.url).states([request.id])[request.id]}
    assert (states["webhook"].delivered, states["webhook"].attempts) == (True, 1)
    assert (states["email"].delivered, states["email"].attempts) == (False, 3)

    # Staff retry: only the e-mail is sent again.
    server.refuse_with = None
    outbox.retry_failed()
    submit_request("handoff", payload(11))  # wakes the worker
    wait_until(lambda: outbox.counts()[DELIVERED] == 2)
    second = [r for r in outbox.list() if r.id != request.id][0]
    assert sorted(webhook.keys) == sorted([request.id, second.id])
    assert sorted(server.message_ids) == sorted(
        f"<{r}@clinic.example>" for r in (request.id, second.id)
    )

    # The other way round: the webhook is down, the e-mail goes once, the POST later.
    webhook.failing = True
    third = submit_request("booking", payload(12))
    wait_until(lambda: stored(outbox, third.id).attempts >= 2)
    assert stored(outbox, third.id).state == PENDING
    assert (stored(outbox, third.id).last_error or "").startswith("webhook: HTTP 503")
    webhook.failing = False
    wait_until(lambda: stored(outbox, third.id).state == DELIVERED)
    assert server.message_ids.count(f"<{third.id}@clinic.example>") == 1
    assert webhook.keys.count(third.id) == 1


def test_two_processes_delivering_at_once_send_each_email_once(
    env: Callable[..., Outbox], mail: Callable[..., MailServer]
) -> None:
    server = mail()
    outbox = env(server.port, worker=False)  # only the two processes deliver
    created = [outbox.add("booking", payload(n)) for n in range(20)]

    processes = [
        subprocess.Popen(
            [sys.executable, "scripts/requests_cli.py", "deliver-now"],
            cwd=PROJECT_ROOT,
            env=dict(os.environ),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=120) for process in processes]

    assert [process.returncode for process in processes] == [0, 0], outputs
    assert sorted(server.message_ids) == sorted(f"<{r.id}@clinic.example>" for r in created)
    assert outbox.counts() == {PENDING: 0, DELIVERED: 20, FAILED: 0}

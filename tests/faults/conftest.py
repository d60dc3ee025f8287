"""The scaled setup (2 Rasa + 2 action servers, nginx, PostgreSQL, Redis) for the fault tests.

One setup per module, on free ports under a temporary folder, stopped by PID at the end.
A local webhook receiver stands in for the clinic's booking system.
"""

import json
import os
import shutil
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
import yaml

from clinic_scaled.packages import programs
from clinic_scaled.stack import MODEL, Ports, ScaledStack

PROJECT_DIR = Path(__file__).resolve().parents[2]


def try_again_text() -> str:
    """What the channel says when the assistant cannot answer (messages.yml)."""
    messages = yaml.safe_load((PROJECT_DIR / "data/content/messages.yml").read_text())
    return messages["error_try_again"]


class BookingSystem:
    """A webhook receiver that records every delivery (body and Idempotency-Key)."""

    def __init__(self) -> None:
        self.deliveries: List[Dict[str, Any]] = []
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server naming)
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                with owner.lock:
                    owner.deliveries.append(
                        {"key": self.headers.get("Idempotency-Key"), "body": body}
                    )
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok": true}')

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        """Where the action servers deliver requests."""
        return f"http://127.0.0.1:{self.server.server_address[1]}/requests"

    def stop(self) -> None:
        """Stop the receiver."""
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def booking_system() -> Iterator[BookingSystem]:
    receiver = BookingSystem()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="module")
def stack(booking_system: BookingSystem) -> Iterator[ScaledStack]:
    missing = [name for name, path in programs().items() if path is None]
    if missing:
        pytest.fail(
            "the fault tests need Debian's "
            + ", ".join(missing)
            + " (make setup-dev installs them)"
        )
    assert MODEL.exists(), "train first: make model"
    # Not pytest's tmp_path: its root is private to root, and PostgreSQL runs as 'postgres'.
    workdir = Path(tempfile.mkdtemp(prefix="clinic-faults-"))
    workdir.chmod(0o711)
    stack = ScaledStack(
        workdir,
        Ports.free(2, 2),
        say=lambda text: None,
        extra_env={
            "CLINIC_WEBHOOK_URL": booking_system.url,
            "CLINIC_DELIVERY_POLL_SECONDS": "0.5",
            "CLINIC_DELIVERY_BACKOFF_BASE_SECONDS": "0.5",
            "CLINIC_DELIVERY_BACKOFF_MAX_SECONDS": "2",
            # Test visitors share one address; the per-conversation limit stays on.
            "CLINIC_RATE_LIMIT_IP_MESSAGES": "0",
        },
    )
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()
        if not os.environ.get("CLINIC_FAULTS_KEEP"):  # keep logs to read after a failure
            shutil.rmtree(workdir, ignore_errors=True)

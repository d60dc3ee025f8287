"""A stand-in booking system on 127.0.0.1: receives the webhook's POSTs, as docs/webhook.md
asks a receiver to (stores each request once per Idempotency-Key, answers 409 to a repeat).

Used by the delivery tests (tests/integration/test_delivery.py) and the action server's
start/stop test (tests/integration/test_action_server.py).
"""

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional

HOOK_PATH = "/hooks/assistant"


@dataclass
class Post:
    """One HTTP request the stand-in booking system received."""

    method: str
    key: Optional[str]
    headers: Dict[str, str]
    body: Optional[Dict[str, Any]]
    status: int


@dataclass
class Receiver:
    """Stand-in booking system on 127.0.0.1 that deduplicates by Idempotency-Key."""

    port: int
    answers: List[int] = field(default_factory=list)  # forced answers, in order
    slow_first_seconds: float = 0.0  # store the first POST, then answer too late
    per_post_seconds: float = 0.0
    posts: List[Post] = field(default_factory=list)
    stored: Dict[str, Dict[str, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: Optional[ThreadingHTTPServer] = None
    thread: Optional[threading.Thread] = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{HOOK_PATH}"

    @property
    def keys(self) -> List[Optional[str]]:
        return [post.key for post in self.posts]

    def start(self) -> "Receiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server naming)
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                key = self.headers.get("Idempotency-Key")
                status, delay = receiver._decide(key, body)
                with receiver.lock:
                    receiver.posts.append(Post("POST", key, dict(self.headers), body, status))
                time.sleep(delay)
                self._answer(status)

            def do_GET(self) -> None:  # noqa: N802
                with receiver.lock:
                    receiver.posts.append(Post("GET", None, dict(self.headers), None, 405))
                self._answer(405)

            def _answer(self, status: int) -> None:
                try:
                    self.send_response(status)
                    if 300 <= status < 400:
                        self.send_header("Location", f"http://127.0.0.1:1{HOOK_PATH}")
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(json.dumps({"status": status}).encode())
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (the timeout test)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            if self.thread is not None:
                self.thread.join(5)
            self.server = None

    def _decide(self, key: Optional[str], body: Dict[str, Any]) -> tuple:
        with self.lock:
            if self.answers:
                return self.answers.pop(0), self.per_post_seconds
            if key in self.stored:
                return 409, self.per_post_seconds
            self.stored[str(key)] = body
            first = len(self.stored) == 1
        delay = self.slow_first_seconds if first else self.per_post_seconds
        return 200, delay

"""Measure e-mail delivery with the default settings against a local SMTP server (docs/email.md).

1. Latency: N requests stored one after another (``submit_request``, as an action does); for
   each, the time from "stored" to "accepted by the SMTP server". Median, 95th percentile, max.
2. Retries: the SMTP server refuses every message (451); the times of the first attempts of
   one request, with the default backoff (2 s base, doubling, equal jitter).

Development tool: it needs aiosmtpd (requirements-dev.txt). Everything runs on 127.0.0.1 in a
temporary folder; nothing of var/ is touched.

    .venv/bin/python scripts/measure_email_delivery.py [--requests 20] [--attempts 5]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--attempts", type=int, default=5)
    args = parser.parse_args()
    if sys.path[0] == str(Path(__file__).parent):
        sys.path[0] = str(PROJECT_DIR)
    from tests.servers import free_port
    from tests.smtp_server import MailServer

    with tempfile.TemporaryDirectory(prefix="clinic-email-measure-") as folder:
        server = MailServer(port=free_port()).start()
        _configure(Path(folder), server.port)
        from clinic_requests.background import start_delivery, stop_delivery
        from clinic_requests.submit import submit_request

        start_delivery()  # as the action server does when it starts
        try:
            latencies = []
            for number in range(args.requests):
                submit_request("booking", _payload(number))
                stored = time.monotonic()
                while len(server.received) <= number:
                    time.sleep(0.001)
                latencies.append(server.received[number].at - stored)
            print(
                f"stored -> accepted by the SMTP server, {args.requests} requests one after "
                "another (default poll 2 s; the worker is woken by each new request):"
            )
            ordered = sorted(latencies)
            p95 = ordered[max(0, int(round(0.95 * len(ordered))) - 1)]
            print(
                f"  median {statistics.median(latencies) * 1000:.1f} ms, p95 {p95 * 1000:.1f} "
                f"ms, max {max(latencies) * 1000:.1f} ms, first {latencies[0] * 1000:.1f} ms"
            )

            server.refuse_with = "451 4.3.0 Try again later"
            server.attempts.clear()
            submit_request("booking", _payload(999))
            while len(server.attempts) < args.attempts:
                time.sleep(0.01)
            first = server.attempts[0]
            print(
                "\nagainst a refusing server (451), attempts of one request "
                "(default backoff 2 s base, doubling, jitter):"
            )
            previous = first
            for number, moment in enumerate(server.attempts[: args.attempts], start=1):
                ceiling = min(300.0, 2.0 * 2 ** (number - 2)) if number > 1 else 0.0
                expected = f"(expected wait {ceiling / 2:g}-{ceiling:g} s)" if number > 1 else ""
                print(
                    f"  attempt {number}: t = {moment - first:6.2f} s, waited "
                    f"{moment - previous:5.2f} s {expected}"
                )
                previous = moment
        finally:
            stop_delivery()
            server.stop()
    return 0


def _configure(folder: Path, port: int) -> None:
    for name in list(os.environ):
        if name.startswith(("CLINIC_SMTP", "CLINIC_EMAIL", "CLINIC_DELIVERY", "CLINIC_WEBHOOK")):
            del os.environ[name]
    os.environ.pop("CLINIC_DATABASE_URL", None)
    os.environ.update(
        {
            "CLINIC_ENDPOINTS_PATH": str(folder / "no-endpoints.yml"),
            "CLINIC_OUTBOX_PATH": str(folder / "outbox.db"),
            "CLINIC_UNANSWERED_PATH": str(folder / "unanswered.db"),
            "CLINIC_RETENTION_DAYS": "0",
            "CLINIC_SMTP_HOST": "127.0.0.1",
            "CLINIC_SMTP_PORT": str(port),
            "CLINIC_SMTP_SECURITY": "none",
            "CLINIC_EMAIL_FROM": "assistant@clinic.example",
            "CLINIC_EMAIL_TO": "desk@clinic.example",
        }
    )


def _payload(number: int) -> dict:
    return {
        "service": "4-D Facial",
        "name": f"Visitor {number}",
        "contact": f"visitor{number}@example.com",
        "preferred_time": "next Tuesday",
        "transcript": [
            {"sender": "user", "text": "I'd like to book"},
            {"sender": "bot", "text": "Of course."},
        ],
    }


if __name__ == "__main__":
    sys.exit(main())

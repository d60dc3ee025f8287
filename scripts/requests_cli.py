"""Staff tool for the request outbox: list, show, retry and deliver requests.

Usage::

    python scripts/requests_cli.py list [--state pending|delivered|failed]
    python scripts/requests_cli.py show ID          # full id or a unique prefix
    python scripts/requests_cli.py retry-failed     # failed -> pending, attempts reset
    python scripts/requests_cli.py deliver-now      # one delivery pass, then exit

The outbox is the database named by ``CLINIC_DATABASE_URL`` (or
``clinic_delivery.database_url`` in endpoints.yml) if set, else the SQLite file
``var/outbox.db`` (or ``CLINIC_OUTBOX_PATH``); webhook and e-mail settings come from
``endpoints.yml`` / ``CLINIC_WEBHOOK_URL`` / ``CLINIC_SMTP_HOST`` (docs/webhook.md,
docs/email.md).
"""

import argparse
import json
import logging
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, List, Optional, Sequence

if TYPE_CHECKING:  # the real import waits for _use_project_imports()
    from clinic_requests.outbox import Outbox

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[1]
STATES = ("pending", "delivered", "failed")
COLUMNS = ("id", "kind", "service", "created (UTC)", "state", "attempts", "last error")
MAX_SERVICE_CHARS = 24
MAX_ERROR_CHARS = 60
MIN_PREFIX_CHARS = 4


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line tool and return its exit code."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    _use_project_imports()
    from clinic_requests.outbox import Outbox

    outbox = Outbox()
    if args.command == "list":
        return _list(outbox, args.state)
    if args.command == "show":
        return _show(outbox, args.id)
    if args.command == "retry-failed":
        count = outbox.retry_failed()
        print(f"{count} failed request(s) set back to pending.")
        if count:
            print("They are delivered on the next pass (or run: deliver-now).")
        return 0
    return _deliver_now(outbox)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="requests_cli.py",
        description="Booking, consultation and hand-off requests in the outbox.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    list_parser = commands.add_parser("list", help="table of requests, oldest first")
    list_parser.add_argument("--state", choices=STATES, help="only this state")
    show_parser = commands.add_parser("show", help="one request with its payload")
    show_parser.add_argument("id", help="request id or a unique prefix of it")
    commands.add_parser("retry-failed", help="put failed requests back to pending")
    commands.add_parser("deliver-now", help="deliver every due request once, now")
    return parser


def _list(outbox: "Outbox", state: Optional[str]) -> int:
    requests = outbox.list(state)
    if not requests:
        print("No requests." if state is None else f"No {state} requests.")
    else:
        rows = [
            (
                request.id,
                request.kind,
                _cut(request.service or "-", MAX_SERVICE_CHARS),
                _minute(request.created_at),
                request.state,
                str(request.attempts),
                _cut(request.last_error or "-", MAX_ERROR_CHARS),
            )
            for request in requests
        ]
        print(_table([COLUMNS, *rows]))
    counts = outbox.counts()
    print(
        f"\n{counts['pending']} pending, {counts['delivered']} delivered, "
        f"{counts['failed']} failed  ({outbox.location})"
    )
    return 0


def _show(outbox: "Outbox", wanted: str) -> int:
    request = outbox.get(wanted)
    if request is None and len(wanted) >= MIN_PREFIX_CHARS:
        matches = [r for r in outbox.list() if r.id.startswith(wanted)]
        if len(matches) > 1:
            print(f"'{wanted}' matches {len(matches)} requests; give more of the id.")
            return 1
        request = matches[0] if matches else None
    if request is None:
        print(f"No request with id '{wanted}'.", file=sys.stderr)
        return 1
    from clinic_requests.payload import webhook_body

    details = {
        "state": request.state,
        "attempts": request.attempts,
        "next_attempt_at": request.next_attempt_at.isoformat(),
        "last_error": request.last_error,
        "delivered_at": request.delivered_at.isoformat() if request.delivered_at else None,
        "body": webhook_body(request),
    }
    print(json.dumps(details, indent=2, ensure_ascii=False))
    return 0


def _deliver_now(outbox: "Outbox") -> int:
    from clinic_requests.channels import delivery_channels
    from clinic_requests.config import ConfigError, load_delivery_settings
    from clinic_requests.delivery import DeliveryWorker

    try:
        settings = load_delivery_settings()
    except ConfigError as error:
        print(f"Delivery settings are broken: {error}", file=sys.stderr)
        return 1
    channels = delivery_channels(settings)
    if not channels:
        print(
            "No webhook configured (clinic_delivery.webhook_url in endpoints.yml or "
            "CLINIC_WEBHOOK_URL) and no e-mail (clinic_delivery.smtp_host or "
            "CLINIC_SMTP_HOST); requests stay pending.",
            file=sys.stderr,
        )
        return 1
    result = DeliveryWorker(outbox, channels, settings).run_once()
    waiting = len(outbox.list("pending"))
    print(
        f"Delivered {result.delivered}, will retry {result.retrying}, "
        f"failed {result.failed}. Still pending: {waiting}."
    )
    return 0 if result.retrying == 0 and result.failed == 0 else 1


def _use_project_imports() -> None:
    """Import ``actions`` from the project, not modules from ``scripts/``.

    Run as a file, Python puts ``scripts/`` first on ``sys.path``, and this
    file's name would hide the ``requests`` library from everything imported
    after it.
    """
    if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).parent:
        sys.path[0] = str(PROJECT_ROOT)
    elif str(PROJECT_ROOT) not in sys.path:
        sys.path.insert(0, str(PROJECT_ROOT))


def _table(rows: List[Sequence[str]]) -> str:
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _minute(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")


if __name__ == "__main__":
    sys.exit(main())

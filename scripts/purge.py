"""`make purge`: delete data older than the retention period (default 90 days).

Deletes whole conversations whose latest message is older than the cutoff (Rasa's SQL tracker
store of endpoints.yml), delivered requests delivered before it, and unanswered-question records
from before it. Pending and failed requests are never deleted.

Usage::

    python scripts/purge.py                 # the period: CLINIC_RETENTION_DAYS or endpoints.yml
    python scripts/purge.py --days 30       # override (make purge DAYS=30)
    python scripts/purge.py --dry-run       # only count what would go

Exit code 0 when every store was purged, 1 when one failed or a setting is broken.
"""

import argparse
import logging
import sys
from pathlib import Path
from typing import Optional, Sequence

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the purge and print what it deleted."""
    parser = argparse.ArgumentParser(prog="purge.py", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--days",
        type=int,
        default=None,
        help="keep this many days (default: the retention_days setting; 0 = keep all)",
    )
    parser.add_argument("--dry-run", action="store_true", help="count only, delete nothing")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    if str(PROJECT_ROOT) not in sys.path:
        sys.path.insert(0, str(PROJECT_ROOT))
    from clinic_requests import unanswered
    from clinic_requests.config import ConfigError, retention_days, tracker_store_url
    from clinic_requests.outbox import Outbox
    from clinic_requests.retention import purge_configured

    try:
        days = retention_days() if args.days is None else args.days
        if days < 0:
            raise ConfigError(f"--days must be 0 (keep forever) or more, got {days}")
        if days == 0:
            print("Retention is 0 days (keep forever): nothing deleted.")
            return 0
        tracker = tracker_store_url()
        result = purge_configured(days, dry_run=args.dry_run)
    except ConfigError as error:
        print(f"Settings are broken: {error}", file=sys.stderr)
        return 1
    assert result is not None
    from clinic_requests import database

    print(
        f"Retention {days} days: data older than "
        f"{result.before.isoformat(timespec='seconds')} "
        f"({'dry run, nothing deleted' if result.dry_run else 'deleted'})."
    )
    verb = "would delete" if result.dry_run else "deleted"
    print(
        f"  conversations: {verb} {result.conversations} ({result.events} events)  "
        f"[{database.describe(tracker) if tracker else 'no SQL tracker store configured'}]"
    )
    print(
        f"  requests:      {verb} {result.requests} delivered (pending and failed are kept)  "
        f"[{Outbox().location}]"
    )
    print(f"  unanswered:    {verb} {result.unanswered}  [{unanswered.location()}]")
    for problem in result.errors:
        print(f"FAILED: {problem}", file=sys.stderr)
    return 1 if result.errors else 0


if __name__ == "__main__":
    sys.exit(main())

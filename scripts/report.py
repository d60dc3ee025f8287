"""`make report`: the questions visitors asked that the assistant could not answer.

Groups similar wordings together (so "how much is it" and "how much does it cost?" count as one
question), most frequent first, for a period (default the last 30 days). Staff then add or improve
an answer and mark the entries handled: `make report MARK="12 13 14"`.
The records are in var/unanswered.db, or in the database of CLINIC_DATABASE_URL when that is set.
"""

import argparse
import datetime
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

from clinic_requests import unanswered  # noqa: E402
from clinic_requests.unanswered_groups import OUTCOMES, group  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30, help="look back this many days")
    parser.add_argument("--top", type=int, default=20, help="show this many groups")
    parser.add_argument(
        "--mark-handled",
        nargs="*",
        type=int,
        metavar="ID",
        help="mark these entry ids handled (they leave the report)",
    )
    args = parser.parse_args()
    if args.mark_handled:
        changed = unanswered.mark_handled(args.mark_handled)
        print(f"Marked {changed} entr{'y' if changed == 1 else 'ies'} as handled.")
        return 0
    since = datetime.date.today() - datetime.timedelta(days=args.days)
    rows = unanswered.entries(since=since)
    print(
        f"Questions without an answer since {since} ({len(rows)} messages,"
        f" database {unanswered.location()}):\n"
    )
    if not rows:
        print("  none -- nothing to add.")
        return 0
    for number, found in enumerate(group(rows)[: args.top], start=1):
        example, _ = found["texts"].most_common(1)[0]
        outcome = ", ".join(
            f"{OUTCOMES.get(o, o)} x{n}" for o, n in found["outcomes"].most_common()
        )
        print(f'{number:>2}. asked {len(found["ids"])}x  "{example}"')
        others = [t for t in found["texts"] if t != example][:3]
        for other in others:
            print(f'       also: "{other}"')
        print(
            f"       the assistant {outcome}; last {found['last'][:10]};"
            f" ids: {' '.join(str(i) for i in found['ids'])}"
        )
    print('\nAdd or improve an answer (docs/staff-guide.md), then: make report MARK="<ids>"')
    return 0


if __name__ == "__main__":
    sys.exit(main())

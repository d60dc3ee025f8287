"""Unanswered questions as `make report` groups them, for the staff page."""

import datetime
from dataclasses import dataclass
from typing import List, Optional, Tuple

from clinic_requests import unanswered
from clinic_requests.unanswered_groups import OUTCOMES, group
from clinic_staff.stores import Stores

PERIODS = (7, 30, 90)
MAX_OTHER_WORDINGS = 3


@dataclass(frozen=True)
class QuestionGroup:
    """Similar unanswered questions (the report's numbered entries)."""

    example: str
    count: int
    other_wordings: Tuple[str, ...]
    outcomes: Tuple[Tuple[str, int], ...]  # (what the assistant did, how often)
    last: str  # date, YYYY-MM-DD (UTC)
    ids: Tuple[int, ...]


def question_groups(
    stores: Stores, days: int, today: Optional[datetime.date] = None
) -> List[QuestionGroup]:
    """Groups of questions not marked handled, asked in the last ``days`` days, largest first."""
    since = (today or datetime.datetime.now(datetime.timezone.utc).date()) - datetime.timedelta(
        days=days
    )
    rows = unanswered.entries(since=since, path=stores.unanswered)
    found = []
    for entry in group(rows):
        example, _ = entry["texts"].most_common(1)[0]
        found.append(
            QuestionGroup(
                example=example,
                count=len(entry["ids"]),
                other_wordings=tuple(t for t in entry["texts"] if t != example)[
                    :MAX_OTHER_WORDINGS
                ],
                outcomes=tuple(
                    (OUTCOMES.get(outcome, outcome), count)
                    for outcome, count in entry["outcomes"].most_common()
                ),
                last=entry["last"][:10],
                ids=tuple(entry["ids"]),
            )
        )
    return found


def mark_group_handled(stores: Stores, ids: List[int]) -> int:
    """Mark the entries of one group handled (they leave the list); returns how many."""
    return unanswered.mark_handled(ids, path=stores.unanswered)

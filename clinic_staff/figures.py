"""A few figures for the staff page, counted from the stores (days are UTC days).

* conversations per day: visitors who sent at least one message that day (Rasa's tracker
  store, the ``events`` table: SQLite by default, PostgreSQL in the scaled setup);
* requests per day (the outbox);
* top questions: the kinds of question visitors asked most (the intents of their messages);
* what happened to visitors' messages per day: answered, "I don't know" (unknown or out of
  scope) and not understood -- every message minus the unanswered-question records, which
  the assistant writes for each message it did not answer.

Only counts leave this module; no visitor's text does. Data the retention purge deleted is
not counted (so at most the retention period can be shown).
"""

import datetime
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, inspect, select

from clinic_requests import database, unanswered
from clinic_staff.stores import Stores

PERIODS = (7, 30, 90)
TOP_QUESTIONS = 8
QUESTION_PREFIX = "ask_"
NOT_ANSWERED = ("unknown", "out_of_scope")
NOT_UNDERSTOOD = ("fallback",)

_tracker_metadata = MetaData()
# The columns of Rasa's SQLTrackerStore table read here (Rasa creates the table).
events_table = Table(
    "events",
    _tracker_metadata,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255)),
    Column("type_name", String(255)),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
)
E = events_table.c


@dataclass(frozen=True)
class DayOutcomes:
    """What happened to the visitors' messages of one day."""

    day: datetime.date
    answered: int
    not_answered: int
    not_understood: int

    @property
    def total(self) -> int:
        return self.answered + self.not_answered + self.not_understood


@dataclass
class Figures:
    """Everything the figures page shows, for one period."""

    days: List[datetime.date]
    conversations: List[int]
    requests: List[int]
    top_questions: List[Tuple[str, int]]
    outcomes: List[DayOutcomes]
    problems: List[str] = field(default_factory=list)  # a store that could not be read

    @property
    def total_conversations(self) -> int:
        return sum(self.conversations)

    @property
    def total_requests(self) -> int:
        return sum(self.requests)

    @property
    def answered_share(self) -> Optional[float]:
        """Answered messages / all messages over the period (``None`` without messages)."""
        total = sum(day.total for day in self.outcomes)
        return sum(day.answered for day in self.outcomes) / total if total else None


def figures(stores: Stores, days: int, today: Optional[datetime.date] = None) -> Figures:
    """The figures of the last ``days`` days, today included."""
    today = today or datetime.datetime.now(datetime.timezone.utc).date()
    period = [today - datetime.timedelta(days=offset) for offset in range(days - 1, -1, -1)]
    start = datetime.datetime.combine(period[0], datetime.time(), tzinfo=datetime.timezone.utc)
    problems: List[str] = []

    senders: Dict[datetime.date, set] = defaultdict(set)
    messages: Counter = Counter()
    intents: Counter = Counter()
    try:
        for sender, moment, intent in _user_messages(stores.tracker_url, start):
            day = datetime.datetime.fromtimestamp(moment, datetime.timezone.utc).date()
            senders[day].add(sender)
            messages[day] += 1
            for part in (intent or "").split("+"):
                if part.startswith(QUESTION_PREFIX):
                    intents[part] += 1
    except Exception as error:  # the other figures still show
        problems.append(f"conversations ({_where(stores.tracker_url)}): {error}")

    requests: Counter = Counter()
    try:
        for request in stores.outbox.list():
            if request.created_at >= start:
                requests[request.created_at.date()] += 1
    except Exception as error:
        problems.append(f"requests ({stores.outbox.location}): {error}")

    missed: Counter = Counter()
    confused: Counter = Counter()
    try:
        rows = unanswered.entries(since=period[0], include_handled=True, path=stores.unanswered)
        for _id, created, _text, outcome, _intent, _handled in rows:
            day = datetime.date.fromisoformat(created[:10])
            if outcome in NOT_UNDERSTOOD:
                confused[day] += 1
            elif outcome in NOT_ANSWERED:
                missed[day] += 1
    except Exception as error:
        problems.append(f"unanswered questions ({unanswered.location(stores.unanswered)}): {error}")

    outcomes = []
    for day in period:
        not_answered = min(missed[day], messages[day])
        not_understood = min(confused[day], messages[day] - not_answered)
        outcomes.append(
            DayOutcomes(
                day, messages[day] - not_answered - not_understood, not_answered, not_understood
            )
        )
    return Figures(
        days=period,
        conversations=[len(senders[day]) for day in period],
        requests=[requests[day] for day in period],
        top_questions=[
            (intent[len(QUESTION_PREFIX) :].replace("_", " "), count)
            for intent, count in intents.most_common(TOP_QUESTIONS)
        ],
        outcomes=outcomes,
        problems=problems,
    )


def _user_messages(
    tracker_url: Optional[str], start: datetime.datetime
) -> List[Tuple[str, float, Optional[str]]]:
    """(conversation, time, intent) of every visitor message since ``start``."""
    if tracker_url is None:
        return []
    file = database.sqlite_file(tracker_url)
    if file is not None and not file.exists():
        return []  # no conversation yet (and no empty file created)
    engine = database.engine_for(tracker_url)
    if not inspect(engine).has_table("events"):
        return []
    query = select(E.sender_id, E.timestamp, E.intent_name).where(
        E.type_name == "user", E.timestamp >= start.timestamp()
    )
    with database.read(engine) as connection:
        return [(row[0], row[1], row[2]) for row in connection.execute(query)]


def _where(url: Optional[str]) -> str:
    return database.describe(url) if url else "no SQL tracker store configured"

"""Records the questions the assistant could not answer, for the staff report (``make report``).

Stored in SQLite (``var/unanswered.db``, or ``CLINIC_UNANSWERED_PATH``): the message text with
e-mail addresses and phone numbers masked, the date, and what the assistant did. Messages that
disclosed a health condition are never stored (their text would be health data).
"""

import datetime
import logging
import os
import re
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import List, Optional, Tuple

logger = logging.getLogger(__name__)

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_PATH = PROJECT_DIR / "var" / "unanswered.db"
MAX_STORED_CHARS = 500
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")
PHONE = re.compile(r"\+?\d[\d\s().-]{6,}\d")

SCHEMA = """
CREATE TABLE IF NOT EXISTS unanswered (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    text TEXT NOT NULL,
    outcome TEXT NOT NULL,
    intent TEXT,
    handled INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS unanswered_created ON unanswered (created_at);
"""


def db_path() -> Path:
    """Where the unanswered questions are kept."""
    return Path(os.environ.get("CLINIC_UNANSWERED_PATH", DEFAULT_PATH))


def connect(path: Optional[Path] = None) -> sqlite3.Connection:
    """Open (and create if needed) the database."""
    path = Path(path or db_path())
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, timeout=10)
    connection.executescript(SCHEMA)
    return connection


def scrub(text: str) -> str:
    """The message without contact details, cut to a sane length."""
    text = EMAIL.sub("[email]", text)
    text = PHONE.sub("[phone]", text)
    return " ".join(text.split())[:MAX_STORED_CHARS]


def record(text: str, outcome: str, intent: Optional[str], path: Optional[Path] = None) -> None:
    """Store one unanswered message; a storage problem is logged, never shown to the visitor."""
    cleaned = scrub(text or "")
    if not cleaned:
        return
    try:
        with closing(connect(path)) as connection, connection:
            connection.execute(
                "INSERT INTO unanswered (created_at, text, outcome, intent) VALUES (?, ?, ?, ?)",
                (datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                 cleaned, outcome, intent))
    except sqlite3.Error as error:
        logger.error("Could not record an unanswered question in %s: %s", path or db_path(), error)


def entries(since: Optional[datetime.date] = None, include_handled: bool = False,
            path: Optional[Path] = None) -> List[Tuple]:
    """Rows (id, created_at, text, outcome, intent, handled), oldest first."""
    query = "SELECT id, created_at, text, outcome, intent, handled FROM unanswered WHERE 1=1"
    params: list = []
    if since:
        query += " AND created_at >= ?"
        params.append(since.isoformat())
    if not include_handled:
        query += " AND handled = 0"
    with closing(connect(path)) as connection:
        return list(connection.execute(query + " ORDER BY id", params))


def mark_handled(ids: List[int], path: Optional[Path] = None) -> int:
    """Mark entries as handled (they leave the report); returns how many changed."""
    with closing(connect(path)) as connection, connection:
        cursor = connection.executemany("UPDATE unanswered SET handled = 1 WHERE id = ?",
                                        [(i,) for i in ids])
        return cursor.rowcount

"""All the content the assistant answers with, loaded and checked together: ``Content``.

:func:`load_content` reads every file of ``data/content/`` but ``email.yml`` (its own
:mod:`clinic_content.email`) with that file's loader, checks what spans files (the intents
answers name, the conditions a "safe" answer must name, the answers hinges name) and reports
every problem as ``file:line: what is wrong, how to fix it``. ``ContentStore`` re-reads the
files when they change on disk (``clinic_common.file_watch``), and keeps serving the last good
content when an edit is broken (the error is logged, and ``make check`` shows it).
"""

import datetime
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Set

from clinic_common.file_watch import ValueFromFiles
from clinic_content.answerability import parse_answerability
from clinic_content.answers import Answer, check_safety_claims, parse_answers
from clinic_content.booking import Booking, parse_booking
from clinic_content.contact import Contact, parse_contact
from clinic_content.contraindications import ContraindicationRules
from clinic_content.contraindications_check import parse_contraindications
from clinic_content.errors import ContentError, ContentLoadError
from clinic_content.fields import read_file
from clinic_content.messages import Messages, parse_messages
from clinic_content.paths import (
    ANSWERABILITY_FILE,
    ANSWERS_FILE,
    BOOKING_FILE,
    CONTACT_FILE,
    CONTENT_DIR,
    CONTRAINDICATIONS_FILE,
    DOMAIN_FILE,
    MESSAGES_FILE,
)
from clinic_content.placeholders import render
from clinic_content.yaml_lines import load_yaml_file

logger = logging.getLogger(__name__)

CONTENT_FILES = (
    ANSWERS_FILE,
    MESSAGES_FILE,
    CONTACT_FILE,
    CONTRAINDICATIONS_FILE,
    BOOKING_FILE,
    ANSWERABILITY_FILE,
)


@dataclass
class Content:
    """Everything the action server says, as loaded from ``data/content/``."""

    answers: Dict[str, Answer]
    answer_for_intent: Dict[str, Answer]
    contact: Contact
    messages: Messages
    contraindications: ContraindicationRules
    booking: Booking = field(default_factory=Booking)
    answerability: Dict[str, Any] = field(default_factory=dict)
    warnings: List[str] = field(default_factory=list)

    def message(self, key: str, **values: Any) -> str:
        """A fixed message from ``messages.yml`` with its ``{placeholders}`` filled in."""
        text = self.messages[key]
        return render(text, values, where=(MESSAGES_FILE, key)) if isinstance(text, str) else text


def load_content(
    content_dir: Path = CONTENT_DIR,
    known_intents: Optional[Set[str]] = None,
    today: Optional[datetime.date] = None,
) -> Content:
    """Load and check every content file; raise ``ContentLoadError`` listing all problems."""
    content_dir = Path(content_dir)
    errors: List[ContentError] = []
    answers, warnings = read_file(
        content_dir / ANSWERS_FILE,
        lambda data, path, found: parse_answers(data, path, known_intents, found, today),
        errors,
    ) or ({}, [])
    messages = read_file(
        content_dir / MESSAGES_FILE,
        lambda data, path, found: parse_messages(data, path, known_intents, found),
        errors,
    )
    contact = read_file(content_dir / CONTACT_FILE, parse_contact, errors)
    rules = read_file(content_dir / CONTRAINDICATIONS_FILE, parse_contraindications, errors)
    booking = read_file(content_dir / BOOKING_FILE, parse_booking, errors)
    check_safety_claims(answers, rules, content_dir / ANSWERS_FILE, errors)
    answerability = read_file(
        content_dir / ANSWERABILITY_FILE,
        lambda data, path, found: parse_answerability(data, path, set(answers), found),
        errors,
    )
    if (
        errors
        or messages is None
        or contact is None
        or rules is None
        or booking is None
        or answerability is None
    ):
        raise ContentLoadError(errors)
    by_intent = {intent: answer for answer in answers.values() for intent in answer.intents}
    return Content(
        answers=answers,
        answer_for_intent=by_intent,
        contact=contact,
        messages=messages,
        contraindications=rules,
        booking=booking,
        answerability=answerability,
        warnings=warnings,
    )


class ContentStore:
    """The current content, loaded again when a content file changes (clinic_common.file_watch).

    A broken edit keeps the last good content in use; ``last_error`` says what is wrong until a
    corrected version loads. Before any version has loaded, :meth:`get` raises the error.
    """

    def __init__(
        self, content_dir: Path = CONTENT_DIR, known_intents: Optional[Set[str]] = None
    ) -> None:
        self.content_dir = Path(content_dir)
        self.known_intents = known_intents
        self._content: ValueFromFiles[Content] = ValueFromFiles(
            [self.content_dir / name for name in CONTENT_FILES],
            lambda: load_content(self.content_dir, self.known_intents),
            errors=(ContentLoadError,),
        )

    @property
    def last_error(self) -> Optional[str]:
        """Every problem of the current files, one per line; ``None`` when they loaded."""
        error = self._content.last_error
        return None if error is None else str(error)

    def get(self) -> Content:
        """The content to answer with: fresh if the files changed and are valid, else the last
        good."""
        reload = self._content.refresh()
        if reload and reload.fixed:
            logger.info("Content fixed and reloaded from %s", self.content_dir)
        elif reload and reload.error and self._content.loaded:
            logger.error(
                "Content edit not applied, still serving the last good version:\n%s", reload.error
            )
        return self._content.value


def domain_intents(domain_file: Path = DOMAIN_FILE) -> Set[str]:
    """The intent names declared in ``domain.yml`` (what the NLU can predict)."""
    data = load_yaml_file(domain_file) or {}
    names: Set[str] = set()
    for item in data.get("intents") or []:
        names.add(next(iter(item)) if isinstance(item, dict) else str(item))
    return names


_store: Optional[ContentStore] = None
_store_lock = threading.Lock()


def get_store() -> ContentStore:
    """The process-wide content store (the action server's, the website channel's reply
    guard's), created on first use (not at import), checking answers against ``domain.yml``."""
    global _store
    if _store is None:
        with _store_lock:
            if _store is None:
                _store = ContentStore(CONTENT_DIR, domain_intents())
    return _store

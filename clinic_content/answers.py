"""``answers.yml``: every answer to a visitor's question (``Answer``), and its checks."""

import datetime
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Set, Tuple

from clinic_content.contraindications import KIND_ARTICLE, ContraindicationRules
from clinic_content.errors import ContentError
from clinic_content.fields import FieldSpec, check_fields, check_links, key_line, suggest

ANSWER_KINDS = ("article", "unknown", "medical", "conversation")
ANSWER_FIELDS: FieldSpec = {
    "id": ((str,), True),
    "intents": ((list,), True),
    "kind": ((str,), True),
    "source": ((str,), True),
    "review_by": ((datetime.date, str), False),
    "text": ((str,), True),
    "buttons": ((list,), False),
}
BUTTON_FIELDS: FieldSpec = {"title": ((str,), True), "payload": ((str,), True)}


@dataclass(frozen=True)
class Button:
    """A quick-reply button: what it shows and the message it sends."""

    title: str
    payload: str


@dataclass(frozen=True)
class Answer:
    """One answer entry of ``answers.yml``."""

    id: str
    intents: Tuple[str, ...]
    kind: str
    source: str
    text: str
    buttons: Tuple[Button, ...] = ()
    review_by: Optional[datetime.date] = None
    line: int = 0


def _parse_date(value: Any) -> Optional[datetime.date]:
    if isinstance(value, datetime.datetime):  # "2027-06-01 10:00" is read as a timestamp
        return value.date()
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value))
    except ValueError:
        return None


def parse_answers(
    data: Any,
    path: Path,
    known_intents: Optional[Set[str]],
    errors: List[ContentError],
    today: Optional[datetime.date] = None,
) -> Tuple[Dict[str, Answer], List[str]]:
    """Turn ``answers.yml`` into ``Answer`` objects, collecting every problem."""
    warnings: List[str] = []
    if not isinstance(data, dict) or not isinstance(data.get("answers"), list):
        errors.append(
            ContentError(
                path,
                1,
                "the file must start with 'answers:' followed by a"
                " list of answers (lines starting with '- id:')",
            )
        )
        return {}, warnings
    for key in data:
        if key != "answers":
            errors.append(
                ContentError(path, key_line(data, key), f"unknown top-level field '{key}'")
            )
    answers: Dict[str, Answer] = {}
    seen_intents: Dict[str, str] = {}
    today = today or datetime.date.today()
    for position, entry in enumerate(data["answers"], start=1):
        what = f"answer number {position}"
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            what = f"answer '{entry['id']}'"
        if not check_fields(entry, ANSWER_FIELDS, path, what, errors, key_line(data, "answers")):
            continue
        line = entry.line
        answer_id = entry["id"]
        if not re.fullmatch(r"[a-z][a-z0-9_]*", answer_id):
            errors.append(
                ContentError(
                    path,
                    entry.key_line("id"),
                    f"the id '{answer_id}' should be lowercase letters, digits and underscores",
                )
            )
        if answer_id in answers:
            errors.append(
                ContentError(
                    path,
                    entry.key_line("id"),
                    f"the id '{answer_id}' is used twice (first at line {answers[answer_id].line})",
                )
            )
            continue
        if entry["kind"] not in ANSWER_KINDS:
            errors.append(
                ContentError(
                    path,
                    entry.key_line("kind"),
                    f"'kind' of {what} must be one"
                    f" of {', '.join(ANSWER_KINDS)}.{suggest(entry['kind'], ANSWER_KINDS)}",
                )
            )
        intents = entry["intents"]
        if not intents or not all(isinstance(i, str) for i in intents):
            errors.append(
                ContentError(
                    path,
                    entry.key_line("intents"),
                    f"'intents' of {what} should list at least one intent name",
                )
            )
            intents = [i for i in intents if isinstance(i, str)]
        for intent in intents:
            if known_intents is not None and intent not in known_intents:
                errors.append(
                    ContentError(
                        path,
                        entry.key_line("intents"),
                        f"{what} answers the intent '{intent}', which"
                        f" no training data defines, so no question reaches "
                        f"it.{suggest(intent, known_intents)}",
                    )
                )
            if intent in seen_intents:
                errors.append(
                    ContentError(
                        path,
                        entry.key_line("intents"),
                        f"the intent '{intent}'"
                        f" is answered twice: by '{seen_intents[intent]}' and by '{answer_id}'",
                    )
                )
            seen_intents.setdefault(intent, answer_id)
        buttons = []
        for button in entry.get("buttons") or []:
            if not check_fields(button, BUTTON_FIELDS, path, f"a button of {what}", errors, line):
                continue
            payload = button["payload"]
            target = payload[1:].split("{")[0] if payload.startswith("/") else None
            if target is None:
                errors.append(
                    ContentError(
                        path,
                        button.line,
                        f"the button '{button['title']}' of"
                        f" {what} needs a payload like '/ask_price'",
                    )
                )
            elif known_intents is not None and target not in known_intents:
                errors.append(
                    ContentError(
                        path,
                        button.line,
                        f"the button '{button['title']}' of"
                        f" {what} leads to '{payload}', which is not an intent."
                        f"{suggest(target, known_intents)}",
                    )
                )
            buttons.append(Button(title=button["title"], payload=payload))
        check_links(entry["text"], path, entry.key_line("text"), what, errors)
        review_by = None
        if entry.get("review_by") is not None:
            review_by = _parse_date(entry["review_by"])
            if review_by is None:
                errors.append(
                    ContentError(
                        path,
                        entry.key_line("review_by"),
                        f"'review_by' of {what} should be a date like 2027-06-01",
                    )
                )
            elif review_by < today:
                warnings.append(
                    ContentError(
                        path,
                        entry.key_line("review_by"),
                        f"{what} was due for review on {review_by}: re-read it"
                        " and set a new 'review_by' date",
                    ).describe()
                )
        answers[answer_id] = Answer(
            id=answer_id,
            intents=tuple(intents),
            kind=entry["kind"],
            source=entry["source"],
            text=entry["text"].strip(),
            buttons=tuple(buttons),
            review_by=review_by,
            line=line,
        )
    return answers, warnings


SAFE_WORD = re.compile(r"\bsafe(?:ly)?\b", re.IGNORECASE)
# An answer that calls the treatment safe must name at least this many of the article's
# contraindications in the same text ("safe, but not suitable with ...").
MIN_CONDITIONS_NAMED_WITH_SAFE = 3


def condition_words(label: str) -> str:
    """ "an implanted electrical device" -> "implanted electrical device";
    "thrombosis (blood clots)" -> "thrombosis"."""
    words = re.sub(r"\(.*?\)", "", str(label)).strip().lower()
    return re.sub(r"^(?:a|an|the)\s+", "", words)


def check_safety_claims(
    answers: Dict[str, Answer],
    rules: Optional[ContraindicationRules],
    path: Path,
    errors: List[ContentError],
) -> None:
    """No answer may say the treatment is safe without naming who must not have it."""
    if rules is None:
        return  # contraindications.yml is broken: reported there
    labels = [condition_words(rule.label) for rule in rules.conditions if rule.kind == KIND_ARTICLE]
    if not labels:
        return
    for answer in answers.values():
        if not SAFE_WORD.search(answer.text):
            continue
        lowered = " ".join(answer.text.lower().split())
        named = [label for label in labels if label and label in lowered]
        if len(named) < MIN_CONDITIONS_NAMED_WITH_SAFE:
            errors.append(
                ContentError(
                    path,
                    answer.line,
                    f"answer '{answer.id}' calls the treatment safe without naming"
                    " who must not have it: add the article's conditions in the same text (for"
                    f" example: not suitable with {', '.join(labels[:4])}...), or remove 'safe'",
                )
            )

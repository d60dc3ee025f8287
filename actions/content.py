"""Loads and checks the staff-editable content in ``data/content/``.

Everything the assistant says lives in YAML there; this module turns the files into a
``Content`` object, and reports every problem as ``file:line: what is wrong, how to fix it``.
``ContentStore`` re-reads the files when they change on disk (``clinic_common.file_watch``), and
keeps serving the last good content when an edit is broken (the error is logged, and
``make check`` shows it).
"""

import datetime
import difflib
import logging
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Set, Tuple

from actions.placeholder_check import file_problems
from actions.placeholders import render
from actions.yaml_lines import LineDict, YamlFileError, load_yaml_file
from clinic_common.file_watch import ValueFromFiles

logger = logging.getLogger(__name__)

PROJECT_DIR = Path(__file__).resolve().parent.parent
CONTENT_DIR = Path(os.environ.get("CLINIC_CONTENT_DIR", PROJECT_DIR / "data" / "content"))

ANSWERS_FILE = "answers.yml"
CONTACT_FILE = "contact.yml"
MESSAGES_FILE = "messages.yml"
CONTRAINDICATIONS_FILE = "contraindications.yml"
SERVICES_FILE = "booking.yml"
ANSWERABILITY_FILE = "answerability.yml"
CONTENT_FILES = (ANSWERS_FILE, MESSAGES_FILE, CONTACT_FILE, CONTRAINDICATIONS_FILE, SERVICES_FILE,
                 ANSWERABILITY_FILE)

ANSWER_KINDS = ("article", "unknown", "medical", "conversation")
LINK_PATTERN = re.compile(r"\b(?:https?://|mailto:|tel:)[^\s)>\]]*", re.IGNORECASE)
VALID_LINK = re.compile(
    r"^(https?://[A-Za-z0-9.-]+\.[A-Za-z]{2,}(:\d+)?(/[^\s]*)?|mailto:[^@\s]+@[^@\s]+\.[A-Za-z]{2,}|tel:\+?[0-9 ()-]{5,})$",
    re.IGNORECASE,
)

# Field specs: name -> (accepted Python types, required?). Unknown fields are errors, because
# a typo such as 'txet' would otherwise be ignored silently.
ANSWER_FIELDS = {
    "id": ((str,), True),
    "intents": ((list,), True),
    "kind": ((str,), True),
    "source": ((str,), True),
    "review_by": ((datetime.date, str), False),
    "text": ((str,), True),
    "buttons": ((list,), False),
}
BUTTON_FIELDS = {"title": ((str,), True), "payload": ((str,), True)}


class ContentError(ValueError):
    """One problem in one content file."""

    def __init__(self, path: Path, line: Optional[int], message: str, column: Optional[int] = None):
        self.path = Path(path)
        self.line = line
        self.column = column
        self.message = message
        super().__init__(self.describe())

    def describe(self) -> str:
        """``data/content/answers.yml:42: 'text' is missing for answer 'history'``."""
        try:
            shown = self.path.resolve().relative_to(PROJECT_DIR)
        except ValueError:
            shown = self.path
        where = f"{shown}:{self.line}" if self.line else f"{shown}"
        if self.line and self.column:
            where += f":{self.column}"
        return f"{where}: {self.message}"


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


@dataclass
class Content:
    """Everything the action server says, as loaded from ``data/content/``."""

    answers: Dict[str, Answer]
    answer_for_intent: Dict[str, Answer]
    contact: Dict[str, Any]
    messages: Dict[str, Any]
    contraindications: Dict[str, Any]
    services: Dict[str, Any] = field(default_factory=dict)
    answerability: Dict[str, Any] = field(default_factory=dict)
    warnings: List[str] = field(default_factory=list)

    def message(self, key: str, **values: Any) -> str:
        """A fixed message from ``messages.yml`` with its ``{placeholders}`` filled in."""
        text = self.messages[key]
        return render(text, values, where=(MESSAGES_FILE, key)) if isinstance(text, str) else text


def _suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f" Did you mean '{close[0]}'?" if close else ""


def _type_names(types: Sequence[type]) -> str:
    names = {str: "text", list: "a list", dict: "a block of fields", datetime.date: "a date",
             bool: "true/false", int: "a number"}
    return " or ".join(names.get(t, t.__name__) for t in types)


def check_fields(
    mapping: Any, spec: Dict[str, Tuple[Tuple[type, ...], bool]], path: Path, what: str,
    errors: List[ContentError], parent_line: Optional[int] = None,
) -> bool:
    """Check one mapping against a field spec; append errors. Returns False if unusable."""
    if not isinstance(mapping, dict):
        errors.append(ContentError(path, parent_line, f"{what} should be a block of fields"
                                   " ('name: value' lines)"))
        return False
    line = getattr(mapping, "line", parent_line)
    usable = True
    for name in mapping:
        if name not in spec:
            errors.append(ContentError(
                path, mapping.key_line(name) if isinstance(mapping, LineDict) else line,
                f"unknown field '{name}' in {what}.{_suggest(name, spec)}"
                f" Allowed fields: {', '.join(spec)}."))
    for name, (types, required) in spec.items():
        if name not in mapping or mapping[name] is None:
            if required:
                errors.append(ContentError(path, line, f"'{name}' is missing for {what}"))
                usable = False
            continue
        if not isinstance(mapping[name], types):
            errors.append(ContentError(
                path, mapping.key_line(name) if isinstance(mapping, LineDict) else line,
                f"'{name}' of {what} should be {_type_names(types)}"))
            usable = False
        elif isinstance(mapping[name], str) and not mapping[name].strip() and required:
            errors.append(ContentError(path, mapping.key_line(name), f"'{name}' of {what} is empty"))
            usable = False
    return usable


def check_links(text: str, path: Path, line: int, what: str, errors: List[ContentError]) -> None:
    """Every link written in a text must be a well-formed http(s), mailto or tel link."""
    for match in LINK_PATTERN.finditer(text):
        link = match.group(0).rstrip(".,;:!?")
        if not VALID_LINK.match(link):
            errors.append(ContentError(path, line, f"the link '{link}' in {what} looks broken"))


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
    data: Any, path: Path, known_intents: Optional[Set[str]], errors: List[ContentError],
    today: Optional[datetime.date] = None,
) -> Tuple[Dict[str, Answer], List[str]]:
    """Turn ``answers.yml`` into ``Answer`` objects, collecting every problem."""
    warnings: List[str] = []
    if not isinstance(data, dict) or not isinstance(data.get("answers"), list):
        errors.append(ContentError(path, 1, "the file must start with 'answers:' followed by a"
                                   " list of answers (lines starting with '- id:')"))
        return {}, warnings
    for key in data:
        if key != "answers":
            errors.append(ContentError(path, data.key_line(key), f"unknown top-level field '{key}'"))
    answers: Dict[str, Answer] = {}
    seen_intents: Dict[str, str] = {}
    today = today or datetime.date.today()
    for position, entry in enumerate(data["answers"], start=1):
        what = f"answer number {position}"
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            what = f"answer '{entry['id']}'"
        if not check_fields(entry, ANSWER_FIELDS, path, what, errors, data.key_line("answers")):
            continue
        line = entry.line
        answer_id = entry["id"]
        if not re.fullmatch(r"[a-z][a-z0-9_]*", answer_id):
            errors.append(ContentError(path, entry.key_line("id"), f"the id '{answer_id}' should be"
                                       " lowercase letters, digits and underscores"))
        if answer_id in answers:
            errors.append(ContentError(path, entry.key_line("id"), f"the id '{answer_id}' is used"
                                       f" twice (first at line {answers[answer_id].line})"))
            continue
        if entry["kind"] not in ANSWER_KINDS:
            errors.append(ContentError(path, entry.key_line("kind"), f"'kind' of {what} must be one"
                                       f" of {', '.join(ANSWER_KINDS)}.{_suggest(entry['kind'], ANSWER_KINDS)}"))
        intents = entry["intents"]
        if not intents or not all(isinstance(i, str) for i in intents):
            errors.append(ContentError(path, entry.key_line("intents"), f"'intents' of {what}"
                                       " should list at least one intent name"))
            intents = [i for i in intents if isinstance(i, str)]
        for intent in intents:
            if known_intents is not None and intent not in known_intents:
                errors.append(ContentError(
                    path, entry.key_line("intents"), f"{what} answers the intent '{intent}', which"
                    f" no training data defines, so no question reaches it.{_suggest(intent, known_intents)}"))
            if intent in seen_intents:
                errors.append(ContentError(path, entry.key_line("intents"), f"the intent '{intent}'"
                                           f" is answered twice: by '{seen_intents[intent]}' and by '{answer_id}'"))
            seen_intents.setdefault(intent, answer_id)
        buttons = []
        for button in entry.get("buttons") or []:
            if not check_fields(button, BUTTON_FIELDS, path, f"a button of {what}", errors, line):
                continue
            payload = button["payload"]
            target = payload[1:].split("{")[0] if payload.startswith("/") else None
            if target is None:
                errors.append(ContentError(path, button.line, f"the button '{button['title']}' of"
                                           f" {what} needs a payload like '/ask_price'"))
            elif known_intents is not None and target not in known_intents:
                errors.append(ContentError(path, button.line, f"the button '{button['title']}' of"
                                           f" {what} leads to '{payload}', which is not an intent."
                                           f"{_suggest(target, known_intents)}"))
            buttons.append(Button(title=button["title"], payload=payload))
        check_links(entry["text"], path, entry.key_line("text"), what, errors)
        review_by = None
        if entry.get("review_by") is not None:
            review_by = _parse_date(entry["review_by"])
            if review_by is None:
                errors.append(ContentError(path, entry.key_line("review_by"), f"'review_by' of {what}"
                                           " should be a date like 2027-06-01"))
            elif review_by < today:
                warnings.append(ContentError(path, entry.key_line("review_by"),
                                             f"{what} was due for review on {review_by}: re-read it"
                                             " and set a new 'review_by' date").describe())
        answers[answer_id] = Answer(
            id=answer_id, intents=tuple(intents), kind=entry["kind"], source=entry["source"],
            text=entry["text"].strip(), buttons=tuple(buttons), review_by=review_by, line=line)
    return answers, warnings


def _require_keys(data: Any, path: Path, keys: Iterable[str], errors: List[ContentError],
                  what: str) -> None:
    if not isinstance(data, dict):
        errors.append(ContentError(path, 1, f"{what} should be a block of 'name: value' lines"))
        return
    for key in keys:
        if key not in data or data[key] in (None, ""):
            errors.append(ContentError(path, getattr(data, "line", 1), f"'{key}' is missing in {what}"))


def _entries(data: Dict[str, Any], key: str, path: Path, errors: List[ContentError],
             what: str) -> List[Any]:
    """The list under ``key``; anything else is reported (a number or text is not a list)."""
    value = data.get(key)
    if value in (None, ""):
        return []  # reported as missing by _require_keys
    if not isinstance(value, list):
        errors.append(ContentError(path, data.key_line(key), f"'{key}' should be {what}"))
        return []
    return value


MESSAGE_KEYS = ("offer_person", "fallback_did_you_mean", "fallback_second_miss",
                "talk_to_person_button", "anything_else", "safety_reminder",
                "contact_phone", "contact_email",
                "fallback_nothing_matched", "too_long", "rate_limited", "error_try_again",
                "topic_titles", "other_language", "follow_up_noted", "follow_up_noted_no_contact",
                "no_words", "not_covered",
                "not_covered_age", "treat_it_unknown")


def parse_messages(data: Any, path: Path, known_intents: Optional[Set[str]],
                   errors: List[ContentError]) -> Dict[str, Any]:
    """Check ``messages.yml``: every fixed message present, placeholders intact."""
    _require_keys(data, path, MESSAGE_KEYS, errors, "messages.yml")
    if not isinstance(data, dict):
        return {}
    for key, value in data.items():
        if key == "other_language":
            if not isinstance(value, dict) or not isinstance(value.get("in_english"), str):
                errors.append(ContentError(path, data.key_line(key), "'other_language' should"
                                           " list notices by language code, with 'in_english'"))
            continue
        if key == "topic_titles":
            if not isinstance(value, dict):
                errors.append(ContentError(path, data.key_line(key), "'topic_titles' should map"
                                           " intent names to short button titles"))
                continue
            for intent in value:
                if known_intents is not None and intent not in known_intents:
                    errors.append(ContentError(path, value.key_line(intent), f"'topic_titles' names"
                                               f" '{intent}', which is not an intent.{_suggest(intent, known_intents)}"))
        elif not isinstance(value, (str, dict, list)):
            errors.append(ContentError(path, data.key_line(key), f"the message '{key}' should be text"))
        elif isinstance(value, str):
            check_links(value, path, data.key_line(key), f"the message '{key}'", errors)
    return dict(data)  # placeholders: check_placeholders


def parse_contact(data: Any, path: Path, errors: List[ContentError]) -> Dict[str, Any]:
    """Check ``contact.yml``: clinic name and hand-off settings; links well-formed."""
    _require_keys(data, path, ("clinic", "handoff"), errors, "contact.yml")
    if not isinstance(data, dict):
        return {}
    clinic = data.get("clinic") or {}
    _require_keys(clinic, path, ("name",), errors, "'clinic' in contact.yml")
    if isinstance(clinic, dict):
        for key in ("email", "website", "booking_url_template"):
            # Never str() a list or block here: a YAML alias bomb would take minutes.
            if clinic.get(key) and not isinstance(clinic[key], str):
                errors.append(ContentError(path, clinic.key_line(key), f"'{key}' in contact.yml"
                                           " should be text"))
        email = clinic.get("email")
        if isinstance(email, str) and email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}", email):
            errors.append(ContentError(path, clinic.key_line("email"), f"the email '{email}' does not look right"))
        website = clinic.get("website")
        if isinstance(website, str) and website and not VALID_LINK.match(website):
            errors.append(ContentError(path, clinic.key_line("website"), f"the website '{website}'"
                                       " should start with https://"))
        template = clinic.get("booking_url_template")
        if isinstance(template, str) and template and not template.startswith(("https://", "http://")):
            errors.append(ContentError(path, clinic.key_line("booking_url_template"),
                                       "'booking_url_template' should start with https://"))
    return dict(data)


def parse_contraindications(data: Any, path: Path, errors: List[ContentError]) -> Dict[str, Any]:
    """Check the parts of ``contraindications.yml`` the action server uses (the replies).

    The matching terms are checked by the NLU component's own loader
    (``clinic_nlu.condition_detector``), which ``make check`` also runs.
    """
    _require_keys(data, path, ("conditions", "uncovered", "urgent", "reassurance_phrases"),
                  errors, "contraindications.yml")
    if not isinstance(data, dict):
        return {}
    seen: Set[str] = set()
    for entry in _entries(data, "conditions", path, errors, "a list of conditions ('- id:' blocks)"):
        if not isinstance(entry, dict):
            errors.append(ContentError(path, getattr(data, "line", 1), "each condition should be"
                                       " a block starting with '- id:'"))
            continue
        condition_id = entry.get("id")
        if condition_id is not None and not isinstance(condition_id, str):
            errors.append(ContentError(path, entry.key_line("id"), "a condition id should be"
                                       " text, e.g. 'id: epilepsy'"))
            condition_id = None
        _require_keys(entry, path, ("id", "label", "reply"), errors,
                      f"condition '{condition_id or '?'}'")
        if condition_id is not None and condition_id in seen:
            errors.append(ContentError(path, entry.key_line("id"), f"the condition id"
                                       f" '{condition_id}' is used twice"))
        seen.add(condition_id)
    return dict(data)


PROMPT_KEYS = ("booking_intro", "booking_intro_consultation", "booking_intro_after_reaction", "ask_service", "service_not_understood", "ask_name",
               "name_not_understood", "ask_contact", "contact_not_understood",
               "ask_preferred_time", "preferred_time_not_understood", "ask_screening",
               "ask_screening_group", "screening_not_understood", "ask_confirm", "ask_confirm_consultation",
               "confirm_what_to_change", "confirm_not_understood", "field_service", "field_name",
               "field_contact", "field_time", "field_people", "changed", "noted",
               "booking_received",
               "group_note", "booking_link", "consultation_received", "handoff_intro",
               "ask_topic", "topic_not_understood", "handoff_next_steps", "handoff_needs_details",
               "handoff_received", "change_received", "condition_noted", "your_reference", "request_status", "reply_time_unknown", "cancelled", "not_saved")
SERVICE_FIELDS = {"id": ((str,), True), "title": ((str,), True), "words": ((list,), False)}


def parse_booking(data: Any, path: Path, errors: List[ContentError]) -> Dict[str, Any]:
    """Check ``booking.yml``: services (unique ids), every prompt, the screening buttons."""
    _require_keys(data, path, ("services", "prompts", "screening_buttons", "confirm_buttons"),
                  errors, "booking.yml")
    if not isinstance(data, dict):
        return {}
    seen: Dict[str, int] = {}
    for entry in _entries(data, "services", path, errors, "a list of services ('- id:' blocks)"):
        what = (f"service '{entry['id']}'" if isinstance(entry, dict) and isinstance(entry.get("id"), str)
                else "a service")
        if not check_fields(entry, SERVICE_FIELDS, path, what, errors, data.key_line("services")):
            continue
        if entry["id"] in seen:
            errors.append(ContentError(path, entry.key_line("id"), f"the service id '{entry['id']}'"
                                       f" is used twice (first at line {seen[entry['id']]})"))
        seen.setdefault(entry["id"], entry.line)
    prompts = data.get("prompts")
    if isinstance(prompts, dict):
        for key in PROMPT_KEYS:
            if not prompts.get(key):
                errors.append(ContentError(path, prompts.line, f"the prompt '{key}' is missing"))
        for key in prompts:
            if key not in PROMPT_KEYS:
                errors.append(ContentError(path, prompts.key_line(key), f"unknown prompt '{key}'."
                                           f"{_suggest(key, PROMPT_KEYS)}"))
    for section, keys in (("screening_buttons", ("none", "applies", "not_sure")),
                          ("confirm_buttons", ("send", "change"))):
        buttons = data.get(section)
        if isinstance(buttons, dict):
            for key in keys:
                if not buttons.get(key):
                    errors.append(ContentError(path, buttons.line, f"the button '{key}' is missing"
                                               f" under '{section}'"))
    return dict(data)


SAFE_WORD = re.compile(r"\bsafe(?:ly)?\b", re.IGNORECASE)
# An answer that calls the treatment safe must name at least this many of the article's
# contraindications in the same text ("safe, but not suitable with ...").
MIN_CONDITIONS_NAMED_WITH_SAFE = 3


def _condition_words(label: str) -> str:
    """ "an implanted electrical device" -> "implanted electrical device";
    "thrombosis (blood clots)" -> "thrombosis"."""
    words = re.sub(r"\(.*?\)", "", str(label)).strip().lower()
    return re.sub(r"^(?:a|an|the)\s+", "", words)


def check_safety_claims(answers: Dict[str, Answer], rules: Dict[str, Any], path: Path,
                        errors: List[ContentError]) -> None:
    """No answer may say the treatment is safe without naming who must not have it."""
    conditions = rules.get("conditions") if isinstance(rules, dict) else None
    if not isinstance(conditions, list):
        return  # reported by parse_contraindications
    labels = [_condition_words(c.get("label", "")) for c in conditions if isinstance(c, dict)]
    if not labels:
        return
    for answer in answers.values():
        if not SAFE_WORD.search(answer.text):
            continue
        lowered = " ".join(answer.text.lower().split())
        named = [label for label in labels if label and label in lowered]
        if len(named) < MIN_CONDITIONS_NAMED_WITH_SAFE:
            errors.append(ContentError(
                path, answer.line, f"answer '{answer.id}' calls the treatment safe without naming"
                " who must not have it: add the article's conditions in the same text (for"
                f" example: not suitable with {', '.join(labels[:4])}...), or remove 'safe'"))


HINGE_FIELDS = {"id": ((str,), True), "label": ((str,), True), "words": ((list,), True),
                "covered_by": ((list,), False), "except_with": ((list,), False),
                "reply": ((str,), False)}


def parse_answerability(data: Any, path: Path, answer_ids: Set[str],
                        errors: List[ContentError]) -> Dict[str, Any]:
    """Check ``answerability.yml``: hinges with words, known answer ids, a sane age range."""
    _require_keys(data, path, ("hinges",), errors, "answerability.yml")
    if not isinstance(data, dict):
        return {}
    for position, hinge in enumerate(_entries(data, "hinges", path, errors,
                                              "a list of hinges ('- id:' blocks)"), start=1):
        what = f"hinge '{hinge.get('id')}'" if isinstance(hinge, dict) else f"hinge {position}"
        if not check_fields(hinge, HINGE_FIELDS, path, what, errors, data.key_line("hinges")):
            continue
        for word in hinge["words"]:
            if not isinstance(word, str) or not word.strip():
                errors.append(ContentError(path, hinge.key_line("words"), f"every word of {what}"
                                           " should be text in double quotes"))
        for answer_id in hinge.get("covered_by") or []:
            if answer_id not in answer_ids:
                errors.append(ContentError(path, hinge.key_line("covered_by"), f"{what} names"
                                           f" the answer '{answer_id}', which answers.yml does not"
                                           f" have.{_suggest(answer_id, answer_ids)}"))
    _check_topic_words(data, path, answer_ids, errors)
    ages = data.get("ages")
    if ages is not None:
        if (not isinstance(ages, dict) or not isinstance(ages.get("min"), int)
                or not isinstance(ages.get("max"), int) or ages["min"] >= ages["max"]):
            errors.append(ContentError(path, data.key_line("ages"), "'ages' needs a whole-number"
                                       " 'min' below its 'max' (e.g. min: 20, max: 60)"))
    return dict(data)


def _check_topic_words(data: Any, path: Path, answer_ids: Set[str],
                       errors: List[ContentError]) -> None:
    """``topic_words``: answer ids of answers.yml, each with a list of words in quotes."""
    topic_words = data.get("topic_words")
    if topic_words is None:
        return
    line = data.key_line("topic_words")
    if not isinstance(topic_words, dict):
        errors.append(ContentError(path, line, "'topic_words' should list answer ids, each with"
                                   ' its words in brackets (safety: ["safe", "risk"])'))
        return
    for answer_id, words in topic_words.items():
        if answer_ids and answer_id not in answer_ids:  # (none: answers.yml's own error says so)
            errors.append(ContentError(path, topic_words.key_line(answer_id) or line,
                                       f"topic_words names the answer '{answer_id}', which"
                                       f" answers.yml does not have.{_suggest(answer_id, answer_ids)}"))
        if (not isinstance(words, list) or not words
                or not all(isinstance(w, str) and w.strip() for w in words)):
            errors.append(ContentError(path, topic_words.key_line(answer_id) or line,
                                       f"the topic words of '{answer_id}' should be a list of"
                                       " words in double quotes"))


class ContentStore:
    """The current content, loaded again when a content file changes (clinic_common.file_watch).

    A broken edit keeps the last good content in use; ``last_error`` says what is wrong until a
    corrected version loads. Before any version has loaded, :meth:`get` raises the error.
    """

    def __init__(self, content_dir: Path = CONTENT_DIR,
                 known_intents: Optional[Set[str]] = None) -> None:
        self.content_dir = Path(content_dir)
        self.known_intents = known_intents
        self._content: ValueFromFiles[Content] = ValueFromFiles(
            [self.content_dir / name for name in CONTENT_FILES],
            lambda: load_content(self.content_dir, self.known_intents),
            errors=(ContentLoadError,))

    @property
    def last_error(self) -> Optional[str]:
        """Every problem of the current files, one per line; ``None`` when they loaded."""
        error = self._content.last_error
        return None if error is None else str(error)

    def get(self) -> Content:
        """The content to answer with: fresh if the files changed and are valid, else the last good."""
        reload = self._content.refresh()
        if reload and reload.fixed:
            logger.info("Content fixed and reloaded from %s", self.content_dir)
        elif reload and reload.error and self._content.loaded:
            logger.error("Content edit not applied, still serving the last good"
                         " version:\n%s", reload.error)
        return self._content.value


class ContentLoadError(ValueError):
    """All the problems found while loading the content, one per line."""

    def __init__(self, errors: List[ContentError]):
        self.errors = errors
        super().__init__("\n".join(error.describe() for error in errors))


def check_placeholders(data: Any, path: Path, errors: List[ContentError]) -> None:
    """Placeholders each text may / must use, and stray curly brackets (actions.placeholder_check)."""
    for line, problem in file_problems(data, path.name):
        errors.append(ContentError(path, line, problem))


def read_yaml(path: Path, errors: List[ContentError], optional: bool = False) -> Any:
    """Load one YAML file, turning syntax errors into ``ContentError``s."""
    if optional and not path.exists():
        return None
    try:
        return load_yaml_file(path)
    except YamlFileError as error:
        errors.append(ContentError(error.path, error.line, error.problem, error.column))
        return None


def load_content(content_dir: Path = CONTENT_DIR, known_intents: Optional[Set[str]] = None,
                 today: Optional[datetime.date] = None) -> Content:
    """Load and check every content file; raise ``ContentLoadError`` listing all problems."""
    content_dir = Path(content_dir)
    errors: List[ContentError] = []
    data: Dict[str, Any] = {}
    for name in CONTENT_FILES:
        data[name] = read_yaml(content_dir / name, errors)
        check_placeholders(data[name], content_dir / name, errors)
    answers_path = content_dir / ANSWERS_FILE
    answers, warnings = parse_answers(data[ANSWERS_FILE], answers_path, known_intents, errors, today)
    messages = parse_messages(data[MESSAGES_FILE], content_dir / MESSAGES_FILE, known_intents, errors)
    contact = parse_contact(data[CONTACT_FILE], content_dir / CONTACT_FILE, errors)
    rules = parse_contraindications(data[CONTRAINDICATIONS_FILE],
                                    content_dir / CONTRAINDICATIONS_FILE, errors)
    services = parse_booking(data[SERVICES_FILE], content_dir / SERVICES_FILE, errors)
    check_safety_claims(answers, rules, answers_path, errors)
    answerability = parse_answerability(data[ANSWERABILITY_FILE], content_dir / ANSWERABILITY_FILE,
                                        set(answers), errors)
    if errors:
        raise ContentLoadError(errors)
    by_intent = {intent: answer for answer in answers.values() for intent in answer.intents}
    return Content(answers=answers, answer_for_intent=by_intent, contact=contact,
                   messages=messages, contraindications=rules, services=services,
                   answerability=answerability, warnings=warnings)


DOMAIN_FILE = PROJECT_DIR / "domain.yml"
_store: Optional[ContentStore] = None
_store_lock = threading.Lock()


def domain_intents(domain_file: Path = DOMAIN_FILE) -> Set[str]:
    """The intent names declared in ``domain.yml`` (what the NLU can predict)."""
    data = load_yaml_file(domain_file) or {}
    names: Set[str] = set()
    for item in data.get("intents") or []:
        names.add(next(iter(item)) if isinstance(item, dict) else str(item))
    return names


def get_store() -> ContentStore:
    """The process-wide content store, created on first use (not at import)."""
    global _store
    if _store is None:
        with _store_lock:
            if _store is None:
                _store = ContentStore(CONTENT_DIR, domain_intents())
    return _store

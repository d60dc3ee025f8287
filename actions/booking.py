"""Pure helpers for booking and hand-off: services, contact checks, dates, links, transcripts."""

import datetime
import logging
import re
from typing import Any, Dict, List, Optional
from urllib.parse import quote

from actions.visitor_text import plain_text
from clinic_content.booking import Service
from clinic_content.paths import BOOKING_FILE, CONTACT_FILE
from clinic_content.placeholders import render
from clinic_content.store import Content

logger = logging.getLogger(__name__)

EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
PHONE_CHARS = re.compile(r"\+?[\d\s().-]{7,}")
MAX_NAME_CHARS = 80
TRANSCRIPT_TURNS = 10
SCREENING_ANSWERS = ("none", "applies", "not_sure")
# The booking and hand-off forms' fields, in the order they are asked (domain.yml's forms list
# the same slots; tests/unit/test_domain_consistency.py checks they agree).
BOOKING_FIELDS = (
    "booking_service",
    "visitor_name",
    "contact",
    "preferred_time",
    "screening",
    "booking_confirmed",
)
HANDOFF_FIELDS = ("handoff_topic", "visitor_name", "contact")
NOT_SURE = re.compile(
    r"\b(not sure|unsure|don'?t know|no idea|maybe|possibly|perhaps|might|idk|"
    r"not certain|can'?t remember|no clue)\b"
)
NONE_APPLY = re.compile(
    r"(no|nope|nah|none|nothing|neither|negative|not really|not me|"
    r"not any|no none|none of (them|these|those)|no they don'?t|n/?a)\b.*"
)
SOME_APPLY = re.compile(
    r"(yes|yeah|yep|yup|ya|one does|i do|some do|one of them|one of those|"
    r"one of these|a few|one applies|some apply|affirmative|unfortunately)\b.*"
)
HEALTH_ENTITIES = ("condition", "uncovered_condition", "urgent_symptom", "after_treatment")
PARTS_OF_DAY = {"morning": "10:00", "afternoon": "15:00", "evening": "18:00", "lunchtime": "12:30"}


def services(content: Content) -> List[Service]:
    """The bookable services from booking.yml."""
    return list(content.booking.services)


def prompt(content: Content, key: str, **values: Any) -> str:
    """A booking / hand-off prompt with its placeholders filled."""
    return render(content.booking.prompts[key], values, where=(BOOKING_FILE, f"prompts.{key}"))


def match_service(content: Content, text: str) -> Optional[Service]:
    """The service a visitor's answer names (id, title or one of its words), if any."""
    lowered = " ".join(str(text or "").lower().replace("/", " ").split())
    if not lowered:
        return None
    for service in services(content):
        if lowered in (service.id, service.title.lower()):
            return service
    best = None
    best_length = 0
    for service in services(content):
        for word in [service.title.lower(), *[w.lower() for w in service.words]]:
            # the longest match wins ("forever young" over "young")
            if len(word) > best_length and re.search(
                r"(?<![a-z0-9])" + re.escape(word) + r"(?![a-z0-9])", lowered
            ):
                best, best_length = service, len(word)
    return best


def services_named(content: Content, text: str) -> List[Service]:
    """Every service the text names by its title or one of its words."""
    lowered = " ".join(str(text or "").lower().replace("/", " ").split())
    return [
        service
        for service in services(content)
        if any(
            re.search(r"(?<![a-z0-9])" + re.escape(word) + r"(?![a-z0-9])", lowered)
            for word in [service.title.lower(), *[w.lower() for w in service.words]]
        )
    ]


def normalise_contact(text: str) -> Optional[str]:
    """An email address or phone number from the visitor's answer, or None."""
    text = str(text or "").strip()
    email = EMAIL.search(text)
    phone = None
    for candidate in PHONE_CHARS.findall(EMAIL.sub(" ", text)):
        digits = re.sub(r"\D", "", candidate)
        if 7 <= len(digits) <= 15:
            phone = candidate.strip()
            break
    if email and phone:
        return f"{email.group(0)} or {phone}"  # both given: the clinic may use either
    return email.group(0) if email else phone


def normalise_name(text: str) -> Optional[str]:
    """A plausible name: some letters, not too long, no email/phone in it."""
    cleaned = " ".join(str(text or "").split())
    for prefix in ("my name is ", "i am ", "i'm ", "im ", "it's ", "its ", "this is ", "name: "):
        if cleaned.lower().startswith(prefix):
            cleaned = cleaned[len(prefix) :]
    cleaned = cleaned.strip(" .,!")
    if not cleaned or len(cleaned) > MAX_NAME_CHARS or not re.search(r"[^\W\d_]", cleaned):
        return None
    if EMAIL.search(cleaned) or re.search(r"\d{3,}", cleaned):
        return None
    return cleaned


MONTH_OR_WEEKDAY = re.compile(
    r"\b(jan(uary)?|feb(ruary)?|mar(ch)?|apr(il)?|may|june?|july?|aug(ust)?|sep(t(ember)?)?|"
    r"oct(ober)?|nov(ember)?|dec(ember)?|mon|tue|wed|thu|fri|sat|sun)(day|s)?\b",
    re.IGNORECASE,
)


def is_flexible_time(content: Content, text: str) -> bool:
    """A time wish without a date ("asap", "whenever", "sometime in March"): booking.yml
    ``flexible_times``, or a month or weekday name that dateparser could not place."""
    lowered = " ".join(str(text or "").lower().split())
    if MONTH_OR_WEEKDAY.search(lowered) and not re.search(r"\bmay (i|we|you|be)\b", lowered):
        return True
    words = [w.lower() for w in content.booking.flexible_times]
    return any(re.search(rf"(?<!\w){re.escape(w)}(?!\w)", lowered) for w in words)


def parse_preferred_time(text: str, now: Optional[datetime.datetime] = None) -> Optional[str]:
    """The visitor's preferred time as an ISO date/time when dateparser can read it."""
    import dateparser  # imported here: it is slow to import and only needed in booking

    settings = {"PREFER_DATES_FROM": "future", "RETURN_AS_TIMEZONE_AWARE": False}
    if now:
        settings["RELATIVE_BASE"] = now
    cleaned = re.sub(
        r"\b(next|this|on|at|in the|around|please|any)\b", " ", str(text or ""), flags=re.IGNORECASE
    )
    # dateparser does not read parts of the day; turn them into a representative hour.
    with_hours = cleaned
    for part, hour in PARTS_OF_DAY.items():
        with_hours = re.sub(rf"\b{part}s?\b", hour, with_hours, flags=re.IGNORECASE)
    for candidate in (text, cleaned, with_hours):
        try:
            parsed = dateparser.parse(str(candidate), languages=["en"], settings=settings)
        except Exception:  # dateparser raises assorted errors on odd input
            logger.debug("dateparser failed on %r", candidate, exc_info=True)
            parsed = None
        if parsed:
            return parsed.isoformat(timespec="minutes")
    return None


def screening_answer(text: str, intent: Optional[str], content: Content) -> Optional[str]:
    """'none', 'applies' or 'not_sure' from the visitor's words (buttons: actions.form_reading)."""
    lowered = " ".join(str(text or "").lower().replace("\u2019", "'").split()).strip("/ .!")
    labels = content.booking.screening_buttons
    for key in SCREENING_ANSWERS:
        if lowered in (key, key.replace("_", " "), str(labels.get(key, "")).lower().strip(" .!")):
            return key
    if NOT_SURE.search(lowered):
        return "not_sure"
    if intent == "deny" or NONE_APPLY.fullmatch(lowered):
        return "none"
    if intent in ("affirm", "inform_condition") or SOME_APPLY.fullmatch(lowered):
        return "applies"
    return None


def booking_link(content: Content, service: str, name: str, contact: str) -> Optional[str]:
    """The clinic's online booking link, prefilled, when staff configured a template."""
    template = (content.contact.get("clinic") or {}).get("booking_url_template")
    if not template:
        return None
    values = {"service": quote(service), "name": quote(name), "contact": quote(contact)}
    return render(template, values, where=(CONTACT_FILE, "clinic.booking_url_template"))


def reply_time(content: Content) -> str:
    """When staff will answer, from contact.yml (or the neutral default prompt)."""
    configured = (content.contact.get("handoff") or {}).get("reply_time")
    return str(configured) if configured else prompt(content, "reply_time_unknown")


def transcript(events: List[Dict[str, Any]], turns: int = TRANSCRIPT_TURNS) -> List[Dict[str, str]]:
    """The last turns of the conversation; a message that disclosed a condition is replaced by
    its categories, so no free-text health details leave the assistant."""
    lines: List[Dict[str, str]] = []
    for event in events:
        if event.get("event") == "user":
            entities = (event.get("parse_data") or {}).get("entities") or []
            health = sorted(
                {str(e.get("value")) for e in entities if e.get("entity") in HEALTH_ENTITIES}
            )
            text = (
                f"[health condition mentioned: {', '.join(health)}]"
                if health
                else plain_text(event.get("text"))
            )
            lines.append({"sender": "user", "text": text[:500]})
        elif event.get("event") == "bot" and event.get("text"):
            lines.append({"sender": "bot", "text": plain_text(event["text"])[:500]})
    return lines[-turns:]


def shown_value(content: Content, slot: str, value: Any) -> str:
    """A field's value as the visitor sees it (a service's title, not its id)."""
    if slot == "booking_service":
        service = content.booking.service(value)
        return service.title if service else str(value)
    return str(value)


def summary(content: Content, slots: Dict[str, Any]) -> str:
    """ "4-D Facial (single session) for Tom Reed, Friday at 11am; reply to tom@example.com"."""
    parts = []
    for slot, key in (
        ("booking_service", "field_service"),
        ("visitor_name", "field_name"),
        ("contact", "field_contact"),
        ("preferred_time", "field_time"),
    ):
        if slots.get(slot):
            parts.append(f"{prompt(content, key)}: {shown_value(content, slot, slots[slot])}")
    people = int(slots.get("party_size") or 1)
    if people > 1:
        parts.append(prompt(content, "field_people", people=people))
    return "; ".join(parts)


def prompt_values(content: Content) -> Dict[str, str]:
    """Values for the notes said before a question is asked again (and ``booking_intro``): the
    hand-off reply time and the clinic's contacts (declared in clinic_content.placeholder_names)."""
    clinic = content.contact.get("clinic") or {}
    return {
        "reply_time": reply_time(content),
        "phone": str(clinic.get("phone") or ""),
        "clinic": str(clinic.get("name") or ""),
    }


def handoff_intro(content: Content) -> str:
    """What happens when a visitor asks for a person (said when the hand-off starts)."""
    return prompt(content, "handoff_intro", reply_time=reply_time(content))

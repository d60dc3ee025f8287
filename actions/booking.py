"""Pure helpers for booking and hand-off: services, contact checks, dates, links, transcripts."""

import datetime
import logging
import re
from typing import Any, Dict, List, Optional
from urllib.parse import quote

from actions.content import Content

logger = logging.getLogger(__name__)

EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
PHONE_CHARS = re.compile(r"\+?[\d\s().-]{7,}")
MAX_NAME_CHARS = 80
TRANSCRIPT_TURNS = 10
SCREENING_ANSWERS = ("none", "applies", "not_sure")
PARTS_OF_DAY = {"morning": "10:00", "afternoon": "15:00", "evening": "18:00", "lunchtime": "12:30"}


def services(content: Content) -> List[Dict[str, Any]]:
    """The bookable services from booking.yml."""
    return list(content.services.get("services") or [])


def prompt(content: Content, key: str, **values: Any) -> str:
    """A booking / hand-off prompt with its placeholders filled."""
    text = content.services["prompts"][key]
    return text.format(**values) if values else text


def match_service(content: Content, text: str) -> Optional[Dict[str, Any]]:
    """The service a visitor's answer names (id, title or one of its words), if any."""
    lowered = " ".join(str(text or "").lower().replace("/", " ").split())
    if not lowered:
        return None
    for service in services(content):
        if lowered in (service["id"], service["title"].lower()):
            return service
    best = None
    best_length = 0
    for service in services(content):
        for word in [service["title"].lower(), *[str(w).lower() for w in service.get("words") or []]]:
            if re.search(r"(?<![a-z0-9])" + re.escape(word) + r"(?![a-z0-9])", lowered):
                if len(word) > best_length:  # the longest match wins ("forever young" over "young")
                    best, best_length = service, len(word)
    return best


def normalise_contact(text: str) -> Optional[str]:
    """An email address or phone number from the visitor's answer, or None."""
    text = str(text or "").strip()
    email = EMAIL.search(text)
    if email:
        return email.group(0)
    for candidate in PHONE_CHARS.findall(text):
        digits = re.sub(r"\D", "", candidate)
        if 7 <= len(digits) <= 15:
            return candidate.strip()
    return None


def normalise_name(text: str) -> Optional[str]:
    """A plausible name: some letters, not too long, no email/phone in it."""
    cleaned = " ".join(str(text or "").split())
    for prefix in ("my name is ", "i am ", "i'm ", "im ", "it's ", "its ", "this is ", "name: "):
        if cleaned.lower().startswith(prefix):
            cleaned = cleaned[len(prefix):]
    cleaned = cleaned.strip(" .,!")
    if not cleaned or len(cleaned) > MAX_NAME_CHARS or not re.search(r"[^\W\d_]", cleaned):
        return None
    if EMAIL.search(cleaned) or re.search(r"\d{3,}", cleaned):
        return None
    return cleaned


def parse_preferred_time(text: str, now: Optional[datetime.datetime] = None) -> Optional[str]:
    """The visitor's preferred time as an ISO date/time when dateparser can read it."""
    import dateparser  # imported here: it is slow to import and only needed in booking

    settings = {"PREFER_DATES_FROM": "future", "RETURN_AS_TIMEZONE_AWARE": False}
    if now:
        settings["RELATIVE_BASE"] = now
    cleaned = re.sub(r"\b(next|this|on|at|in the|around|please|any)\b", " ", str(text or ""),
                     flags=re.IGNORECASE)
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
    """'none', 'applies' or 'not_sure' from a button or typed answer."""
    lowered = " ".join(str(text or "").lower().split()).strip("/ .!")
    labels = content.services.get("screening_buttons") or {}
    for key in SCREENING_ANSWERS:
        if lowered in (key, key.replace("_", " "), str(labels.get(key, "")).lower().strip(" .!")):
            return key
    if re.search(r"\b(not sure|unsure|don't know|dont know|maybe|no idea|possibly)\b", lowered):
        return "not_sure"
    if intent == "deny" or re.fullmatch(r"(no|nope|none|nah|no none|none of them|no they don't)\b.*", lowered):
        return "none"
    if intent in ("affirm", "inform_condition") or re.fullmatch(r"(yes|yeah|yep|one does|i do)\b.*", lowered):
        return "applies"
    return None


def booking_link(content: Content, service: str, name: str, contact: str) -> Optional[str]:
    """The clinic's online booking link, prefilled, when staff configured a template."""
    template = (content.contact.get("clinic") or {}).get("booking_url_template")
    if not template:
        return None
    return template.format(service=quote(service), name=quote(name), contact=quote(contact))


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
            health = sorted({str(e.get("value")) for e in entities if e.get("entity") in
                             ("condition", "uncovered_condition", "urgent_symptom")})
            text = (f"[health condition mentioned: {', '.join(health)}]" if health
                    else str(event.get("text") or ""))
            lines.append({"sender": "user", "text": text[:500]})
        elif event.get("event") == "bot" and event.get("text"):
            lines.append({"sender": "bot", "text": str(event["text"])[:500]})
    return lines[-turns:]

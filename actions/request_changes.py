"""A change asked for after a request was sent ("can you make it Friday instead?").

The request already sent stays as it is; the change goes to the clinic as a hand-off request of
reason ``change_request`` that names the earlier request's reference, with the visitor's words
(plain text, health details only as categories) and the name and contact already given.
"""

import logging
import re
from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import booking, form_reading, safety
from actions.answers import OutgoingMessage
from actions.form_endings import health_free, last_request, submit_or_say_not_saved
from actions.name_reading import name_in_sentence
from actions.replying import answer_latest, earlier_disclosure, send_guarded
from actions.visitor_text import is_payload, plain_text
from clinic_content.store import Content

logger = logging.getLogger(__name__)

# Questions about a topic are answered, even right after a request ("how much is it?").
NOT_A_CHANGE_INTENTS = {"greet", "goodbye", "thank", "bot_challenge", "book", "request_human"}


REFERENCE_QUESTION = re.compile(r"\b(?:reference|ref)\b(?:\s+(?:number|no|code))?", re.IGNORECASE)


def asks_for_reference(tracker: Tracker) -> bool:
    """ "What was my reference number again?" after a request was sent."""
    text = str((tracker.latest_message or {}).get("text") or "")
    return bool(
        last_request(tracker)
        and REFERENCE_QUESTION.search(text)
        and form_reading.looks_like_question(text)
        or (last_request(tracker) and re.search(r"\bmy (?:reference|ref)\b", text, re.I))
    )


def say_reference(
    dispatcher: CollectingDispatcher, tracker: Tracker, content: Content
) -> List[Dict[str, Any]]:
    """The reference of the request this conversation sent last."""
    earlier = last_request(tracker) or {}
    send_guarded(
        dispatcher,
        tracker,
        content,
        [
            OutgoingMessage(
                booking.prompt(content, "your_reference", reference=earlier.get("reference", ""))
            )
        ],
    )
    return []


# "Was it sent?", "did my booking go through?", "is my appointment still on?", "when will they
# call me?": a question about the request just sent, never a change to it.
STATUS_QUESTION = re.compile(
    r"\b(?:was it|has it|did it|did (?:my|the) \w+|is it|is (?:my|the) \w+(?: \w+)?)\b.*"
    r"\b(?:sent|through|received|booked|confirmed|still on|arrived)\b"
    r"|\b(?:go|went|gone|get|got) through\b"
    r"|\bwhen (?:will|would|do|does|can|should) (?:they|you|someone|somebody|the clinic|i)\b.*"
    r"\b(?:call|contact|hear|reply|text|email|e-mail|get back|reach|confirm)"
    r"|\bhow (?:long|soon)\b.*\b(?:call|contact|hear|reply|get back|reach|confirm)",
    re.IGNORECASE,
)


def asks_status(tracker: Tracker) -> bool:
    """A question about whether the request sent in this conversation arrived, or when the
    clinic will be in touch."""
    text = str((tracker.latest_message or {}).get("text") or "")
    return bool(
        last_request(tracker)
        and STATUS_QUESTION.search(text)
        and (form_reading.looks_like_question(text) or "?" in text)
    )


def say_status(
    dispatcher: CollectingDispatcher, tracker: Tracker, content: Content
) -> List[Dict[str, Any]]:
    """It was stored and will be delivered (nothing is lost), and who will be in touch, when."""
    earlier = last_request(tracker) or {}
    contact = plain_text(tracker.get_slot("contact") or "") or "-"
    send_guarded(
        dispatcher,
        tracker,
        content,
        [
            OutgoingMessage(
                booking.prompt(
                    content,
                    "request_status",
                    reference=earlier.get("reference", ""),
                    contact=contact,
                    reply_time=booking.reply_time(content),
                )
            )
        ],
    )
    return []


def is_change(tracker: Tracker) -> bool:
    """True when the latest message changes (or cancels) the request this conversation sent."""
    if not last_request(tracker):
        return False
    latest = tracker.latest_message or {}
    text = str(latest.get("text") or "")
    intent = (latest.get("intent") or {}).get("name")
    if is_payload(text):
        return False
    if intent == "cancel" or form_reading.STOP_PATTERNS.search(booking.EMAIL.sub(" ", text)):
        return True  # "actually cancel it, I changed my mind"
    if intent in NOT_A_CHANGE_INTENTS:
        return False
    entities = latest.get("entities") or []
    new_value = (
        form_reading.entity_value(entities, "day")
        or booking.normalise_contact(text)
        or name_in_sentence(text)
    )
    return bool(
        new_value and (form_reading.CORRECTION_CUES.search(text) or intent == "change_appointment")
    )


def discloses_after_request(tracker: Tracker) -> bool:
    """A condition of the visitor's own told after this conversation sent a request ("oh wait,
    I just found out I'm pregnant"): the clinic must hear of it before the appointment."""
    if not last_request(tracker) or is_payload(
        str((tracker.latest_message or {}).get("text") or "")
    ):
        return False
    latest = safety.disclosure_from_entities((tracker.latest_message or {}).get("entities") or [])
    earlier = earlier_disclosure(tracker)
    new = set(latest.conditions + latest.uncovered) - set(earlier.conditions + earlier.uncovered)
    return bool(new) and latest.subject != "other"


def send_change(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    content: Content,
    prompt_key: str = "change_received",
) -> Optional[List[Dict[str, Any]]]:
    """Store and confirm the change (or the condition told late: ``condition_noted``); None when
    the visitor's contact is not known."""
    earlier = last_request(tracker)
    name = tracker.get_slot("visitor_name")
    contact = tracker.get_slot("contact")
    if not earlier or not name or not contact:
        return None
    latest = tracker.latest_message or {}
    disclosure = safety.merge(
        earlier_disclosure(tracker), safety.disclosure_from_entities(latest.get("entities") or [])
    )
    payload = {
        "name": plain_text(name),
        "contact": plain_text(contact),
        "reason": "change_request",
        "amends": earlier["reference"],
        "topic": health_free(latest.get("text"), latest.get("entities") or []),
        "conditions": [*disclosure.conditions, *disclosure.uncovered],
        "transcript": booking.transcript(tracker.events),
    }
    request = submit_or_say_not_saved(
        dispatcher, tracker, content, "handoff", payload, "change", "a change request"
    )
    if request is None:
        return []
    text = booking.prompt(
        content,
        prompt_key,
        reference=request.id[:8],
        earlier=earlier["reference"],
        contact=payload["contact"],
        reply_time=booking.reply_time(content),
    )
    send_guarded(dispatcher, tracker, content, [OutgoingMessage(text)])
    return [SlotSet("last_request", f"handoff:{request.id[:8]}")]


def about_the_request(
    dispatcher: CollectingDispatcher, tracker: Tracker, content: Content
) -> Optional[List[Dict[str, Any]]]:
    """When the latest message is about the request this conversation sent -- whether it
    arrived, its reference, a change to it -- the reply's events; else None (also for a change
    while the visitor's contact is not known)."""
    if asks_status(tracker):
        return say_status(dispatcher, tracker, content)
    if asks_for_reference(tracker):
        return say_reference(dispatcher, tracker, content)
    if discloses_after_request(tracker):
        # the condition's reply, then the clinic told at once (never only the visitor)
        events = answer_latest(dispatcher, tracker, content)
        return [*events, *(send_change(dispatcher, tracker, content, "condition_noted") or [])]
    if is_change(tracker):
        return send_change(dispatcher, tracker, content)
    return None

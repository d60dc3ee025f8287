"""A note for staff when a visitor reports a reaction after a treatment (or urgent symptoms
after one): a hand-off request of reason ``follow_up`` in the outbox, with the symptom
categories only (never the visitor's words about their health), and the name and contact if
the visitor gave them earlier. Storing it never holds up the advice, which is said first.
"""

import logging
from typing import List

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import booking
from actions.visitor_text import plain_text
from clinic_content.store import Content
from clinic_requests.submit import submit_request, turn_request_id

logger = logging.getLogger(__name__)


def note_for_staff(
    dispatcher: CollectingDispatcher, tracker: Tracker, content: Content, symptoms: List[str]
) -> None:
    """Store the follow-up note and tell the visitor its reference (or log why not)."""
    disclosed = [
        *(tracker.get_slot("conditions") or []),
        *(tracker.get_slot("uncovered_conditions") or []),
    ]
    payload = {
        "name": plain_text(tracker.get_slot("visitor_name")) or None,
        "contact": plain_text(tracker.get_slot("contact")) or None,
        "reason": "follow_up",
        "topic": f"[reaction after a treatment: {', '.join(symptoms)}]",
        "conditions": list(dict.fromkeys([*symptoms, *disclosed])),
        "transcript": booking.transcript(tracker.events),
    }
    try:
        request = submit_request(
            "handoff", payload, turn_request_id(tracker.sender_id, tracker.events, "follow_up")
        )
    except Exception:  # the advice was already given; the note is logged for the developer
        logger.exception("Could not store a follow-up note for staff")
        return
    if payload["contact"]:
        text = content.message(
            "follow_up_noted", reference=request.id[:8], contact=payload["contact"]
        )
    else:
        text = content.message("follow_up_noted_no_contact", reference=request.id[:8])
    dispatcher.utter_message(
        text=text,
        buttons=[]
        if payload["contact"]
        else [{"title": content.message("talk_to_person_button"), "payload": "/request_human"}],
    )

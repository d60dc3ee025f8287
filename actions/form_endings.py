"""How the booking and hand-off forms end: the request stored and confirmed, or the form left.

Every request is committed to the outbox before the visitor is told it was received; what is
stored is plain text (markup removed) and health details only as condition categories.
"""

import logging
from typing import Any, Dict, List, Optional, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import booking, form_reading
from actions.answers import OutgoingMessage
from actions.replying import booking_request_kind, earlier_disclosure, send_guarded
from actions.visitor_text import plain_text
from clinic_content.store import Content, get_store
from clinic_requests.outbox_schema import OutboxRequest
from clinic_requests.submit import submit_request, turn_request_id

logger = logging.getLogger(__name__)

# The hand-off's reason, set by the intent that started it (domain.yml: handoff_kind).
HANDOFF_REASONS = ("handoff", "appointment_change", "follow_up", "booking_help", "change_request")
# Reasons that change something already arranged: the request names the earlier one.
CHANGES = ("appointment_change", "change_request")
# The visitor's name and contact are kept after a form: a later request (a change, a hand-off)
# does not ask for them again; the booking summary shows them, so they can still be changed.
KEPT_SLOTS = ("visitor_name", "contact")
FORM_SLOTS = tuple(
    slot
    for slot in dict.fromkeys(
        (
            *booking.BOOKING_FIELDS,
            *booking.HANDOFF_FIELDS,
            "party_size",
            "handoff_kind",
            "reask_note",
        )
    )
    if slot not in KEPT_SLOTS
)


def reset_form_slots(keep: tuple = ()) -> List[Dict[str, Any]]:
    """Forget the form's fields (after a request is stored, or the form is left)."""
    return [SlotSet(slot, None) for slot in FORM_SLOTS if slot not in keep] + [
        SlotSet("requested_slot", None)
    ]


def health_free(text: Optional[str], entities: List[Dict[str, Any]]) -> Optional[str]:
    """Visitor text for a request: plain text, or only the categories if it mentions health."""
    if not text:
        return None
    health = sorted(
        {
            str(e.get("value"))
            for e in entities
            if e.get("entity")
            in ("condition", "uncovered_condition", "urgent_symptom", "after_treatment")
        }
    )
    if health:
        return f"[health condition mentioned: {', '.join(health)}]"
    return plain_text(text)[: form_reading.MAX_TOPIC_CHARS] or None


def submit_or_say_not_saved(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    content: Content,
    kind: str,
    payload: Dict[str, Any],
    turn: str,
    what: str,
) -> Optional[OutboxRequest]:
    """Store a request (once per turn: ``turn`` names the step that stores it); when the
    outbox cannot take it, log it and tell the visitor it was not sent (never silence).

    Returns:
        The stored request, or None after the "not saved" message.
    """
    try:
        return submit_request(
            kind, payload, turn_request_id(tracker.sender_id, tracker.events, turn)
        )
    except Exception:  # the visitor must hear that nothing was sent, never silence
        logger.exception("Could not store %s", what)
        send_guarded(
            dispatcher, tracker, content, [OutgoingMessage(booking.prompt(content, "not_saved"))]
        )
        return None


def topic_entities(tracker: Tracker) -> List[Dict[str, Any]]:
    """The entities of the message that gave the hand-off's topic (for health_free)."""
    topic = tracker.get_slot("handoff_topic")
    for event in reversed(tracker.events):
        if event.get("event") == "user" and plain_text(event.get("text")) == topic:
            return (event.get("parse_data") or {}).get("entities") or []
    return []


class ActionSubmitBooking(Action):
    """Stores the booking (or consultation) request in the outbox, then confirms it."""

    def name(self) -> str:
        return "action_submit_booking"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        content = get_store().get()
        if tracker.get_slot("booking_confirmed") != form_reading.CONFIRM_SEND:
            # The form ended without the visitor's "send it" (it was left): nothing to store.
            return [*reset_form_slots(), FollowupAction("action_listen")]
        disclosure = earlier_disclosure(tracker)
        people = int(tracker.get_slot("party_size") or 1)
        kind = booking_request_kind(tracker)
        service_title = booking.shown_value(
            content, "booking_service", tracker.get_slot("booking_service")
        )
        name = plain_text(tracker.get_slot("visitor_name"))
        contact = plain_text(tracker.get_slot("contact"))
        preferred = plain_text(tracker.get_slot("preferred_time")) or None
        link = (
            booking.booking_link(content, service_title, name, contact)
            if kind == "booking" and people == 1
            else None
        )
        payload = {
            "service": service_title,
            "name": name,
            "contact": contact,
            "preferred_time": preferred,
            "preferred_time_iso": booking.parse_preferred_time(preferred) if preferred else None,
            "conditions": [*disclosure.conditions, *disclosure.uncovered],
            "transcript": booking.transcript(tracker.events),
            "booking_link": link,
            "party_size": people if people > 1 else None,
        }
        request = submit_or_say_not_saved(
            dispatcher, tracker, content, kind, payload, kind, f"a {kind} request"
        )
        if request is None:
            return [SlotSet("requested_slot", None), SlotSet("booking_confirmed", None)]
        reference = request.id[:8]
        if kind == "booking":
            time_part = f" ({preferred})" if preferred else ""
            texts = [
                booking.prompt(
                    content,
                    "booking_received",
                    name=name,
                    service=service_title,
                    reference=reference,
                    contact=contact,
                    time_part=time_part,
                )
            ]
            if people > 1:
                texts.append(booking.prompt(content, "group_note", people=people))
            if link:
                texts.append(booking.prompt(content, "booking_link", link=link))
        else:
            texts = [
                booking.prompt(
                    content,
                    "consultation_received",
                    name=name,
                    reference=reference,
                    contact=contact,
                    reply_time=booking.reply_time(content),
                )
            ]
        send_guarded(dispatcher, tracker, content, [OutgoingMessage(t) for t in texts])
        return [*reset_form_slots(), SlotSet("last_request", f"{kind}:{reference}")]


class ActionSubmitHandoff(Action):
    """Stores the hand-off request (with a short, health-free transcript), then confirms it."""

    def name(self) -> str:
        return "action_submit_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        content = get_store().get()
        name = plain_text(tracker.get_slot("visitor_name"))
        contact = plain_text(tracker.get_slot("contact"))
        if not name or not contact:
            return [*reset_form_slots(), FollowupAction("action_listen")]
        disclosure = earlier_disclosure(tracker)
        reason = tracker.get_slot("handoff_kind")
        reason = reason if reason in HANDOFF_REASONS else "handoff"
        topic = tracker.get_slot("handoff_topic")
        earlier = last_request(tracker)
        people = int(tracker.get_slot("party_size") or 1)
        preferred = plain_text(tracker.get_slot("preferred_time")) or None
        payload = {
            "name": name,
            "contact": contact,
            "reason": reason,
            "topic": None if topic in (None, "-") else health_free(topic, topic_entities(tracker)),
            # what a booking switched to a person had so far
            "service": booking.shown_value(
                content, "booking_service", tracker.get_slot("booking_service")
            )
            if tracker.get_slot("booking_service")
            else None,
            "preferred_time": preferred,
            "party_size": people if people > 1 else None,
            "amends": earlier["reference"] if earlier and reason in CHANGES else None,
            "conditions": [*disclosure.conditions, *disclosure.uncovered],
            "transcript": booking.transcript(tracker.events),
        }
        request = submit_or_say_not_saved(
            dispatcher, tracker, content, "handoff", payload, "handoff", "a hand-off request"
        )
        if request is None:
            return [SlotSet("requested_slot", None)]
        if payload["amends"]:
            text = booking.prompt(
                content,
                "change_received",
                reference=request.id[:8],
                earlier=payload["amends"],
                contact=contact,
                reply_time=booking.reply_time(content),
            )
        else:
            text = booking.prompt(
                content,
                "handoff_received",
                name=name,
                reference=request.id[:8],
                contact=contact,
                reply_time=booking.reply_time(content),
            )
        send_guarded(dispatcher, tracker, content, [OutgoingMessage(text)])
        return [
            *reset_form_slots(),
            SlotSet("person_offered", False),
            SlotSet("last_request", f"handoff:{request.id[:8]}"),
        ]


class ActionCancelForm(Action):
    """Leaves the booking or hand-off form; nothing is sent."""

    def name(self) -> str:
        return "action_cancel_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        content = get_store().get()
        send_guarded(
            dispatcher, tracker, content, [OutgoingMessage(booking.prompt(content, "cancelled"))]
        )
        return [
            ActiveLoop(None),
            *reset_form_slots(),
            SlotSet("person_offered", False),
            FollowupAction("action_listen"),
        ]


class ActionEndFormQuietly(Action):
    """Leaves the booking form without a word (the urgent message was just said)."""

    def name(self) -> str:
        return "action_end_form_quietly"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        return [ActiveLoop(None), *reset_form_slots(), FollowupAction("action_listen")]


class ActionSwitchToHandoff(Action):
    """From booking to a person: the name and contact given so far are kept."""

    def name(self) -> str:
        return "action_switch_to_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        service = tracker.get_slot("booking_service")
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        # The booking's details so far go with the hand-off request (ActionSubmitHandoff); an
        # existing appointment's message is the hand-off's topic (domain.yml: handoff_topic).
        keep: Tuple[str, ...] = ("booking_service", "preferred_time", "party_size")
        if intent == "change_appointment":
            kind, keep = "appointment_change", (*keep, "handoff_topic")
        else:
            kind = "booking_help" if service else "handoff"
        events = [ActiveLoop(None), *reset_form_slots(keep=keep), SlotSet("handoff_kind", kind)]
        return [*events, FollowupAction("handoff_form")]


class ActionSwitchToBooking(Action):
    """From the hand-off to booking ("I don't want a person, I want to book")."""

    def name(self) -> str:
        return "action_switch_to_booking"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        return [ActiveLoop(None), *reset_form_slots(), FollowupAction("booking_form")]


def last_request(tracker: Tracker) -> Optional[Dict[str, str]]:
    """The request this conversation stored last ({"kind", "reference"}), if any."""
    value = tracker.get_slot("last_request")
    if not value or ":" not in str(value):
        return None
    kind, reference = str(value).split(":", 1)
    return {"kind": kind, "reference": reference}

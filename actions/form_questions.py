"""The questions the booking and hand-off forms ask (``action_ask_<slot>``), from booking.yml.

Each question is said once per turn, after whatever the validator said; when the validator
set ``reask_note`` (why the last answer did not fit), that sentence comes first. The message
that started a form gets the form's introduction (what will happen), and answers to any
questions asked in the same message ("is it safe and can I book for Friday?").
"""

import abc
import logging
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import answers, booking, safety
from actions.answers import OutgoingMessage
from actions.forms import REASK_NOTE
from actions.replying import booking_request_kind, earlier_disclosure, send_guarded, turn_state
from actions.respond import QUESTION_PART_ENTITY, message_parts, plan_reply
from clinic_content.store import Content, get_store

logger = logging.getLogger(__name__)

# Intents that start a form; questions asked in the same message are answered before its
# first question ("is it safe and can I book for Friday?").
FORM_STARTING_INTENTS = {"book", "request_human", "change_appointment"}


def started_this_turn(tracker: Tracker) -> bool:
    """True when the form became active after the visitor's latest message."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        if event.get("event") == "active_loop" and event.get("name"):
            return True
    return False


def refused_this_turn(tracker: Tracker) -> bool:
    """True when the form's validator refused to start it after the latest message (Rasa's
    form still asks its first question after the rejection; it must say nothing)."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        if event.get("event") == "active_loop" and event.get("name"):
            return False  # a form (re)started after any rejection: it asks ("...book instead")
        if event.get("event") == "action_execution_rejected":
            return True
    return False


class AskActionBase(Action, abc.ABC):
    """Asks for one form field with the prompt from booking.yml (guarded like every reply)."""

    prompt_key = ""

    @abc.abstractmethod
    def name(self) -> str:
        """``action_ask_<slot>`` (abstract, so the SDK skips this base)."""

    def buttons(self, content: Content, tracker: Tracker) -> List[Dict[str, str]]:
        """Quick replies offered with the question."""
        return []

    def intro(self, content: Content, tracker: Tracker) -> List[str]:
        """Text said before the question when the form has just started."""
        return []

    def question(self, content: Content, tracker: Tracker) -> str:
        """The question itself."""
        return booking.prompt(content, self.prompt_key)

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        content = get_store().get()
        if refused_this_turn(tracker):
            return []
        parts: List[str] = []
        if started_this_turn(tracker):
            send_guarded(dispatcher, tracker, content, answers_before_form(content, tracker))
            parts += self.intro(content, tracker)
        note = tracker.get_slot(REASK_NOTE)
        if note:
            parts.append(booking.prompt(content, note, **booking.prompt_values(content)))
        parts.append(self.question(content, tracker))
        message = OutgoingMessage(" ".join(p for p in parts if p))
        send_guarded(dispatcher, tracker, content, [message])
        buttons = self.buttons(content, tracker)
        if buttons:
            dispatcher.messages[-1]["buttons"] = buttons
        return [SlotSet(REASK_NOTE, None)] if note else []


def answers_before_form(content: Content, tracker: Tracker) -> List[OutgoingMessage]:
    """Answers to the questions asked in the message that started the form, if any.

    Only for a message classified as starting a form that also holds question parts ("is it
    safe and can I book?") and no disclosure (a disclosure is answered by the validator).
    """
    latest = tracker.latest_message or {}
    intent = (latest.get("intent") or {}).get("name")
    entities = latest.get("entities") or []
    if intent not in FORM_STARTING_INTENTS or safety.disclosure_from_entities(entities).any:
        return []
    questions = [
        p for p in message_parts(intent, entities) if p in answers.question_intents(content)
    ]
    if not questions:
        return []
    turn = turn_state(tracker, intent="+".join(questions))
    turn.entities = [e for e in entities if e.get("entity") != QUESTION_PART_ENTITY]
    return plan_reply(content, turn).messages


def handoff_intro(content: Content, tracker: Tracker) -> List[str]:
    """What happens now; after urgent advice, the advice comes first."""
    intro = [booking.handoff_intro(content)]
    if tracker.get_slot("emergency"):
        intro.insert(0, safety.urgent_follow_up(content, "reminder"))
    return intro


def booking_intro(content: Content, tracker: Tracker) -> List[str]:
    """What booking will do: the usual steps, or a consultation when a condition is known."""
    disclosure = earlier_disclosure(tracker)
    if safety.books_as_consultation(disclosure, int(tracker.get_slot("party_size") or 1)):
        labels = [safety.label(content, c) for c in [*disclosure.conditions, *disclosure.uncovered]]
        return [
            booking.prompt(content, "booking_intro_consultation", conditions=" and ".join(labels))
        ]
    if tracker.get_slot("treatment_reactions"):
        # A reaction after an earlier treatment: a person looks at it before the next one.
        return [
            booking.prompt(
                content, "booking_intro_after_reaction", **booking.prompt_values(content)
            )
        ]
    # The same values as when it is said again as a note (placeholder_names: booking_intro).
    return [booking.prompt(content, "booking_intro", **booking.prompt_values(content))]


class ActionAskBookingService(AskActionBase):
    """Asks which service to book, with a button per service."""

    prompt_key = "ask_service"

    def name(self) -> str:
        return "action_ask_booking_service"

    def intro(self, content: Content, tracker: Tracker) -> List[str]:
        return booking_intro(content, tracker)

    def buttons(self, content: Content, tracker: Tracker) -> List[Dict[str, str]]:
        return [{"title": s.title, "payload": s.title} for s in booking.services(content)]


class ActionAskVisitorName(AskActionBase):
    """Asks the visitor's name."""

    prompt_key = "ask_name"

    def name(self) -> str:
        return "action_ask_visitor_name"

    def intro(self, content: Content, tracker: Tracker) -> List[str]:
        if tracker.active_loop_name == "booking_form":
            return booking_intro(content, tracker)
        return handoff_intro(content, tracker)


class ActionAskContact(AskActionBase):
    """Asks for an email address or phone number."""

    prompt_key = "ask_contact"

    def name(self) -> str:
        return "action_ask_contact"

    def intro(self, content: Content, tracker: Tracker) -> List[str]:
        if tracker.active_loop_name == "booking_form":
            return booking_intro(content, tracker)
        return handoff_intro(content, tracker)


class ActionAskPreferredTime(AskActionBase):
    """Asks when the visitor would like to come."""

    prompt_key = "ask_preferred_time"

    def name(self) -> str:
        return "action_ask_preferred_time"

    def intro(self, content: Content, tracker: Tracker) -> List[str]:
        return booking_intro(content, tracker)


class ActionAskScreening(AskActionBase):
    """Asks whether any of the article's conditions apply, with three buttons."""

    prompt_key = "ask_screening"

    def name(self) -> str:
        return "action_ask_screening"

    def question(self, content: Content, tracker: Tracker) -> str:
        people = int(tracker.get_slot("party_size") or 1)
        return booking.prompt(content, "ask_screening_group" if people > 1 else "ask_screening")

    def intro(self, content: Content, tracker: Tracker) -> List[str]:
        return booking_intro(content, tracker)

    def buttons(self, content: Content, tracker: Tracker) -> List[Dict[str, str]]:
        labels = content.booking.screening_buttons
        # "None" and "applies" send the yes/no intents directly, so no wording of the titles
        # can be misread; typed, each title is also understood (actions.form_reading).
        payloads = {"none": "/deny", "applies": "/affirm", "not_sure": labels.get("not_sure", "")}
        return [
            {"title": labels[key], "payload": payloads[key]} for key in booking.SCREENING_ANSWERS
        ]


class ActionAskBookingConfirmed(AskActionBase):
    """Shows what will be sent and asks to send it or change something."""

    prompt_key = "ask_confirm"

    def name(self) -> str:
        return "action_ask_booking_confirmed"

    def question(self, content: Content, tracker: Tracker) -> str:
        # A consultation request says so before it is sent, not only after.
        key = (
            "ask_confirm_consultation"
            if booking_request_kind(tracker) == "consultation"
            else "ask_confirm"
        )
        return booking.prompt(content, key, summary=booking.summary(content, tracker.slots))

    def buttons(self, content: Content, tracker: Tracker) -> List[Dict[str, str]]:
        labels = content.booking.confirm_buttons
        return [
            {"title": labels["send"], "payload": "/affirm"},
            {"title": labels["change"], "payload": "/deny"},
        ]


class ActionAskHandoffTopic(AskActionBase):
    """Asks briefly what the visitor wants to talk to a person about."""

    prompt_key = "ask_topic"

    def name(self) -> str:
        return "action_ask_handoff_topic"

    def intro(self, content: Content, tracker: Tracker) -> List[str]:
        return handoff_intro(content, tracker)

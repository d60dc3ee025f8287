"""Booking and hand-off forms: validators, the questions they ask, submission and cancelling.

Questions asked in the middle of a form are answered here, by the validator, with the same
planner as ``action_answer`` (safety first); the field is then asked again. Doing it in the
validator rather than with one rule per question keeps a misclassified answer (a name that
looks like a question) from leaving the form.
"""

import abc
import logging
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import booking, safety
from actions.answers import OutgoingMessage
from actions.content import Content, get_store
from actions.replying import (answer_latest, disclosure_events, earlier_disclosure, send_guarded,
                              turn_state)
from actions.respond import QUESTION_PART_ENTITY, intent_parts, message_parts, plan_reply
from actions.submit import submit_request, turn_request_id

logger = logging.getLogger(__name__)

BOOKING_SLOTS = ("booking_service", "visitor_name", "contact", "preferred_time", "screening")
HANDOFF_SLOTS = ("visitor_name", "contact")
# A message with one of these intents, confidently predicted and not fitting the field asked
# for, is a question to answer (then the field is asked again).
INTERRUPTING_INTENTS = {
    "ask_what_is", "ask_how_it_works", "ask_history", "ask_results", "ask_experience",
    "ask_vs_surgery", "ask_celebrities", "ask_other_uses", "ask_suitability", "ask_safety",
    "ask_clinic_service", "ask_memberships", "ask_price", "ask_session_length",
    "ask_number_of_sessions", "ask_results_duration", "ask_clinic_logistics", "ask_unknown_other",
    "bot_challenge", "out_of_scope",
}
INTERRUPTION_CONFIDENCE = 0.5
# Intents that start a form; questions asked in the same message are answered before its
# first question ("is it safe and can I book for Friday?").
FORM_STARTING_INTENTS = {"book", "request_human"}


def _latest_intent(tracker: Tracker) -> tuple:
    intent = (tracker.latest_message or {}).get("intent") or {}
    return intent.get("name"), float(intent.get("confidence") or 0.0)


def _text(tracker: Tracker) -> str:
    return str((tracker.latest_message or {}).get("text") or "")


class FormValidatorBase(FormValidationAction):
    """Shared checks for the booking and hand-off forms.

    How to use: subclass, set ``name()``, and write ``validate_<slot>`` methods that call
    ``self.interrupted(...)`` first; it answers questions and disclosures and tells whether the
    message was an answer to the field at all.
    """

    @abc.abstractmethod
    def name(self) -> Text:
        """Each form's validator names itself (abstract, so the SDK skips this base)."""

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[Dict[Text, Any]]:
        """Validates, saying each message once: fields filled from the message that started the
        form ("book a facial on Friday, I'm pregnant") are validated together, and each would
        otherwise repeat the same disclosure reply."""
        before = len(dispatcher.messages)
        events = await super().run(dispatcher, tracker, domain)
        seen, kept = set(), []
        for message in dispatcher.messages[before:]:
            key = (message.get("text"), repr(message.get("buttons")))
            if key not in seen:
                seen.add(key)
                kept.append(message)
        dispatcher.messages[before:] = kept
        return events

    def interrupted(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                    fits_field: bool) -> Tuple[Optional[List[Dict[str, Any]]], Dict[str, Any]]:
        """Answer a question or a disclosure sent instead of the field.

        Returns ``(events, extra_slots)``: ``events`` (the slot events of the answer given) when
        the message was not an answer to the field, else None; ``extra_slots`` remember a
        disclosure made inside a valid answer.
        """
        content = get_store().get()
        turn = turn_state(tracker)
        latest = safety.disclosure_from_entities(turn.entities)
        intent, confidence = _latest_intent(tracker)
        parts = intent_parts(intent)
        question = (bool(parts) and all(p in INTERRUPTING_INTENTS for p in parts)
                    and confidence >= INTERRUPTION_CONFIDENCE and not fits_field)
        if latest.urgent or (latest.any and not fits_field) or question:
            return answer_latest(dispatcher, tracker, content), {}
        if latest.any:
            # A disclosure inside a valid answer ("yes, I'm pregnant"): say the condition's
            # reply and remember it; the answer itself still counts.
            plan = plan_reply(content, turn)
            send_guarded(dispatcher, tracker, content, plan.messages)
            return None, {e["name"]: e["value"] for e in disclosure_events(plan.disclosure)}
        return None, {}

    def rejected(self, slot: str, events: List[Dict[str, Any]]) -> Dict[str, Any]:
        """Reset the field, keeping the slots the interruption set."""
        values = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
        values.pop("person_offered", None)  # inside a form, "yes" must not start a hand-off
        values[slot] = None
        return values

    def re_ask(self, dispatcher: CollectingDispatcher, tracker: Tracker, key: str) -> None:
        """Say why the answer did not fit (the form then asks again)."""
        message = OutgoingMessage(booking.prompt(get_store().get(), key))
        send_guarded(dispatcher, tracker, get_store().get(), [message])

    async def validate_visitor_name(self, slot_value: Any, dispatcher: CollectingDispatcher,
                                    tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        """A name: letters, not an email or phone number."""
        name = booking.normalise_name(slot_value)
        events, extra = self.interrupted(dispatcher, tracker, fits_field=False)
        if events is not None:
            return self.rejected("visitor_name", events)
        if not name:
            self.re_ask(dispatcher, tracker, "name_not_understood")
            return {"visitor_name": None}
        return {"visitor_name": name, **extra}

    async def validate_contact(self, slot_value: Any, dispatcher: CollectingDispatcher,
                               tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        """An email address or a phone number; a clear re-ask otherwise."""
        contact = booking.normalise_contact(slot_value)
        events, extra = self.interrupted(dispatcher, tracker, fits_field=contact is not None)
        if events is not None:
            return self.rejected("contact", events)
        if not contact:
            self.re_ask(dispatcher, tracker, "contact_not_understood")
            return {"contact": None}
        return {"contact": contact, **extra}


class ValidateBookingForm(FormValidatorBase):
    """Checks each booking answer; turns a booking into a consultation when a condition applies."""

    def name(self) -> Text:
        return "validate_booking_form"

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> List[Text]:
        """No health question when the visitor already disclosed a condition."""
        if earlier_disclosure(tracker).any:
            return [slot for slot in domain_slots if slot != "screening"]
        return domain_slots

    async def validate_booking_service(self, slot_value: Any, dispatcher: CollectingDispatcher,
                                       tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        """One of the services in booking.yml."""
        content = get_store().get()
        service = booking.match_service(content, slot_value)
        events, extra = self.interrupted(dispatcher, tracker, fits_field=service is not None)
        if events is not None:
            return self.rejected("booking_service", events)
        if not service:
            self.re_ask(dispatcher, tracker, "service_not_understood")
            return {"booking_service": None}
        return {"booking_service": service["id"], **extra}

    async def validate_preferred_time(self, slot_value: Any, dispatcher: CollectingDispatcher,
                                      tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        """Free text (kept as typed); a date is worked out later where possible."""
        text = " ".join(str(slot_value or "").split())
        fits = bool(booking.parse_preferred_time(text))
        events, extra = self.interrupted(dispatcher, tracker, fits_field=fits)
        if events is not None:
            return self.rejected("preferred_time", events)
        if not text or len(text) > 200:
            self.re_ask(dispatcher, tracker, "preferred_time_not_understood")
            return {"preferred_time": None}
        return {"preferred_time": text, **extra}

    async def validate_screening(self, slot_value: Any, dispatcher: CollectingDispatcher,
                                 tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        """None of these / one applies / not sure (a disclosure counts as 'applies')."""
        content = get_store().get()
        intent, _ = _latest_intent(tracker)
        answer = booking.screening_answer(slot_value, intent, content)
        disclosed = safety.disclosure_from_entities(turn_state(tracker).entities).any
        events, extra = self.interrupted(dispatcher, tracker, fits_field=answer is not None or disclosed)
        if events is not None:
            return self.rejected("screening", events)
        if disclosed:
            answer = "applies"
        if not answer:
            self.re_ask(dispatcher, tracker, "screening_not_understood")
            return {"screening": None}
        return {"screening": answer, **extra}


class ValidateHandoffForm(FormValidatorBase):
    """Checks the name and contact for a hand-off to a person."""

    def name(self) -> Text:
        return "validate_handoff_form"


class AskActionBase(Action, abc.ABC):
    """Asks for one form field with the prompt from booking.yml (guarded like every reply)."""

    prompt_key = ""

    @abc.abstractmethod
    def name(self) -> Text:
        """``action_ask_<slot>`` (abstract, so the SDK skips this base)."""

    def buttons(self, content: Content) -> List[Dict[str, str]]:
        """Quick replies offered with the question."""
        return []

    def intro(self, content: Content, tracker: Tracker) -> List[str]:
        """Text said before the question."""
        return []

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        content = get_store().get()
        send_guarded(dispatcher, tracker, content, answers_before_form(content, tracker))
        text = " ".join([*self.intro(content, tracker), booking.prompt(content, self.prompt_key)])
        message = OutgoingMessage(text)
        send_guarded(dispatcher, tracker, content, [message])
        if self.buttons(content):
            dispatcher.messages[-1]["buttons"] = self.buttons(content)
        return []


def answers_before_form(content: Content, tracker: Tracker) -> List[OutgoingMessage]:
    """Answers to the questions asked in the message that started the form, if any.

    Only for a message classified as ``book`` / ``request_human`` that also holds question
    parts ("is it safe and can I book?") and no disclosure (a disclosure is handled as before).
    """
    latest = tracker.latest_message or {}
    intent = (latest.get("intent") or {}).get("name")
    entities = latest.get("entities") or []
    if intent not in FORM_STARTING_INTENTS or safety.disclosure_from_entities(entities).any:
        return []
    questions = [p for p in message_parts(intent, entities) if p in INTERRUPTING_INTENTS]
    if not questions:
        return []
    turn = turn_state(tracker, intent="+".join(questions))
    turn.entities = [e for e in entities if e.get("entity") != QUESTION_PART_ENTITY]
    return plan_reply(content, turn).messages


class ActionAskBookingService(AskActionBase):
    """Asks which service to book, with a button per service."""

    prompt_key = "ask_service"

    def name(self) -> Text:
        return "action_ask_booking_service"

    def buttons(self, content: Content) -> List[Dict[str, str]]:
        return [{"title": s["title"], "payload": s["title"]} for s in booking.services(content)]


class ActionAskVisitorName(AskActionBase):
    """Asks the visitor's name (introducing the hand-off when that is the form)."""

    prompt_key = "ask_name"

    def name(self) -> Text:
        return "action_ask_visitor_name"

    def intro(self, content: Content, tracker: Tracker) -> List[str]:
        if tracker.active_loop_name == "handoff_form":
            return [booking.prompt(content, "handoff_intro")]
        return []


class ActionAskContact(AskActionBase):
    """Asks for an email address or phone number."""

    prompt_key = "ask_contact"

    def name(self) -> Text:
        return "action_ask_contact"


class ActionAskPreferredTime(AskActionBase):
    """Asks when the visitor would like to come."""

    prompt_key = "ask_preferred_time"

    def name(self) -> Text:
        return "action_ask_preferred_time"


class ActionAskScreening(AskActionBase):
    """Asks whether any of the article's conditions apply, with three buttons."""

    prompt_key = "ask_screening"

    def name(self) -> Text:
        return "action_ask_screening"

    def buttons(self, content: Content) -> List[Dict[str, str]]:
        labels = content.services.get("screening_buttons") or {}
        # "None" and "applies" send the yes/no intents directly, so no wording of the titles
        # can be misread (e.g. "None of these apply" as "cancel"); "not sure" is matched as text.
        payloads = {"none": "/deny", "applies": "/affirm", "not_sure": labels.get("not_sure", "")}
        return [{"title": labels[key], "payload": payloads[key]} for key in booking.SCREENING_ANSWERS]


def _reset(slots: tuple) -> List[Dict[str, Any]]:
    return [SlotSet(slot, None) for slot in slots] + [SlotSet("requested_slot", None)]


class ActionSubmitBooking(Action):
    """Stores the booking (or consultation) request in the outbox, then confirms it."""

    def name(self) -> Text:
        return "action_submit_booking"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        content = get_store().get()
        disclosure = earlier_disclosure(tracker)
        screening = tracker.get_slot("screening")
        kind = "consultation" if disclosure.any or screening in ("applies", "not_sure") else "booking"
        service = next((s for s in booking.services(content)
                        if s["id"] == tracker.get_slot("booking_service")), None)
        service_title = service["title"] if service else str(tracker.get_slot("booking_service"))
        name, contact = tracker.get_slot("visitor_name"), tracker.get_slot("contact")
        preferred = tracker.get_slot("preferred_time")
        link = booking.booking_link(content, service_title, name, contact) if kind == "booking" else None
        payload = {
            "service": service_title, "name": name, "contact": contact,
            "preferred_time": preferred,
            "preferred_time_iso": booking.parse_preferred_time(preferred) if preferred else None,
            "conditions": [*disclosure.conditions, *disclosure.uncovered],
            "transcript": booking.transcript(tracker.events),
            "booking_link": link,
        }
        try:
            request = submit_request(kind, payload,
                                     turn_request_id(tracker.sender_id, tracker.events, kind))
        except Exception:  # the visitor must hear that nothing was sent, never silence
            logger.exception("Could not store a %s request", kind)
            send_guarded(dispatcher, tracker, content,
                         [OutgoingMessage(booking.prompt(content, "not_saved"))])
            return [SlotSet("requested_slot", None)]
        if kind == "booking":
            time_part = f" ({preferred})" if preferred else ""
            texts = [booking.prompt(content, "booking_received", name=name, service=service_title,
                                    reference=request.id[:8], contact=contact, time_part=time_part)]
            if link:
                texts.append(booking.prompt(content, "booking_link", link=link))
        else:
            texts = [booking.prompt(content, "consultation_received", name=name,
                                    reference=request.id[:8], contact=contact,
                                    reply_time=booking.reply_time(content))]
        send_guarded(dispatcher, tracker, content, [OutgoingMessage(t) for t in texts])
        return _reset(BOOKING_SLOTS)


class ActionSubmitHandoff(Action):
    """Stores the hand-off request (with a short, health-free transcript), then confirms it."""

    def name(self) -> Text:
        return "action_submit_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        content = get_store().get()
        disclosure = earlier_disclosure(tracker)
        name, contact = tracker.get_slot("visitor_name"), tracker.get_slot("contact")
        payload = {"name": name, "contact": contact,
                   "conditions": [*disclosure.conditions, *disclosure.uncovered],
                   "transcript": booking.transcript(tracker.events)}
        try:
            request = submit_request("handoff", payload,
                                     turn_request_id(tracker.sender_id, tracker.events, "handoff"))
        except Exception:  # the visitor must hear that nothing was sent, never silence
            logger.exception("Could not store a hand-off request")
            send_guarded(dispatcher, tracker, content,
                         [OutgoingMessage(booking.prompt(content, "not_saved"))])
            return [SlotSet("requested_slot", None)]
        text = booking.prompt(content, "handoff_received", name=name, reference=request.id[:8],
                              contact=contact, reply_time=booking.reply_time(content))
        send_guarded(dispatcher, tracker, content, [OutgoingMessage(text)])
        return [*_reset(HANDOFF_SLOTS), SlotSet("person_offered", False)]


class ActionCancelForm(Action):
    """Leaves the booking or hand-off form; nothing is sent."""

    def name(self) -> Text:
        return "action_cancel_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        content = get_store().get()
        intent, _ = _latest_intent(tracker)
        if intent != "request_human":  # switching to a person: the hand-off form speaks next
            send_guarded(dispatcher, tracker, content,
                         [OutgoingMessage(booking.prompt(content, "cancelled"))])
        return [ActiveLoop(None), *_reset(BOOKING_SLOTS), SlotSet("person_offered", False)]

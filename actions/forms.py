"""Booking and hand-off form validators: every message sent while a form waits for an answer.

Rasa's forms fill the field being asked from the message text (``from_text`` in domain.yml, for
every intent), so every message reaches the validator, which decides with
:mod:`actions.form_reading` what it is: the field (plus any other fields it holds), a correction,
a question, a stop, a request for a person, or something to ask again. Safety comes first: an
urgent symptom or a health disclosure is answered by the same planner as ``action_answer``.

How the validator steers the form (Rasa's own events, no patches):

- the fields it returns as ``SlotSet``, and ``requested_slot`` for the next one to ask;
- ``reask_note``: why the field is asked again, said by the ask action before its question;
- to leave the form: ``ActionExecutionRejected`` (the form does not ask again) and a
  ``FollowupAction`` naming what runs next (``action_cancel_form`` or
  ``action_switch_to_handoff``), so no rule has to guess from the intent.
"""

import abc
import logging
import re
import unicodedata
from typing import Any, Dict, List, Optional

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import ActionExecutionRejected, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import booking, conversation_safety, form_reading, request_changes, safety
from actions.answers import OutgoingMessage
from actions.replying import (
    answer_latest,
    disclosure_events,
    earlier_disclosure,
    send_guarded,
    turn_state,
)
from actions.respond import plan_reply
from actions.visitor_text import plain_text
from clinic_content.store import Content, get_store

logger = logging.getLogger(__name__)

REQUESTED_SLOT = "requested_slot"
REASK_NOTE = "reask_note"
# Which booking.yml prompt explains a field that did not fit (said before asking again).
NOT_UNDERSTOOD = {
    "booking_service": "service_not_understood",
    "visitor_name": "name_not_understood",
    "contact": "contact_not_understood",
    "preferred_time": "preferred_time_not_understood",
    "screening": "screening_not_understood",
    "booking_confirmed": "confirm_not_understood",
    "handoff_topic": "topic_not_understood",
}
FIELD_LABEL_KEYS = {
    "booking_service": "field_service",
    "visitor_name": "field_name",
    "contact": "field_contact",
    "preferred_time": "field_time",
}


def _latest(tracker: Tracker) -> Dict[str, Any]:
    return tracker.latest_message or {}


def form_turn(tracker: Tracker, form: str, slots: List[str]) -> form_reading.FormTurn:
    """The latest message and the form's state, as the reader needs them."""
    latest = _latest(tracker)
    intent = latest.get("intent") or {}
    return form_reading.FormTurn(
        text=str(latest.get("text") or ""),
        intent=intent.get("name"),
        confidence=float(intent.get("confidence") or 0.0),
        entities=latest.get("entities") or [],
        requested_slot=tracker.get_slot(REQUESTED_SLOT),
        form=form,
        filled={slot: tracker.get_slot(slot) for slot in slots},
    )


class FormValidatorBase(FormValidationAction):
    """What both forms share: reading the message, safety first, leaving the form.

    How to use: subclass, set ``name()``, ``fields()`` (the form's slots in the order asked)
    and, where a field needs more than the reader's check, ``settle()``.
    """

    @abc.abstractmethod
    def name(self) -> str:
        """Each form's validator names itself (abstract, so the SDK skips this base)."""

    @abc.abstractmethod
    def fields(self, tracker: Tracker) -> List[str]:
        """The slots this form still needs, in the order they are asked."""

    def settle(self, values: Dict[str, Any], tracker: Tracker, content: Content) -> Dict[str, Any]:
        """Last checks on values found in a message (e.g. a service id), per form."""
        return values

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[str, Any]]:
        content = get_store().get()
        form = self.form_name()
        before = len(dispatcher.messages)
        if tracker.get_slot(REQUESTED_SLOT) is None:
            if self.refused_at_start(dispatcher, tracker, content):
                return self.refusal_events()
            slots = self.on_start(dispatcher, tracker, content)
        else:
            outcome = self.on_message(dispatcher, tracker, content)
            if isinstance(outcome, list):
                return outcome
            slots = outcome
        _drop_repeats(dispatcher, before)
        slots = {k: v for k, v in slots.items()}
        merged = {slot: tracker.get_slot(slot) for slot in self.fields(tracker)}
        merged.update({k: v for k, v in slots.items() if k in merged})
        tracker.slots.update(slots)
        missing = next((slot for slot in self.fields(tracker) if merged.get(slot) is None), None)
        events = [SlotSet(key, value) for key, value in slots.items()]
        logger.debug("%s: %s -> next %s", form, slots, missing)
        return events + [SlotSet(REQUESTED_SLOT, missing)]

    # --- the first message of the form ------------------------------------------------------

    def on_start(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, content: Content
    ) -> Dict[str, Any]:
        """Fields the message that started the form already gave, and its disclosure."""
        turn = form_turn(tracker, self.form_name(), self.fields(tracker))
        found = form_reading.find_fields(turn, content)
        for slot, value in tracker.slots_to_validate().items():
            found.setdefault(slot, value)
        found = self.settle(found, tracker, content)
        return {**found, **self.disclosure_in_answer(dispatcher, tracker, content)}

    # --- every later message ------------------------------------------------------------------

    def on_message(self, dispatcher: CollectingDispatcher, tracker: Tracker, content: Content):
        """Slot values for the message, or a list of events that leave the form."""
        turn = form_turn(tracker, self.form_name(), self.fields(tracker))
        requested = turn.requested_slot
        if requested is None:  # run() calls this only while a field is asked
            return {}
        latest = safety.disclosure_from_entities(turn.entities)
        reading = form_reading.read(turn, content)
        fits = reading.kind == form_reading.FIELD and requested in reading.values
        if (latest.urgent or safety.reactions_in(turn.entities)) and not _name_holds_the_word(
            turn, requested
        ):
            if requested == "handoff_topic" and not latest.urgent:
                # "tingling cheek after yesterday's facial" IS what the hand-off is about
                events = answer_latest(dispatcher, tracker, content)
                return {
                    **_slot_values(events),
                    "handoff_kind": "follow_up",
                    requested: plain_text(turn.text)[: form_reading.MAX_TOPIC_CHARS],
                }
            return self.on_urgent(dispatcher, tracker, content)
        language = conversation_safety.language_of(turn.entities)
        if language and fits and requested == "visitor_name" and not _latin(turn.text):
            # "李伟", "Li Wei 李伟", "Иван Петров" are names; "你好", "Здравствуйте, я хочу..."
            # are phrases in another script
            fits = _reads_as_a_name_in_another_script(content, turn.text)
        if language and not fits:
            # Not in English and no answer to the field ("José García" is a name all the same).
            events = answer_latest(dispatcher, tracker, content)
            return {**_slot_values(events), requested: None}
        if latest.any and not fits:
            # A disclosure instead of the field: its reply, then the field again.
            events = answer_latest(dispatcher, tracker, content)
            return {**_slot_values(events), requested: None}
        if reading.kind == form_reading.STOP:
            return self.leave(form_reading.STOP, requested)
        if reading.kind == form_reading.PERSON:
            return self.on_person(dispatcher, tracker, content)
        if reading.kind == form_reading.BOOK:
            return self.leave(form_reading.BOOK, requested)
        if reading.kind == form_reading.QUESTION:
            events = answer_latest(dispatcher, tracker, content)
            values = _slot_values(events)
            values.pop("person_offered", None)  # inside a form, "yes" must not start a hand-off
            return {**values, requested: None}
        if reading.kind == form_reading.PROCESS:
            return {requested: None, REASK_NOTE: self.process_note(tracker)}
        if reading.kind == form_reading.JUNK:
            return {requested: None, REASK_NOTE: NOT_UNDERSTOOD.get(requested)}
        # Rasa put the raw text in the field asked for; only the reader's value may stay.
        values = {requested: None, **self.settle(dict(reading.values), tracker, content)}
        for key, fields in (("changed", reading.changed), ("noted", reading.noted)):
            if fields:
                self.say_fields(
                    dispatcher,
                    tracker,
                    content,
                    key,
                    {k: values[k] for k in fields if values.get(k)},
                )
        if reading.kind == form_reading.CORRECTION:
            if requested == "booking_confirmed":
                values["booking_confirmed"] = None
        elif values.get("booking_confirmed") == form_reading.CONFIRM_CHANGE:
            values.update(booking_confirmed=None, **{REASK_NOTE: "confirm_what_to_change"})
        return {**values, **self.disclosure_in_answer(dispatcher, tracker, content)}

    def disclosure_in_answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, content: Content
    ) -> Dict[str, Any]:
        """A disclosure inside a valid answer ("Friday, but I'm pregnant"): its reply (or, for
        "my MUM has it, not me", the correction's), and the slots that remember it; the answer
        itself still counts. Pushback on an earlier disclosure gets the guidance again."""
        turn = turn_state(tracker)
        latest = safety.disclosure_from_entities(turn.entities)
        if not latest.any:
            if conversation_safety.is_own_health_clear(
                content, turn.text, latest, turn.earlier, safety.retracted_in(turn.entities)
            ):
                # "I don't have a pacemaker, can I book?" after her husband's: a booking with
                # the health question, not a consultation about him
                return {"condition_subject": safety.CORRECTED}
            if turn.earlier.any and safety.has_cue(content, "pushback_cues", turn.text):
                send_guarded(
                    dispatcher,
                    tracker,
                    content,
                    [OutgoingMessage(safety.pushback_reply(content, turn.earlier))],
                )
            return {}
        plan = plan_reply(content, turn)
        correcting = plan.disclosure.subject == safety.CORRECTED and (
            conversation_safety.is_correction(content, turn.text)
            or conversation_safety.is_own_health_clear(
                content, turn.text, latest, turn.earlier, safety.retracted_in(turn.entities)
            )
        )
        said = (
            plan.messages
            if correcting
            else [OutgoingMessage(text) for text in safety.replies_for(content, latest)]
        )
        send_guarded(dispatcher, tracker, content, said)
        return {e["name"]: e["value"] for e in disclosure_events(plan.disclosure)}

    def refused_at_start(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, content: Content
    ) -> bool:
        """Whether this form must not start now (it has said why); per form."""
        return False

    def refusal_events(self) -> List[Dict[str, Any]]:
        """Ends the form at once, asking nothing (the submit action then finds nothing)."""
        return [SlotSet(REQUESTED_SLOT, None)]

    def on_urgent(self, dispatcher: CollectingDispatcher, tracker: Tracker, content: Content):
        """Urgent symptoms or a reaction after a treatment: the advice; the hand-off goes on
        (a person will follow up), the booking stops (see ValidateBookingForm)."""
        events = answer_latest(dispatcher, tracker, content)
        values = {**_slot_values(events), tracker.get_slot(REQUESTED_SLOT): None}
        if safety.reactions_in(form_turn(tracker, self.form_name(), []).entities):
            values["handoff_kind"] = "follow_up"
        return values

    def on_person(self, dispatcher: CollectingDispatcher, tracker: Tracker, content: Content):
        """The visitor asks for a person while this form runs."""
        return self.leave(form_reading.PERSON, tracker.get_slot(REQUESTED_SLOT))

    def leave(self, why: str, requested: Optional[str]) -> List[Dict[str, Any]]:
        """Events that end the form without asking again, and name the action that follows.

        Rasa put the message's text in the field asked for; it is no answer, so it goes.
        """
        follow = {
            form_reading.STOP: "action_cancel_form",
            form_reading.BOOK: "action_switch_to_booking",
        }.get(why, "action_switch_to_handoff")
        cleared = [SlotSet(requested, None)] if requested else []
        return [*cleared, ActionExecutionRejected(self.form_name()), FollowupAction(follow)]

    def process_note(self, tracker: Tracker) -> str:
        """The prompt that explains this form when the visitor asks what happens."""
        return "booking_intro" if self.form_name() == "booking_form" else "handoff_next_steps"

    def say_fields(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        content: Content,
        key: str,
        values: Dict[str, Any],
    ) -> None:
        """ "Thanks, I've updated that. Preferred time: Friday." (``key``: changed / noted)."""
        details = ", ".join(
            f"{booking.prompt(content, FIELD_LABEL_KEYS[k])}: {booking.shown_value(content, k, v)}"
            for k, v in values.items()
            if k in FIELD_LABEL_KEYS
        )
        if details:
            send_guarded(
                dispatcher,
                tracker,
                content,
                [OutgoingMessage(booking.prompt(content, key, details=details))],
            )


def _latin(text: str) -> bool:
    """True when the letters of ``text`` are Latin (with accents): a name we can read back."""
    letters = [ch for ch in text if ch.isalpha()]
    return bool(letters) and all("LATIN" in unicodedata.name(ch, "") for ch in letters)


# Chinese, Japanese and Korean names are written without spaces, in two to three characters
# (four is rare): a longer run is a phrase ("我想预约").
CJK_NAME = re.compile(r"^[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]{1,3}$")
CJK_CHAR = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")


def _reads_as_a_name_in_another_script(content: Content, text: str) -> bool:
    """At the name step: up to three words with no sentence marks, not a greeting or a thanks
    (messages.yml ``other_language_small_talk``), each Chinese/Japanese/Korean word short."""
    if conversation_safety.small_talk_in_another_language(content, text):
        return False
    if re.search(r"[,;:!?。，、！？；：]", text):
        return False
    words = text.split()
    return 0 < len(words) <= 3 and all(
        CJK_NAME.match(word) or not CJK_CHAR.search(word) for word in words
    )


def _slot_values(events: List[Dict[str, Any]]) -> Dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def _drop_repeats(dispatcher: CollectingDispatcher, before: int) -> None:
    """Say each message once: fields filled from one message are checked together, and each
    could otherwise repeat the same disclosure reply."""
    seen, kept = set(), []
    for message in dispatcher.messages[before:]:
        key = (message.get("text"), repr(message.get("buttons")))
        if key not in seen:
            seen.add(key)
            kept.append(message)
    dispatcher.messages[before:] = kept


class ValidateBookingForm(FormValidatorBase):
    """Reads booking answers; a condition turns the booking into a consultation request."""

    def name(self) -> str:
        return "validate_booking_form"

    def fields(self, tracker: Tracker) -> List[str]:
        """No health question when the visitor already disclosed a condition of their own."""
        slots = list(booking.BOOKING_FIELDS)
        disclosure = earlier_disclosure(tracker)
        if safety.books_as_consultation(disclosure, int(tracker.get_slot("party_size") or 1)):
            slots.remove("screening")
        return slots

    async def required_slots(
        self,
        domain_slots: List[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> List[str]:
        """The SDK's hook, answered from :meth:`fields`."""
        return self.fields(tracker)

    def settle(self, values: Dict[str, Any], tracker: Tracker, content: Content) -> Dict[str, Any]:
        """A service must be one of booking.yml's; a time is kept as typed (markup removed)."""
        settled = dict(values)
        if settled.get("booking_service") is not None:
            service = booking.match_service(content, str(settled["booking_service"]))
            settled["booking_service"] = service.id if service else None
        if settled.get("preferred_time") is not None:
            settled["preferred_time"] = plain_text(settled["preferred_time"])[:200] or None
        return settled

    def refused_at_start(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, content: Content
    ) -> bool:
        """No booking after urgent advice: kindly refused, the advice repeated, a person."""
        if not tracker.get_slot("emergency"):
            return False
        answer_latest(dispatcher, tracker, content, intent="book")
        return True

    def on_urgent(self, dispatcher: CollectingDispatcher, tracker: Tracker, content: Content):
        """After urgent advice (or a reaction report) no booking goes on: the advice, then
        the form ends quietly."""
        events = answer_latest(dispatcher, tracker, content)
        requested = tracker.get_slot(REQUESTED_SLOT)
        cleared = [SlotSet(requested, None)] if requested else []
        return [
            *events,
            *cleared,
            ActionExecutionRejected(self.form_name()),
            FollowupAction("action_end_form_quietly"),
        ]


TOPIC_IN_REQUEST = re.compile(r"\b(?:about|regarding|re:|concerning)\s+(.{3,})", re.IGNORECASE)


class ValidateHandoffForm(FormValidatorBase):
    """Reads what the hand-off is about, the name and the contact."""

    def name(self) -> str:
        return "validate_handoff_form"

    def on_start(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, content: Content
    ) -> Dict[str, Any]:
        """ "I need to speak to someone about a gift card": the topic is already given."""
        values = super().on_start(dispatcher, tracker, content)
        text = str((tracker.latest_message or {}).get("text") or "")
        match = TOPIC_IN_REQUEST.search(text)
        if match and not tracker.get_slot("handoff_topic") and not values.get("handoff_topic"):
            values["handoff_topic"] = plain_text(match.group(1))[: form_reading.MAX_TOPIC_CHARS]
        return values

    def refused_at_start(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, content: Content
    ) -> bool:
        """ "Is my Monday appointment still on?" right after a request: its status, not a
        change request. "I don't want to talk to anyone", "ok im out", or a thank-you emoji
        after a request was sent: no hand-off (the classifier may have read a yes)."""
        if request_changes.asks_status(tracker):
            request_changes.say_status(dispatcher, tracker, content)
            return True
        meaning = _not_a_hand_off(tracker, content)
        if meaning is None:
            return False
        answer_latest(dispatcher, tracker, content, intent=meaning)
        return True

    def refusal_events(self) -> List[Dict[str, Any]]:
        """The name and contact are known, so the form would be complete and sent: it is
        rejected instead, and ends without a request."""
        return [
            SlotSet(REQUESTED_SLOT, None),
            ActionExecutionRejected(self.form_name()),
            FollowupAction("action_end_form_quietly"),
        ]

    def fields(self, tracker: Tracker) -> List[str]:
        return list(booking.HANDOFF_FIELDS)

    async def required_slots(
        self,
        domain_slots: List[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> List[str]:
        """The SDK's hook, answered from :meth:`fields`."""
        return self.fields(tracker)

    def on_person(self, dispatcher: CollectingDispatcher, tracker: Tracker, content: Content):
        """Already on the way to a person: say so, and ask for the missing detail again."""
        return {tracker.get_slot(REQUESTED_SLOT): None, REASK_NOTE: "handoff_needs_details"}


def reask_note(tracker: Tracker) -> Optional[str]:
    """The reason the field is being asked again, set by the validator this turn."""
    return tracker.get_slot(REASK_NOTE)


def _name_holds_the_word(turn: form_reading.FormTurn, requested: Optional[str]) -> bool:
    """ "Joy Burns" typed for the name: "Burns" is a surname, not burns. Only single
    capitalised words in a message that reads as a name; "Chest Pain" stays urgent."""
    if requested != "visitor_name" or not form_reading.reads_as_name(turn.text):
        return False
    found = [e for e in turn.entities if e.get("entity") in ("urgent_symptom", "after_treatment")]
    text = turn.text or ""
    return bool(found) and all(
        len(text[int(e.get("start") or 0) : int(e.get("end") or 0)].split()) == 1
        and text[int(e.get("start") or 0) : int(e.get("end") or 0)][:1].isupper()
        for e in found
    )


LEAVING = re.compile(
    r"\b(?:bye|goodbye|i'?m\s+out|im\s+out|gotta\s+go|got\s+to\s+go|see\s+(?:ya|you)|"
    r"that'?s\s+all|all\s+good|nothing\s+else)\b",
    re.IGNORECASE,
)


def _not_a_hand_off(tracker: Tracker, content: Content) -> Optional[str]:
    """What a message that started the hand-off means instead, if it declines one: "deny"
    (no person wanted), "goodbye", or "thank" (a thank-you emoji after a sent request)."""
    text = str((tracker.latest_message or {}).get("text") or "")
    if (
        not text
        or text.startswith("/")
        or form_reading.PERSON_PATTERNS.search(text)
        and not (form_reading.DECLINE_PERSON.search(text))
    ):
        return None
    if form_reading.DECLINE_PERSON.search(text) or form_reading.DECLINE_PATTERNS.search(text):
        return "deny"
    if LEAVING.search(text) and len(text.split()) <= 6:
        return "goodbye"
    if conversation_safety.emoji_meaning(content, text) == "thank" and tracker.get_slot(
        "last_request"
    ):
        return "thank"
    return None

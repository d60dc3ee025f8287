"""Glue between Rasa trackers and the reply planner: read the turn, send the plan, set slots."""

import logging
from typing import Any, Dict, List, Optional, Sequence

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import follow_ups, safety
from actions.answers import OutgoingMessage
from actions.respond import Plan, TurnState, plan_reply
from clinic_content.store import Content
from clinic_requests import unanswered

logger = logging.getLogger(__name__)


def earlier_disclosure(tracker: Tracker) -> safety.Disclosure:
    """What the visitor disclosed in earlier turns (kept in slots as category ids)."""
    return safety.Disclosure(
        conditions=list(tracker.get_slot("conditions") or []),
        uncovered=list(tracker.get_slot("uncovered_conditions") or []),
        subject=tracker.get_slot("condition_subject"),
    )


def booking_request_kind(tracker: Tracker) -> str:
    """ "consultation" when a health question applies (disclosed, a reaction after a treatment
    reported, or answered in the screening step), else "booking": the confirm step and the
    submission must say the same."""
    disclosure = earlier_disclosure(tracker)
    people = int(tracker.get_slot("party_size") or 1)
    if safety.books_as_consultation(disclosure, people):
        return "consultation"
    if tracker.get_slot("treatment_reactions"):  # a reaction after a treatment was reported
        return "consultation"
    return "consultation" if tracker.get_slot("screening") in ("applies", "not_sure") else "booking"


def turn_state(tracker: Tracker, intent: Optional[str] = None) -> TurnState:
    """The latest message as the planner needs it."""
    latest = tracker.latest_message or {}
    return TurnState(
        intent=intent or (latest.get("intent") or {}).get("name"),
        entities=latest.get("entities") or [],
        ranking=latest.get("intent_ranking") or [],
        earlier=earlier_disclosure(tracker),
        misses_in_a_row=int(tracker.get_slot("misses_in_a_row") or 0),
        text=str(latest.get("text") or ""),
        emergency=bool(tracker.get_slot("emergency")),
        reactions=list(tracker.get_slot("treatment_reactions") or []),
        medical_topic=bool(tracker.get_slot("medical_topic")),
    )


def send(dispatcher: CollectingDispatcher, messages: Sequence[OutgoingMessage]) -> None:
    """Utter each planned message."""
    for message in messages:
        dispatcher.utter_message(**message.as_kwargs())


def send_guarded(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    content: Content,
    messages: Sequence[OutgoingMessage],
) -> None:
    """Utter messages that did not come from the planner, through the reassurance guard."""
    if earlier_disclosure(tracker).any or tracker.get_slot("emergency"):
        for message in messages:
            message.text = safety.guard(message.text, content)
    send(dispatcher, messages)


def disclosure_events(disclosure: safety.Disclosure) -> List[Dict[str, Any]]:
    """Slot events that remember the disclosure (category ids and who it is about)."""
    return [
        SlotSet("conditions", disclosure.conditions or None),
        SlotSet("uncovered_conditions", disclosure.uncovered or None),
        SlotSet("condition_subject", disclosure.subject),
    ]


def plan_events(plan: Plan) -> List[Dict[str, Any]]:
    """Every slot the planner wants remembered."""
    return [
        *disclosure_events(plan.disclosure),
        SlotSet("person_offered", plan.person_offered),
        SlotSet("misses_in_a_row", float(plan.misses_in_a_row)),
        SlotSet("emergency", plan.emergency),
        SlotSet("treatment_reactions", plan.reactions or None),
        SlotSet("medical_topic", plan.medical_topic),
    ]


def changed_slots(tracker: Tracker, events: Sequence[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The slot events that change a value.

    A ``SlotSet`` to the value the slot already has changes nothing, but it stays in the
    conversation, which Rasa stores, sends to this server and replays on every later turn:
    five of them per answer were 40% of a conversation's events.
    """
    return [
        event
        for event in events
        if not _same_value(tracker.get_slot(event["name"]), event["value"])
    ]


def _same_value(old: Any, new: Any) -> bool:
    return type(old) is type(new) and old == new  # 0 and 0.0, or False and 0, still differ


def answer_latest(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    content: Content,
    intent: Optional[str] = None,
) -> List[Dict[str, Any]]:
    """Answer the latest message and return the slot events to apply."""
    plan = plan_reply(content, turn_state(tracker, intent))
    send(dispatcher, plan.messages)
    if plan.follow_up:
        follow_ups.note_for_staff(dispatcher, tracker, content, plan.follow_up)
    if plan.unanswered and not plan.disclosure.any:
        unanswered.record(
            (tracker.latest_message or {}).get("text") or "",
            plan.unanswered,
            turn_state(tracker, intent).intent,
        )
    return changed_slots(tracker, plan_events(plan))

"""Thin Rasa actions that answer questions from the content YAML."""

from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import booking, conversation_safety, form_reading, request_changes
from actions.replying import answer_latest
from clinic_content.store import get_store

LISTEN = FollowupAction("action_listen")
# Understood intents that may reach action_clarify as RulePolicy's core fallback.
ANSWERED_WITHOUT_RULE = {"affirm", "deny", "cancel", "greet", "thank", "goodbye"}


class ActionAnswer(Action):
    """Answers the latest message from data/content (safety rules first)."""

    def name(self) -> str:
        return "action_answer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        content = get_store().get()
        events = request_changes.about_the_request(dispatcher, tracker, content)
        if events is not None:
            return [*events, LISTEN]
        latest = tracker.latest_message or {}
        if conversation_safety.says_yes_in_another_language(
            content,
            str(latest.get("text") or ""),
            latest.get("entities") or [],
            bool(tracker.get_slot("person_offered")),
        ):
            return [FollowupAction("handoff_form")]
        service = typed_service(tracker, content)
        if service:
            if tracker.get_slot("emergency"):  # no booking after urgent advice: say why
                return [*answer_latest(dispatcher, tracker, content, intent="book"), LISTEN]
            return [SlotSet("booking_service", service), FollowupAction("booking_form")]
        # The turn ends here whatever slots the answer changed (a rule's closing action_listen
        # is matched against the slots, and an answer may change them).
        return [*answer_latest(dispatcher, tracker, content), LISTEN]


class ActionClarify(Action):
    """Handles a message the assistant did not understand: "did you mean ...?", then a person."""

    def name(self) -> str:
        return "action_clarify"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        content = get_store().get()
        events = request_changes.about_the_request(dispatcher, tracker, content)
        if events is None:
            # As RulePolicy's core fallback it also runs for an understood message no rule
            # covers ("yes" with nothing offered): that message is answered as it was meant.
            intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
            events = answer_latest(
                dispatcher,
                tracker,
                content,
                intent=intent if intent in ANSWERED_WITHOUT_RULE else "nlu_fallback",
            )
        # This is also RulePolicy's core fallback (no rule applies): the turn must end here,
        # or the policy predicts this action again until Rasa's circuit breaker trips.
        return [*events, LISTEN]


def typed_service(tracker: Tracker, content) -> Optional[str]:
    """The service id when the visitor typed a service button's title outside the booking form
    ("4-D Facial (single session)" after the buttons were gone): they want to book it."""
    text = str((tracker.latest_message or {}).get("text") or "")
    titles = [s.title for s in booking.services(content)]
    typed = form_reading.typed_button(text, titles)
    if not typed:
        return None
    return next(s.id for s in booking.services(content) if s.title == typed)

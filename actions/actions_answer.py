"""Thin Rasa actions that answer questions from the content YAML."""

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction
from rasa_sdk.executor import CollectingDispatcher

from actions import request_changes
from actions.content import get_store
from actions.replying import answer_latest
from actions.submit import start_delivery


class ActionAnswer(Action):
    """Answers the latest message from data/content (safety rules first)."""

    def name(self) -> Text:
        return "action_answer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        # Requests left pending by an earlier process are delivered as soon as this process
        # answers anything (the SDK has no start-up hook; the call is cheap after the first).
        start_delivery()
        content = get_store().get()
        if request_changes.is_change(tracker):
            events = request_changes.send_change(dispatcher, tracker, content)
            if events is not None:
                return events
        return answer_latest(dispatcher, tracker, content)


class ActionClarify(Action):
    """Handles a message the assistant did not understand: "did you mean ...?", then a person."""

    def name(self) -> Text:
        return "action_clarify"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        content = get_store().get()
        events = (request_changes.send_change(dispatcher, tracker, content)
                  if request_changes.is_change(tracker) else None)
        if events is None:
            events = answer_latest(dispatcher, tracker, content, intent="nlu_fallback")
        # This is also RulePolicy's core fallback (no rule applies): the turn must end here,
        # or the policy predicts this action again until Rasa's circuit breaker trips.
        return [*events, FollowupAction("action_listen")]

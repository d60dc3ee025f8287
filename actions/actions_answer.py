"""Thin Rasa actions that answer questions from the content YAML."""

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

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
        return answer_latest(dispatcher, tracker, get_store().get())


class ActionClarify(Action):
    """Handles a message the assistant did not understand: "did you mean ...?", then a person."""

    def name(self) -> Text:
        return "action_clarify"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        return answer_latest(dispatcher, tracker, get_store().get(), intent="nlu_fallback")

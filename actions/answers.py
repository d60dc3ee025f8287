"""Turns an answer entry into the messages the visitor sees (text + buttons).

Pure functions over ``Content``: no Rasa objects here, so they are easy to test and reuse from
every action (answers, fallback, form interruptions).
"""

import logging
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

from clinic_content.answers import Answer, Button
from clinic_content.store import Content

logger = logging.getLogger(__name__)

# Intents whose answer is "I don't know"-type, and conversation intents with no content entry.
CONTROL_INTENTS = ("affirm", "deny", "cancel")
NEVER_SUGGESTED = {
    "nlu_fallback",
    "out_of_scope",
    "greet",
    "goodbye",
    "thank",
    "affirm",
    "deny",
    "cancel",
    "bot_challenge",
    "inform_condition",
}


@dataclass
class OutgoingMessage:
    """One bot message: text and optional quick-reply buttons."""

    text: str
    buttons: List[Button] = field(default_factory=list)

    def as_kwargs(self) -> Dict:
        """Arguments for ``dispatcher.utter_message``."""
        kwargs: Dict = {"text": self.text}
        if self.buttons:
            kwargs["buttons"] = [{"title": b.title, "payload": b.payload} for b in self.buttons]
        return kwargs


# Conversation intents that are questions all the same (answered mid-form, then the form goes on).
QUESTION_LIKE_CONVERSATION = ("bot_challenge", "out_of_scope")


def question_intents(content: Content) -> set:
    """Intents that ask something: those with an article, unknown or medical answer, and a few
    conversation ones. Derived from answers.yml, so a new FAQ answer needs no code change."""
    return {
        intent
        for answer in content.answers.values()
        if answer.kind != "conversation"
        for intent in answer.intents
    } | set(QUESTION_LIKE_CONVERSATION)


def start_buttons(content: Content) -> List[Button]:
    """What the visitor can do next, when a message said nothing: the greeting's buttons."""
    greeting = content.answer_for_intent.get("greet")
    buttons = list(greeting.buttons) if greeting else []
    return [*buttons[:2], person_button(content)]


def person_button(content: Content) -> Button:
    """The button that starts the hand-off to a person."""
    return Button(title=content.message("talk_to_person_button"), payload="/request_human")


def contact_lines(content: Content) -> List[str]:
    """'You can also call ... / email ...' for the contact details staff filled in."""
    clinic = content.contact.get("clinic") or {}
    lines = []
    if clinic.get("phone"):
        lines.append(content.message("contact_phone", phone=clinic["phone"]))
    if clinic.get("email"):
        lines.append(content.message("contact_email", email=clinic["email"]))
    return lines


def answer_for(content: Content, intent: Optional[str]) -> Optional[Answer]:
    """The answer entry for an intent, if staff wrote one."""
    if not intent:
        return None
    return content.answer_for_intent.get(intent)


def render_answer(content: Content, answer: Answer) -> List[OutgoingMessage]:
    """An answer as messages; an "I don't know" also offers a person and the clinic's contacts."""
    if answer.kind == "medical":
        return [OutgoingMessage(answer.text, [*answer.buttons, person_button(content)])]
    if answer.kind != "unknown":
        return [OutgoingMessage(answer.text, list(answer.buttons))]
    text = " ".join([answer.text, *contact_lines(content), content.message("offer_person")])
    return [OutgoingMessage(text, [*answer.buttons, person_button(content)])]


def suggestions(content: Content, ranking: Sequence[Dict], limit: int = 3) -> List[Button]:
    """Buttons for the likeliest topics in the classifier's ranking ("did you mean ...?")."""
    titles = content.messages.get("topic_titles") or {}
    buttons = []
    for candidate in ranking:
        name = candidate.get("name")
        if name in NEVER_SUGGESTED or name not in titles or name not in content.answer_for_intent:
            continue
        buttons.append(Button(title=titles[name], payload=f"/{name}"))
        if len(buttons) == limit:
            break
    return buttons

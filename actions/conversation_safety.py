"""Safety over the whole conversation: what the planner says before any ordinary answer.

First-turn safety (a disclosure's reply, the urgent message) lives in :mod:`actions.respond`;
this module decides the turns where what happened EARLIER changes the answer:

- urgent advice holds for the rest of the conversation: a booking is kindly refused with the
  advice repeated, "who do I contact?" gets the clinic's phone, anything about the symptoms
  gets the advice again, and topic answers carry a reminder;
- a reaction after a treatment already had (tingling, redness...) gets the honest "not covered,
  call the clinic" reply, never the experience or benefits text, and becomes a follow-up note
  for staff; later "should I be worried?" gets the same advice again;
- after a disclosure, pushback, retraction or self-clearance ("it was years ago", "my doctor
  said it's fine", "I'm not pregnant anymore, right?") gets the clinic's guidance again; only a
  clear correction ("I meant my sister, not me") changes who the condition is about;
- a message not in English gets a notice in its language and a person (a disclosure in it is
  still answered first), never an article answer.

Pure logic over ``Content`` and the planner's ``Plan``; the texts are in data/content/.
"""

from typing import List, Optional, Sequence

from actions import answers, safety
from actions.answers import OutgoingMessage
from actions.content import Content

# Messages that are about the situation rather than a topic: after urgent advice or a reaction
# report they get the advice again instead of an answer.
FOLLOW_UP_INTENTS = {"affirm", "deny", "nlu_fallback", "out_of_scope", "ask_safety",
                     "ask_suitability", "ask_experience", "ask_results", "bot_challenge",
                     "inform_condition", "ask_medical_advice", "ask_unknown_other", "greet"}
CONTACT_INTENTS = {"ask_clinic_logistics", "request_human"}
CONTACT_WORDS = ("contact", "call", "phone", "number", "reach", "who do i", "who should i",
                 "come back", "go back", "get in touch", "speak to")
BOOKING_INTENTS = {"book"}
# After a disclosure, these get the clinic's guidance again (no new information in them).
GUIDANCE_INTENTS = {"affirm", "nlu_fallback", "out_of_scope", "ask_medical_advice",
                    "inform_condition"}
SHORT_REPLY_WORDS = 3


def language_of(entities: Sequence[dict]) -> Optional[str]:
    """The language code of a message not in English (clinic_nlu.language), if any."""
    return next((str(e.get("value")) for e in entities or () if e.get("entity") == "language"),
                None)


def language_notice(content: Content, code: str) -> OutgoingMessage:
    """ "Lo siento, solo puedo responder en inglés..." + the same in English, with a person."""
    notices = content.messages.get("other_language") or {}
    texts = [notices.get(code), notices.get("in_english")]
    return OutgoingMessage(" ".join(t for t in texts if t), [answers.person_button(content)])


def mentions_contact(text: str) -> bool:
    """ "who do I contact?", "should I come back to the clinic?", "what's your number?" """
    lowered = (text or "").lower()
    return any(word in lowered for word in CONTACT_WORDS)


def after_urgent_advice(content: Content, parts: List[str], text: str) -> Optional[List[OutgoingMessage]]:
    """A later turn after urgent advice; None when it is a topic question (answered as usual,
    with a reminder added by the caller)."""
    person = [answers.person_button(content)]
    if set(parts) & BOOKING_INTENTS:
        return [OutgoingMessage(safety.urgent_follow_up(content, "booking_refused_reply"), person)]
    if set(parts) & CONTACT_INTENTS or mentions_contact(text):
        return [OutgoingMessage(safety.urgent_follow_up(content, "contact_reply"), person)]
    if not parts or set(parts) & FOLLOW_UP_INTENTS:
        return [OutgoingMessage(safety.urgent_follow_up(content, "follow_up_reply"), person)]
    return None


def is_pushback(content: Content, turn_text: str, parts: List[str], retracted: List[str],
                active: safety.Disclosure) -> bool:
    """After a disclosure: the visitor argues it does not count, or says it no longer applies."""
    if set(retracted) & set([*active.conditions, *active.uncovered]):
        return True
    if safety.has_cue(content, "pushback_cues", turn_text):
        return True
    if set(parts) & GUIDANCE_INTENTS:
        return True
    # "no" alone answers the offer of a person; a longer "no, ..." argues with the guidance.
    return "deny" in parts and len((turn_text or "").split()) > SHORT_REPLY_WORDS


def is_correction(content: Content, turn_text: str) -> bool:
    """ "Sorry, I meant my sister, not me": the condition is someone else's."""
    return safety.has_cue(content, "correction_cues", turn_text)

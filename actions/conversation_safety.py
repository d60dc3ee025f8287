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

import re
from typing import Any, List, Mapping, Optional, Sequence

from actions import answers, safety
from actions.answers import OutgoingMessage
from clinic_content.store import Content

# Messages that are about the situation rather than a topic: after urgent advice or a reaction
# report they get the advice again instead of an answer.
FOLLOW_UP_INTENTS = {
    "affirm",
    "deny",
    "nlu_fallback",
    "out_of_scope",
    "ask_safety",
    "ask_suitability",
    "ask_experience",
    "ask_results",
    "bot_challenge",
    "inform_condition",
    "ask_medical_advice",
    "ask_unknown_other",
    "greet",
}
CONTACT_INTENTS = {"ask_clinic_logistics", "request_human"}
CONTACT_WORDS = (
    "contact",
    "call",
    "phone",
    "number",
    "reach",
    "who do i",
    "who should i",
    "come back",
    "go back",
    "get in touch",
    "speak to",
)
BOOKING_INTENTS = {"book"}
SMALL_TALK_INTENTS = {"thank", "goodbye"}
# After a disclosure, these get the clinic's guidance again (no new information in them).
GUIDANCE_INTENTS = {"affirm", "ask_medical_advice", "inform_condition"}
# After a reaction report, questions about the treatment itself get the advice again, never the
# experience or benefits text; facts the article does not hold (price...) are answered.
ABOUT_THE_TREATMENT = {
    "ask_what_is",
    "ask_how_it_works",
    "ask_results",
    "ask_experience",
    "ask_safety",
    "ask_suitability",
    "ask_vs_surgery",
    "ask_other_uses",
}
SHORT_REPLY_WORDS = 3


def language_of(entities: Sequence[Mapping[str, Any]]) -> Optional[str]:
    """The language code of a message not in English (clinic_nlu.language), if any."""
    return next(
        (str(e.get("value")) for e in entities or () if e.get("entity") == "language"), None
    )


def language_notice(content: Content, code: str) -> OutgoingMessage:
    """ "Lo siento, solo puedo responder en inglés..." + the same in English, with a person."""
    notices = content.messages.get("other_language") or {}
    texts = [notices.get(code), notices.get("in_english")]
    return OutgoingMessage(" ".join(t for t in texts if t), [answers.person_button(content)])


def mentions_contact(text: str) -> bool:
    """ "who do I contact?", "should I come back to the clinic?", "what's your number?" """
    lowered = (text or "").lower()
    return any(word in lowered for word in CONTACT_WORDS)


def after_urgent_advice(
    content: Content, parts: List[str], text: str, topics: set
) -> Optional[List[OutgoingMessage]]:
    """A later turn after urgent advice; None when it is only a question about a fact the
    article holds or does not hold (answered as usual, with a reminder added by the caller).

    ``topics``: the intents that are questions (answers.question_intents).
    """
    person = [answers.person_button(content)]
    if (
        parts
        and set(parts) <= SMALL_TALK_INTENTS
        and not safety.has_cue(content, "follow_up_cues", text)
    ):
        # "thanks", "bye": the reminder alone, not the whole advice again
        return [OutgoingMessage(safety.urgent_follow_up(content, "reminder"), person)]
    if set(parts) & BOOKING_INTENTS:
        return [OutgoingMessage(safety.urgent_follow_up(content, "booking_refused_reply"), person)]
    if set(parts) & CONTACT_INTENTS or mentions_contact(text):
        return [OutgoingMessage(safety.urgent_follow_up(content, "contact_reply"), person)]
    new_topic = (
        set(parts) & topics
        and safety.has_cue(content, "new_topic_cues", text)
        and not safety.has_cue(content, "follow_up_cues", text)
    )
    if new_topic:
        return None  # "different question, ...": answered, with the reminder
    about_it = (
        not set(parts) & topics
        or set(parts) & (FOLLOW_UP_INTENTS | ABOUT_THE_TREATMENT)
        or safety.has_cue(content, "follow_up_cues", text)
    )
    if about_it:
        return [OutgoingMessage(safety.urgent_follow_up(content, "follow_up_reply"), person)]
    return None


def is_reaction_follow_up(
    content: Content, parts: List[str], text: str, mentioned: List[str], topics: set
) -> bool:
    """After a reaction report: more about it ("should I worry?", "is that the muscles
    working?"), rather than an unrelated question (the price) or small talk."""
    if mentioned or safety.has_cue(content, "follow_up_cues", text):
        return True
    if set(parts) & topics and safety.has_cue(content, "new_topic_cues", text):
        return False  # "unrelated, but is it worth the money?"
    if set(parts) & (FOLLOW_UP_INTENTS | ABOUT_THE_TREATMENT):
        return True
    return not set(parts) & topics and not set(parts) & {
        "thank",
        "goodbye",
        "book",
        "request_human",
        "cancel",
    }


def asks_to_treat_it(content: Content, parts: List[str], text: str) -> bool:
    """After a health question outside the treatment: "could the facial get rid of it?" """
    return safety.has_cue(content, "treat_it_cues", text) or bool(
        set(parts) & {"ask_results", "ask_other_uses", "ask_medical_advice"}
    )


def is_pushback(
    content: Content,
    turn_text: str,
    parts: List[str],
    retracted: List[str],
    active: safety.Disclosure,
    symptoms: Sequence[str] = (),
) -> bool:
    """After a disclosure: the visitor argues it does not count, says it no longer applies, or
    describes it further ("it's itchy and spreading")."""
    if set(retracted) & set([*active.conditions, *active.uncovered]) or symptoms:
        return True
    if safety.has_cue(content, "pushback_cues", turn_text):
        return True
    if set(parts) & GUIDANCE_INTENTS:
        return True
    # "no" alone answers the offer of a person; a longer "no, ..." argues with the guidance.
    return "deny" in parts and len((turn_text or "").split()) > SHORT_REPLY_WORDS


def has_no_words(text: str) -> bool:
    """An emoji, dots or punctuation only: nothing to classify ("👍", "...", "?!")."""
    return bool(text and text.strip()) and not any(ch.isalnum() for ch in text)


# Skin tones and the emoji variation selector change how an emoji looks, not what it means.
EMOJI_MODIFIERS = re.compile("[\U0001f3fb-\U0001f3ff\ufe0f\u200d\\s]")


def emoji_meaning(content: Content, text: str) -> Optional[str]:
    """The intent a message of emoji only means (messages.yml ``emoji_meanings``), or None."""
    bare = EMOJI_MODIFIERS.sub("", text or "")
    if not bare:
        return None
    for intent, emoji in (content.messages.get("emoji_meanings") or {}).items():
        known = {EMOJI_MODIFIERS.sub("", str(e)) for e in emoji or []}
        if known and all(ch in known for ch in bare):
            return str(intent)
    return None


def is_correction(content: Content, turn_text: str) -> bool:
    """ "Sorry, I meant my sister, not me" or "the pacemaker is my sister's": the condition is
    someone else's."""
    return safety.has_cue(content, "correction_cues", turn_text) or _names_its_owner(
        content, turn_text
    )


def _names_its_owner(content: Content, turn_text: str) -> bool:
    """ "the pacemaker is my sister's", "it was my dad's": a possessive of one of the people
    ``third_person_cues`` lists ("my sister"), after "is" or "was"."""
    people = {
        cue.lower().split()[1]
        for cue in content.contraindications.third_person_cues
        if len(cue.split()) == 2 and cue.lower().split()[0] in ("my", "her", "his", "our")
    }
    if not people:
        return False
    owner = re.compile(
        r"\b(?:is|was|are|were|'s)\s+(?:my|her|his|our)\s+(?:\w+\s+)?("
        + "|".join(sorted(map(re.escape, people)))
        + r")(?:'s|’s|s')(?!\w)",
        re.IGNORECASE,
    )
    return bool(owner.search(turn_text or ""))


def is_own_health_clear(
    content: Content,
    turn_text: str,
    latest: safety.Disclosure,
    earlier: safety.Disclosure,
    retracted: Sequence[str] = (),
) -> bool:
    """ "I'd be the one getting the facial" (or "I don't have a pacemaker": ``retracted``, the
    conditions this message denies) after (or with) a condition that is someone else's: the
    visitor, who would be treated, is not the one with it. Never after their own."""
    about = latest if latest.any else earlier
    return (
        about.any
        and about.subject == "other"
        and (
            safety.has_cue(content, "own_health_cues", turn_text)
            or bool(set(retracted) & {*about.conditions, *about.uncovered})
        )
    )


# English words that may stand beside "gracias" or "спасибо" in a message of small talk only.
ENGLISH_SMALL_TALK = {"thanks", "thank", "you", "bye", "goodbye", "hi", "hello", "hey", "so",
                      "much", "very", "and", "ok", "okay", "again"}  # fmt: skip


def small_talk_in_another_language(content: Content, text: str) -> Optional[str]:
    """ "谢谢", "спасибо, thanks, goodbye", "muchas gracias": the small-talk intent (thank,
    goodbye, greet) of a message made only of such words (messages.yml
    ``other_language_small_talk``), else None."""
    table = content.messages.get("other_language_small_talk") or {}
    phrases = {
        " ".join(str(phrase).lower().split()): str(intent)
        for intent, words in table.items()
        for phrase in words or []
    }
    if not phrases:
        return None
    said = " ".join(re.sub(r"[^\w\s'’]", " ", (text or "").lower()).split())
    found: List[str] = []
    # longest phrases first, so "muchas gracias" is one phrase and not "muchas" + "gracias"
    for phrase in sorted(phrases, key=len, reverse=True):
        pattern = r"(?<!\w)" + re.escape(phrase) + r"(?!\w)"
        if re.search(pattern, said):
            found.append(phrases[phrase])
            said = re.sub(pattern, " ", said)
    if not found or any(word not in ENGLISH_SMALL_TALK for word in said.split()):
        return None
    return found[0] if len(set(found)) == 1 else ("goodbye" if "goodbye" in found else found[0])


def says_yes_in_another_language(
    content: Content, text: str, entities: Sequence[dict], person_offered: bool
) -> bool:
    """ "sí, por favor" after the language notice offered a person (messages.yml
    ``other_language_yes``): the hand-off, as an English "yes" would start it."""
    if not person_offered or not language_of(entities):
        return False
    if any(
        e.get("entity") in ("condition", "uncovered_condition", "urgent_symptom") for e in entities
    ):
        return False
    words = re.sub(r"[^\w\s']", " ", (text or "").lower()).split()
    if not words or len(words) > 5:
        return False
    yeses = {str(w).lower() for w in content.messages.get("other_language_yes") or []}
    said = " ".join(words)
    return any(said == yes or said.startswith(yes + " ") for yes in yeses) or any(
        ch in yeses for ch in said if not ch.isascii() and len(said) <= 3
    )

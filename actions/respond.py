"""Decides what the assistant says to one visitor message (safety first, then the answer).

Shared by every action that answers a question: ``action_answer``, ``action_clarify`` and the
form validators when a question interrupts a form. Pure logic over ``Content``.
"""

import logging
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

from actions import answerability, answers, conversation_safety, safety
from actions.answers import OutgoingMessage
from clinic_content.store import Content

logger = logging.getLogger(__name__)

FALLBACK_INTENT = "nlu_fallback"
# After a condition is disclosed, these questions are answered with the condition's reply only:
# the general answer to them would read as a judgement on the visitor's own case.
ANSWERED_BY_DISCLOSURE = {
    "ask_safety",
    "ask_suitability",
    "inform_condition",
    "greet",
    "affirm",
    "deny",
    "thank",
    FALLBACK_INTENT,
    "out_of_scope",
    "cancel",
}
# Asked after an earlier disclosure, these get the disclosure's replies again.
ANSWERED_FOR_THE_DISCLOSURE = {"ask_safety", "ask_suitability", "book"}
MULTI_INTENT_SEPARATOR = "+"
SIDE_EFFECT_ENTITY = "side_effect_question"
# Questions about something else than the 4-D Facial (another treatment, a home device).
OTHER_SUBJECTS = {"ask_other_treatments", "ask_home_devices"}
UNANSWERED_KINDS = {"unknown"}
# Small talk answered as it is, also in another language ("谢谢").
GREETINGS = {"thank", "goodbye", "greet"}
# Added by clinic_nlu.QuestionPartExtractor when a message asks several things (docs/nlu.md).
QUESTION_PART_ENTITY = "question_part"
MAX_PARTS = 3
# Parts that are requests rather than questions: answered with an offer (booking buttons, a
# person), never while a disclosure is active (the disclosure reply already offers a person).
BOOKING_PART = "book"
PERSON_PART = "request_human"


@dataclass
class TurnState:
    """What the action knows of the conversation before answering."""

    intent: Optional[str]
    entities: Sequence[Dict[str, Any]] = ()
    ranking: Sequence[Dict[str, Any]] = ()
    earlier: safety.Disclosure = field(default_factory=safety.Disclosure)
    misses_in_a_row: int = 0
    text: str = ""
    # Urgent advice was given earlier in the conversation (it holds to the end).
    emergency: bool = False
    # Reactions after a treatment reported earlier (symptom ids).
    reactions: Sequence[str] = ()
    # The last answer was the kind limit for a health question outside the treatment.
    medical_topic: bool = False


@dataclass
class Plan:
    """The messages to send and what to remember."""

    messages: List[OutgoingMessage] = field(default_factory=list)
    disclosure: safety.Disclosure = field(default_factory=safety.Disclosure)
    person_offered: bool = False
    misses_in_a_row: int = 0
    # Why the message counts as unanswered ("unknown", "out_of_scope", "fallback"), or None.
    unanswered: Optional[str] = None
    # The kind of content answer given ("article", "unknown", "conversation"), if any.
    answered_kind: Optional[str] = None
    emergency: bool = False
    reactions: List[str] = field(default_factory=list)
    medical_topic: bool = False
    # A note for staff about a reaction or urgent symptoms after a treatment: the symptom ids
    # (the action stores it as a follow-up request), or None.
    follow_up: Optional[List[str]] = None


def intent_parts(intent: Optional[str]) -> List[str]:
    """The questions in one message: Rasa's multi-intents are named "ask_what_is+ask_price"."""
    return [part for part in (intent or "").split(MULTI_INTENT_SEPARATOR) if part]


def message_parts(intent: Optional[str], entities: Sequence[Dict[str, Any]] = ()) -> List[str]:
    """The questions of one message, in the order asked (at most ``MAX_PARTS``).

    The ``question_part`` entities when the message holds two or more different ones (each
    clause classified on its own), else the intent's parts (one, or a trained multi-intent).
    """
    spans = sorted(
        (e for e in entities if e.get("entity") == QUESTION_PART_ENTITY),
        key=lambda e: e.get("start") or 0,
    )
    split: List[str] = []
    for entity in spans:
        value = str(entity.get("value") or "")
        if value and value not in split:
            split.append(value)
    if len(split) >= 2:
        return split[:MAX_PARTS]
    return intent_parts(intent)


def plan_reply(content: Content, turn: TurnState) -> Plan:
    """The reply to one message: urgent care, condition replies, then the answer, all guarded.

    What happened earlier in the conversation comes first (actions/conversation_safety.py):
    urgent advice, a reaction after a treatment, a disclosure argued with.
    """
    latest = safety.disclosure_from_entities(turn.entities)
    active = safety.merge(turn.earlier, latest)
    reported = safety.reactions_in(turn.entities)
    plan = Plan(
        disclosure=active,
        emergency=turn.emergency or latest.urgent,
        reactions=_merged(turn.reactions, reported),
    )
    parts = message_parts(turn.intent, turn.entities)
    if active.any or plan.emergency:
        parts = [
            p
            for p in parts
            if p not in (BOOKING_PART, PERSON_PART)
            or (plan.emergency and p == BOOKING_PART and len(parts) == 1)
        ]
    if latest.any:
        # A disclosure beside questions ("I have a pacemaker. does it hurt and how much is
        # it?"): the condition's reply, and only the facts the article does not hold; article
        # answers ("painless", "gentle") would read as a verdict on the visitor's case.
        parts = [p for p in parts if _kind(content, p) in UNANSWERED_KINDS]
    if (
        any(e.get("entity") == SIDE_EFFECT_ENTITY for e in turn.entities)
        and not latest.any
        and not set(parts) & OTHER_SUBJECTS
    ):
        # "can microcurrent cause Bell's palsy?": the safety answer, whatever the topic read
        parts = ["ask_safety"]
    if set(parts) & OTHER_SUBJECTS:
        # "Radiofrequency or microcurrent: what's the difference, and which suits me?": the
        # later clause's "it" may be the other treatment or device, so nothing from the
        # article is said about it; the honest answer covers the question.
        parts = [p for p in parts if _kind(content, p) != "article"] or parts
    if latest.urgent:
        # One fixed message, nothing else: the visitor must act on it.
        plan.messages = [
            OutgoingMessage(safety.urgent_reply(content, safety.urgent_in(turn.entities)))
        ]
        urgent = [e for e in turn.entities if e.get("entity") == "urgent_symptom"]
        if reported or turn.reactions or any(e.get("role") == "after_treatment" for e in urgent):
            plan.follow_up = list(dict.fromkeys(str(e["value"]) for e in urgent))
        return plan
    if _later_turn_decides(content, turn, parts, latest, active, reported, plan):
        _guard_all(content, active, plan, reminder=False)
        return plan

    if latest.any:
        _say_disclosure_replies(content, latest, plan)
        _answer_questions(
            content, turn, [p for p in parts if p not in ANSWERED_BY_DISCLOSURE], plan
        )
    elif (
        active.any
        and active.subject != safety.CORRECTED
        and set(parts) & ANSWERED_FOR_THE_DISCLOSURE
    ):
        # "Is it safe for me?" after an earlier disclosure: answer for that disclosure (not
        # after "it's my friend's, not mine": then the visitor gets the general answer).
        _say_disclosure_replies(content, active, plan)
        _answer_questions(
            content, turn, [p for p in parts if p not in ANSWERED_BY_DISCLOSURE], plan
        )
    else:
        _answer_questions(content, turn, parts, plan)

    if (
        latest.any
        and latest.subject == "other"
        and not turn.earlier.any
        and conversation_safety.is_correction(content, turn.text)
    ):
        # "Is it suitable with a pacemaker? Asking for my husband, not me": the guidance for
        # him, and the visitor is not taken to have it (a booking still asks the health question)
        plan.disclosure.subject = safety.CORRECTED
    if active.any or plan.emergency:
        _guard_all(content, active, plan)
    if turn.medical_topic and plan.answered_kind != "article":
        # a health problem stays the subject until an answer about the facial itself: "what
        # should I do then?" and then "can I still get the facial with the mole there?"
        plan.medical_topic = True
    return plan


def _merged(earlier: Sequence[str], new: Sequence[str]) -> List[str]:
    return list(dict.fromkeys([*earlier, *new]))


def _later_turn_decides(
    content: Content,
    turn: TurnState,
    parts: List[str],
    latest: safety.Disclosure,
    active: safety.Disclosure,
    reported: List[str],
    plan: Plan,
) -> bool:
    """Turns decided by what happened earlier (or by the language); True when planned here."""
    cs = conversation_safety
    language = cs.language_of(turn.entities)
    small_talk = cs.small_talk_in_another_language(content, turn.text) if language else None
    if small_talk and not latest.any and not turn.emergency:
        # "谢谢", "спасибо, thanks, goodbye": the thanks or goodbye, not the language notice
        _answer_one(content, turn.intent if turn.intent in GREETINGS else small_talk, plan)
        return True
    if language:
        if turn.emergency and not latest.any:
            # "aidez-moi", "me duele mucho" after urgent advice: we can't read it, so the
            # advice is repeated before the notice (never only "I answer in English").
            plan.messages.append(
                OutgoingMessage(safety.urgent_follow_up(content, "follow_up_reply"))
            )
        if latest.any:
            _say_disclosure_replies(content, latest, plan)
        elif active.any:  # "¿entonces puedo reservar?" after "estoy embarazada"
            plan.messages.append(OutgoingMessage(safety.pushback_reply(content, active)))
        plan.messages.append(cs.language_notice(content, language))
        plan.person_offered = True
        plan.unanswered = None if latest.any else "other_language"
        return True
    topics = answers.question_intents(content)
    if cs.has_no_words(turn.text) and not latest.any:
        meaning = cs.emoji_meaning(content, turn.text)
        if meaning and not turn.emergency:
            _answer_one(content, meaning, plan)  # "👍" after an answer: thanks, never a "yes"
            return True
        # "...", "🤔": nothing to answer, and never a "yes" to something unread.
        plan.messages.append(
            OutgoingMessage(content.message("no_words"), answers.start_buttons(content))
        )
        return True
    mentioned = safety.reactions_in(turn.entities, reported_only=False)
    new_reactions = [r for r in reported if r not in turn.reactions]
    if reported or (
        turn.reactions and cs.is_reaction_follow_up(content, parts, turn.text, mentioned, topics)
    ):
        if latest.any:
            _say_disclosure_replies(content, latest, plan)
        follow_up = bool(turn.reactions) and not new_reactions
        plan.messages.append(
            OutgoingMessage(
                safety.after_treatment_reply(content, follow_up), [answers.person_button(content)]
            )
        )
        plan.person_offered = True
        if new_reactions:
            plan.follow_up = new_reactions
        return True
    if turn.emergency:
        said = cs.after_urgent_advice(content, parts, turn.text, topics)
        if said is None:
            return False  # a topic question: answered, with the reminder (_guard_all)
        plan.messages += said
        plan.person_offered = True
        # Facts the article does not hold ("how much is it?") are still answered honestly.
        for part in parts:
            if _kind(content, part) in UNANSWERED_KINDS:
                _answer_one(content, part, plan)
        return True
    corrected = (
        turn.earlier.any
        and cs.is_correction(content, turn.text)
        and (not latest.any or latest.subject == "other")
    )
    # "my friend has a pacemaker, I'd be the one getting the facial" (or, later, "I don't
    # have any myself"): only ever about a condition that was someone else's.
    own_health = cs.is_own_health_clear(
        content, turn.text, latest, turn.earlier, safety.retracted_in(turn.entities)
    )
    if corrected or own_health:
        # "Sorry, I meant my sister, not me": the only thing that changes what we believe.
        plan.disclosure.subject = safety.CORRECTED
        if own_health and latest.any:
            _say_disclosure_replies(content, latest, plan)
        plan.messages.append(OutgoingMessage(safety.correction_reply(content)))
        asked = [p for p in parts if p in topics]
        if asked and not latest.any:
            # "and for me? I'm healthy. would it suit me?": the question is answered too
            _answer_questions(content, turn, asked, plan)
        return True
    if not latest.any and safety.has_cue(content, "medical_cues", turn.text):
        # "should I stop my steroids?", "can I take ibuprofen?": a medical question
        _answer_one(content, "ask_medical_advice", plan)
        return True
    if not latest.any and turn.medical_topic and cs.asks_to_treat_it(content, parts, turn.text):
        # "could the facial get rid of it?" after a health question: the article doesn't say
        # (an honest unknown, recorded for staff), and the doctor for the problem itself.
        plan.messages.append(
            OutgoingMessage(content.message("treat_it_unknown"), [answers.person_button(content)])
        )
        plan.person_offered = True
        plan.medical_topic = True
        plan.unanswered = "unknown"
        return True
    repeated = latest.any and set(latest.conditions + latest.uncovered) <= set(
        turn.earlier.conditions + turn.earlier.uncovered
    )
    if active.any and (not latest.any or repeated):
        # "the article says it treats Bell's palsy so it's fine for me": nothing new, pushback.
        retracted = safety.retracted_in(turn.entities)
        if repeated and not safety.has_cue(content, "pushback_cues", turn.text):
            return False
        asks_again = set(parts) & ANSWERED_FOR_THE_DISCLOSURE and not retracted
        if not asks_again and (
            repeated or cs.is_pushback(content, turn.text, parts, retracted, active, mentioned)
        ):
            plan.messages.append(
                OutgoingMessage(
                    safety.pushback_reply(content, active), [answers.person_button(content)]
                )
            )
            plan.person_offered = True
            return True
    return False


def _say_disclosure_replies(content: Content, disclosure: safety.Disclosure, plan: Plan) -> None:
    plan.messages += [OutgoingMessage(text) for text in safety.replies_for(content, disclosure)]
    plan.messages[-1].buttons.append(answers.person_button(content))
    plan.person_offered = True


def _answer_questions(content: Content, turn: TurnState, parts: List[str], plan: Plan) -> None:
    """Answer each question of the message (one, or two for a multi-intent)."""
    if not parts and plan.messages:
        return
    if parts and parts != [FALLBACK_INTENT]:
        # A part whose answer needs its topic named, in a question that doesn't name it, is
        # a guess of the recogniser's: "did you mean ...?" rather than a confident answer.
        parts = [part for part in parts if _names_its_topic(content, turn, part, len(parts))]
    if not parts or parts == [FALLBACK_INTENT]:
        _clarify(content, turn, plan)
        return
    for part in parts:
        if part == BOOKING_PART and len(parts) > 1:
            _offer_booking(content, plan)
        elif part == PERSON_PART and len(parts) > 1:
            _offer_person(content, plan)
        else:
            _answer_one(content, part, plan, question_text(turn, part, len(parts)))


def _names_its_topic(content: Content, turn: TurnState, part: str, parts: int) -> bool:
    answer = answers.answer_for(content, part)
    if answer is None or answer.kind != "article":
        return True
    return answerability.names_topic(
        content.answerability, answer.id, question_text(turn, part, parts)
    )


def _offer_booking(content: Content, plan: Plan) -> None:
    """ "...and can I book?" next to a question: the answers' own booking button (a plain
    ``/book`` payload from answers.yml, as the website channel accepts no entity payloads)."""
    button = next(
        (
            b
            for answer in content.answer_for_intent.values()
            for b in answer.buttons
            if b.payload == "/" + BOOKING_PART
        ),
        None,
    )
    offered = any(b.payload == "/" + BOOKING_PART for m in plan.messages for b in m.buttons)
    if button is not None and plan.messages and not offered:
        plan.messages[-1].buttons.append(button)


def _kind(content: Content, intent: str) -> Optional[str]:
    answer = answers.answer_for(content, intent)
    return answer.kind if answer else None


def _offer_person(content: Content, plan: Plan) -> None:
    """ "...and can I talk to someone?" next to a question: offer the hand-off (once)."""
    if plan.person_offered:
        return
    plan.messages.append(
        OutgoingMessage(content.message("offer_person"), [answers.person_button(content)])
    )
    plan.person_offered = True


def question_text(turn: TurnState, part: str, parts: int) -> str:
    """The words of the question a part answers: its clause, or the whole message. "" when
    the message has several parts and this one's clause is not known: the whole message would
    hold the other part's words ("what is it and what does it COST?" is no price question for
    the "what is it" part), so nothing is checked against it."""
    if parts > 1:
        for entity in turn.entities:
            if entity.get("entity") == QUESTION_PART_ENTITY and entity.get("value") == part:
                return turn.text[int(entity.get("start") or 0) : int(entity.get("end") or 0)]
        return ""
    return turn.text


def _answer_one(content: Content, intent: str, plan: Plan, question: str = "") -> None:
    answer = answers.answer_for(content, intent)
    if answer is None:
        # affirm / deny / cancel with nothing pending
        if not plan.messages:
            plan.messages.append(OutgoingMessage(content.message("anything_else")))
        return
    if answer.kind == "article" and intent != "inform_condition":
        missing = answerability.not_covered(content.answerability, answer.id, question)
        if missing:
            _say_not_covered(content, missing, plan)
            return
    plan.messages += answers.render_answer(content, answer)
    if answer.kind == "article" or plan.answered_kind is None:
        plan.answered_kind = answer.kind
    if answer.kind in UNANSWERED_KINDS:
        plan.person_offered = True
        plan.unanswered = "unknown"
    elif answer.kind == "medical":
        plan.person_offered = True
        plan.unanswered = "medical"
        plan.medical_topic = True
    elif intent == "out_of_scope":
        plan.unanswered = "out_of_scope"


def _say_not_covered(content: Content, missing: "answerability.NotCovered", plan: Plan) -> None:
    """ "I don't have information on <what the question hinges on>", a person offered."""
    if missing.age is not None:
        ages = content.answerability.get("ages") or {}
        text = content.message(
            "not_covered_age", age=missing.age, min=ages.get("min"), max=ages.get("max")
        )
    elif missing.reply:
        text = missing.reply
    else:
        text = content.message("not_covered", topic=missing.label)
    text = " ".join([text, *answers.contact_lines(content), content.message("offer_person")])
    plan.messages.append(OutgoingMessage(text, [answers.person_button(content)]))
    plan.person_offered = True
    plan.unanswered = "unknown"
    if plan.answered_kind is None:
        plan.answered_kind = "unknown"


def _clarify(content: Content, turn: TurnState, plan: Plan) -> None:
    """Two-stage fallback: "did you mean ...?" buttons, and a person after a second miss."""
    plan.misses_in_a_row = turn.misses_in_a_row + 1
    plan.unanswered = "fallback"
    if plan.misses_in_a_row >= 2:
        plan.messages.append(
            OutgoingMessage(
                content.message("fallback_second_miss"), [answers.person_button(content)]
            )
        )
        plan.person_offered = True
        return
    buttons = answers.suggestions(content, turn.ranking)
    if buttons:
        plan.messages.append(OutgoingMessage(content.message("fallback_did_you_mean"), buttons))
    else:
        plan.messages.append(
            OutgoingMessage(
                content.message("fallback_nothing_matched"), [answers.person_button(content)]
            )
        )
        plan.person_offered = True


def _guard_all(
    content: Content, active: safety.Disclosure, plan: Plan, reminder: bool = True
) -> None:
    """While a disclosure (or urgent advice) is active: no reassurance anywhere, and a
    reminder on article answers, for the article's conditions and the ones it does not cover."""
    for message in plan.messages:
        message.text = safety.guard(message.text, content)
        # No "Book a 4-D Facial" button beside a condition or after urgent advice.
        message.buttons = [b for b in message.buttons if b.payload != "/" + BOOKING_PART]
    if not reminder:
        return
    if plan.emergency:
        # After urgent advice every answer carries it ("me duele mucho" read as a price question)
        plan.messages.append(OutgoingMessage(safety.urgent_follow_up(content, "reminder")))
    elif plan.answered_kind != "article":
        return
    elif active.any and active.subject != safety.CORRECTED:
        # (after "I meant my dad, not me" the condition is someone else's: no reminder to the
        # visitor, whose own booking gets the health question instead)
        names = ", ".join(safety.label(content, c) for c in [*active.conditions, *active.uncovered])
        plan.messages.append(OutgoingMessage(content.message("safety_reminder", conditions=names)))

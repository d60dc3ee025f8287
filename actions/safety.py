"""Safety rules: what to say when a visitor discloses a condition, and the reassurance guard.

The conditions are detected on every message by the NLU component
``clinic_nlu.ContraindicationExtractor`` and arrive here as entities (category ids only). The
replies and the phrases the guard blocks come from ``data/content/contraindications.yml``.
"""

import logging
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, List, Mapping, Optional, Sequence

from clinic_common import reassurance
from clinic_content.contraindications import (
    KIND_ARTICLE,
    KIND_UNCOVERED,
    KIND_URGENT,
    ConditionRule,
)
from clinic_content.paths import CONTRAINDICATIONS_FILE
from clinic_content.placeholders import render
from clinic_content.store import Content

logger = logging.getLogger(__name__)

CONDITION_ENTITY = "condition"
UNCOVERED_ENTITY = "uncovered_condition"
URGENT_ENTITY = "urgent_symptom"
SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+")


@dataclass
class Disclosure:
    """Condition categories mentioned by the visitor (never their own words)."""

    conditions: List[str] = field(default_factory=list)
    uncovered: List[str] = field(default_factory=list)
    urgent: bool = False
    # "self" or "other": who the last mention was about; "corrected" after the visitor clearly
    # said it is someone else's ("I meant my sister, not me"): only then may a booking for
    # the visitor go ahead, after the health screening.
    subject: Optional[str] = None

    @property
    def any(self) -> bool:
        """True when at least one condition of either kind is disclosed."""
        return bool(self.conditions or self.uncovered)


def _unique(values: Iterable[str]) -> List[str]:
    seen: List[str] = []
    for value in values:
        if value and value not in seen:
            seen.append(value)
    return seen


def disclosure_from_entities(entities: Sequence[Mapping[str, Any]]) -> Disclosure:
    """The disclosure carried by one message's entities."""
    found = Disclosure()
    for entity in entities or []:
        kind, value = entity.get("entity"), entity.get("value")
        if kind == CONDITION_ENTITY:
            found.conditions.append(str(value))
            found.subject = entity.get("role") or "self"
        elif kind == UNCOVERED_ENTITY:
            found.uncovered.append(str(value))
            found.subject = entity.get("role") or "self"
        elif kind == URGENT_ENTITY:
            found.urgent = True
    found.conditions = _unique(found.conditions)
    found.uncovered = _unique(found.uncovered)
    return found


CORRECTED = "corrected"


def merge(earlier: Disclosure, latest: Disclosure) -> Disclosure:
    """Everything disclosed so far in the conversation (a disclosure never expires); a new
    disclosure undoes an earlier correction."""
    return Disclosure(
        conditions=_unique([*earlier.conditions, *latest.conditions]),
        uncovered=_unique([*earlier.uncovered, *latest.uncovered]),
        urgent=latest.urgent,
        subject=latest.subject or earlier.subject,
    )


def books_as_consultation(disclosure: Disclosure, people: int = 1) -> bool:
    """A booking becomes a consultation request while any disclosure stands, unless the visitor
    clearly corrected who it was about (then the screening question decides); never for a
    group, where the someone else may be one of the party."""
    return disclosure.any and (disclosure.subject != CORRECTED or people > 1)


def article_conditions(content: Content) -> List[ConditionRule]:
    """The article's contraindications (``conditions:`` in contraindications.yml)."""
    return [r for r in content.contraindications.conditions if r.kind == KIND_ARTICLE]


def uncovered_conditions(content: Content) -> List[ConditionRule]:
    """Conditions the article does not cover (``uncovered: conditions:``)."""
    return [r for r in content.contraindications.conditions if r.kind == KIND_UNCOVERED]


def label(content: Content, condition_id: str) -> str:
    """How the assistant names a condition category."""
    rule = content.contraindications.find(condition_id, (KIND_ARTICLE, KIND_UNCOVERED))
    return rule.label if rule else condition_id.replace("_", " ")


def condition_reply(content: Content, condition_id: str) -> str:
    """The reply for an article contraindication (falls back to the generic one)."""
    rules = content.contraindications
    rule = rules.find(condition_id, (KIND_ARTICLE,))
    if rule and rule.reply:
        return rule.reply.strip()
    return (rules.generic_reply or rules.urgent_reply).strip()


def uncovered_reply(content: Content, condition_id: str) -> str:
    """The reply for a condition the article does not cover: no reassurance, ask a person."""
    values = {"label": label(content, condition_id)}
    rule = content.contraindications.find(condition_id, (KIND_UNCOVERED,))
    if rule and rule.own_reply:
        return render(
            rule.own_reply, values, where=(CONTRAINDICATIONS_FILE, "uncovered.conditions[].reply")
        ).strip()
    return render(
        content.contraindications.uncovered_reply_template,
        values,
        where=(CONTRAINDICATIONS_FILE, "uncovered.reply"),
    ).strip()


def urgent_reply(content: Content, symptoms: Sequence[str] = ()) -> str:
    """The fixed message for urgent symptoms: a symptom's own reply when it has one (thoughts
    of self-harm get a crisis line too), else the urgent reply."""
    rules = content.contraindications
    for rule in rules.conditions:
        if rule.kind == KIND_URGENT and rule.id in symptoms and rule.own_reply:
            return " ".join(rule.own_reply.split())
    return rules.urgent_reply.strip()


def urgent_in(entities: Sequence[Mapping[str, Any]]) -> List[str]:
    """The urgent symptom ids of one message."""
    return _unique(str(e.get("value")) for e in entities or [] if e.get("entity") == URGENT_ENTITY)


def replies_for(content: Content, disclosure: Disclosure) -> List[str]:
    """One reply per disclosed condition, article conditions first, no repeats."""
    replies = [condition_reply(content, c) for c in disclosure.conditions]
    replies += [uncovered_reply(content, c) for c in disclosure.uncovered]
    return _unique(replies)


def reassurance_phrases(content: Content) -> List[str]:
    """Phrases that must never reach a visitor who disclosed a condition."""
    return [phrase.lower() for phrase in content.contraindications.reassurance_phrases]


def find_reassurance(text: str, phrases: Sequence[str]) -> Optional[str]:
    """The first reassurance phrase in ``text`` (whole words; any case, quote style or spacing).

    The one matcher shared with `make check` (clinic_common.reassurance), so the guard and the
    check of the staff's replies always agree.
    """
    return reassurance.find_first(text, phrases)


def guard(text: str, content: Content) -> str:
    """Drop every sentence that reassures; used on every reply while a disclosure is active.

    A sentence is dropped rather than the whole reply so the factual rest still helps; if
    nothing is left, the visitor gets the generic "talk to a person first" reply.
    """
    phrases = reassurance_phrases(content)
    kept = []
    for sentence in SENTENCE_SPLIT.split(text):
        hit = find_reassurance(sentence, phrases)
        if hit:
            logger.warning("Safety guard removed a reassuring sentence (phrase '%s')", hit)
            continue
        kept.append(sentence)
    if kept:
        return " ".join(kept)
    return content.contraindications.generic_reply or content.message("offer_person")


# --- later turns: urgent advice, reactions after a treatment, pushback ----------------------

AFTER_TREATMENT_ENTITY = "after_treatment"
RETRACTED_ENTITY = "retracted_condition"
REPORTED_ROLE = "reported"


def reactions_in(entities: Sequence[Mapping[str, Any]], reported_only: bool = True) -> List[str]:
    """Symptom ids of mild reactions after a treatment named in one message.

    ``reported_only``: only those next to a treatment cue ("after my facial"); otherwise every
    symptom word, which counts only as a follow-up of an earlier report.
    """
    return _unique(
        str(e.get("value"))
        for e in entities or []
        if e.get("entity") == AFTER_TREATMENT_ENTITY
        and (not reported_only or e.get("role") == REPORTED_ROLE)
    )


def retracted_in(entities: Sequence[Mapping[str, Any]]) -> List[str]:
    """Condition ids the visitor says they do not (or no longer) have."""
    return _unique(
        str(e.get("value")) for e in entities or [] if e.get("entity") == RETRACTED_ENTITY
    )


def phone_sentence(content: Content) -> str:
    """ "You can also call the clinic on ..." when contact.yml has a phone number, else how to
    have the clinic call back (the "Talk to a person" button)."""
    phone = (content.contact.get("clinic") or {}).get("phone")
    if phone:
        return content.message("contact_phone", phone=phone)
    return content.messages.get("contact_phone_missing") or ""


def _filled(content: Content, key: str, template: str, **values: Any) -> str:
    """A reply of contraindications.yml (``key``: its place there) with ``{phone_sentence}``
    and ``values`` filled in, on one line."""
    text = render(
        template,
        {"phone_sentence": phone_sentence(content), **values},
        where=(CONTRAINDICATIONS_FILE, key),
    )
    return " ".join(text.split())


def urgent_follow_up(content: Content, key: str) -> str:
    """A reply for later turns after urgent advice (``follow_up_reply``, ``contact_reply``...)."""
    rules = content.contraindications
    if rules.urgent_follow_up.get(key):
        return _filled(content, f"urgent.{key}", rules.urgent_follow_up[key])
    return _filled(content, "urgent.reply", rules.urgent_reply)


def after_treatment_reply(content: Content, follow_up: bool = False) -> str:
    """The honest reply to a reaction after a treatment: not covered, call the clinic."""
    replies = content.contraindications.after_treatment_replies
    for key in ("follow_up_reply" if follow_up else "reply", "reply"):
        if replies.get(key):
            return _filled(content, f"after_treatment.{key}", replies[key])
    return _filled(content, "urgent.reply", urgent_reply(content))


def has_cue(content: Content, key: str, text: str) -> bool:
    """True when ``text`` holds one of the phrases listed under ``key`` (pushback, correction)."""
    phrases = content.contraindications.cues(key)
    return bool(text and phrases and reassurance.find_first(text, phrases))


def pushback_reply(content: Content, disclosure: Disclosure) -> str:
    """The clinic's guidance again, after a visitor argues their condition does not count."""
    labels = [label(content, c) for c in [*disclosure.conditions, *disclosure.uncovered]]
    replies = content.contraindications.conversation_replies
    key = "pushback_reply"
    if not disclosure.conditions and replies.get("pushback_reply_uncovered"):
        key = "pushback_reply_uncovered"  # only conditions the clinic's information does not cover
    template = replies.get(key)
    if not template:
        return " ".join(replies_for(content, disclosure))
    return _filled(content, key, template, conditions=" and ".join(labels))


def correction_reply(content: Content) -> str:
    """After "sorry, I meant my sister, not me"."""
    template = content.contraindications.conversation_replies.get("correction_reply")
    if template:
        return _filled(content, "correction_reply", template)
    return " ".join(content.message("anything_else").split())

"""``contraindications.yml``: the health conditions, the words visitors use for them, the cue
words around them and what the assistant replies -- as one checked ``ContraindicationRules``.

The one model of the file, read by the NLU's condition detector (``clinic_nlu``), the
actions' safety replies and reassurance guard (``actions.safety``, and through it the website
channel), the request e-mail and staff page (condition labels) and `make check`. It is loaded
and checked by :mod:`clinic_content.contraindications_check`. Nothing here depends on spaCy
or Rasa.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Mapping, Optional, Tuple

from clinic_common import reassurance

KIND_ARTICLE = "article"
KIND_UNCOVERED = "uncovered"
KIND_URGENT = "urgent"
# A symptom after a treatment already had (tingling, redness...): reported only next to a
# treatment cue ("after my facial"); severe ones are urgent symptoms instead.
KIND_AFTER_TREATMENT = "after_treatment"
KINDS = (KIND_ARTICLE, KIND_UNCOVERED, KIND_URGENT, KIND_AFTER_TREATMENT)

# Replies used after urgent advice, in later turns of the same conversation.
URGENT_FOLLOW_UP_REPLIES = ("follow_up_reply", "booking_refused_reply", "contact_reply", "reminder")
# Replies to a report about a treatment already had.
AFTER_TREATMENT_REPLIES = ("reply", "follow_up_reply")
# After a disclosure: pushback / self-clearance, and a clear correction of who it is about.
CONVERSATION_LISTS = (
    "pushback_cues",
    "correction_cues",
    "own_health_cues",
    "follow_up_cues",
    "treat_it_cues",
    "medical_cues",
    "new_topic_cues",
)
CONVERSATION_REPLIES = ("pushback_reply", "pushback_reply_uncovered", "correction_reply")


@dataclass(frozen=True)
class ConditionRule:
    """One condition (or urgent symptom) and the words that name it."""

    id: str
    kind: str
    label: str
    terms: Tuple[str, ...]
    # what the assistant says: the entry's own reply, else its section's (uncovered: filled
    # with the label); "" for a reaction after a treatment (its section's replies are used)
    reply: str
    source: Optional[str] = None
    not_after: Tuple[str, ...] = ()
    # words right after a term that make it a thing, not a history ("facelift DEVICES")
    not_before: Tuple[str, ...] = ()
    # the entry's own reply as written (placeholders not filled), None when it has none
    own_reply: Optional[str] = None
    # urgent symptoms whose words are about now themselves ("is this an emergency?")
    always_now: bool = False


@dataclass(frozen=True)
class ContraindicationRules:
    """Everything read from the rules file, checked and ready to use."""

    path: str
    conditions: Tuple[ConditionRule, ...]
    uncovered_reply_template: str
    urgent_reply: str
    generic_reply: Optional[str]
    negation_cues: Tuple[str, ...]
    not_negation_cues: Tuple[str, ...]
    scope_breaks: Tuple[str, ...]
    first_person_cues: Tuple[str, ...]
    third_person_cues: Tuple[str, ...]
    side_effect_cues: Tuple[str, ...]
    ignore_phrases: Tuple[str, ...]
    reassurance_phrases: Tuple[str, ...]
    urgent_now_cues: Tuple[str, ...]
    urgent_question_cues: Tuple[str, ...]
    urgent_past_cues: Tuple[str, ...]
    urgent_distant_past_cues: Tuple[str, ...] = ()
    urgent_sudden_cues: Tuple[str, ...] = ()
    urgent_resolved_cues: Tuple[str, ...] = ()
    treatment_cues: Tuple[str, ...] = ()
    treatment_openers: Tuple[str, ...] = ()
    treatment_words: Tuple[str, ...] = ()
    # URGENT_FOLLOW_UP_REPLIES / AFTER_TREATMENT_REPLIES / CONVERSATION_REPLIES the file has
    urgent_follow_up: Mapping[str, str] = field(default_factory=dict)
    after_treatment_replies: Mapping[str, str] = field(default_factory=dict)
    pushback_cues: Tuple[str, ...] = ()
    correction_cues: Tuple[str, ...] = ()
    own_health_cues: Tuple[str, ...] = ()
    follow_up_cues: Tuple[str, ...] = ()
    treat_it_cues: Tuple[str, ...] = ()
    medical_cues: Tuple[str, ...] = ()
    new_topic_cues: Tuple[str, ...] = ()
    conversation_replies: Mapping[str, str] = field(default_factory=dict)

    def get(self, condition_id: str) -> ConditionRule:
        """Returns the rule with this id (raises `KeyError` if unknown)."""
        rule = self.find(condition_id)
        if rule is None:
            raise KeyError(condition_id)
        return rule

    def find(self, condition_id: str, kinds: Tuple[str, ...] = KINDS) -> Optional[ConditionRule]:
        """The rule with this id among ``kinds``, or None."""
        return next((r for r in self.conditions if r.id == condition_id and r.kind in kinds), None)

    def ids(self, kind: Optional[str] = None) -> List[str]:
        """Returns the ids of all rules, or of one kind."""
        return [r.id for r in self.conditions if kind is None or r.kind == kind]

    def reply_for(self, condition_id: str) -> str:
        """Returns what the assistant says about this condition."""
        return self.get(condition_id).reply

    def cues(self, key: str) -> Tuple[str, ...]:
        """One of the CONVERSATION_LISTS (``pushback_cues``...); () for any other key."""
        return tuple(getattr(self, key)) if key in CONVERSATION_LISTS else ()

    def reassurance_in(self, text: str) -> List[str]:
        """Returns the reassurance phrases found in `text` (whole words, any case)."""
        return find_phrases(text, self.reassurance_phrases)


def find_phrases(text: str, phrases: Tuple[str, ...]) -> List[str]:
    """Returns the phrases that occur in `text` as whole words, ignoring case, quote style and
    spacing (the same matcher as the reply guard: clinic_common.reassurance)."""
    return reassurance.find_all(text, phrases)

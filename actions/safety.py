"""Safety rules: what to say when a visitor discloses a condition, and the reassurance guard.

The conditions are detected on every message by the NLU component
``clinic_nlu.ContraindicationExtractor`` and arrive here as entities (category ids only). The
replies and the phrases the guard blocks come from ``data/content/contraindications.yml``.
"""

import functools
import logging
import re
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from actions.content import Content

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
    subject: Optional[str] = None  # "self" or "other": who the last mention was about

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


def disclosure_from_entities(entities: Sequence[Dict[str, Any]]) -> Disclosure:
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


def merge(earlier: Disclosure, latest: Disclosure) -> Disclosure:
    """Everything disclosed so far in the conversation (a disclosure never expires)."""
    return Disclosure(
        conditions=_unique([*earlier.conditions, *latest.conditions]),
        uncovered=_unique([*earlier.uncovered, *latest.uncovered]),
        urgent=latest.urgent,
        subject=latest.subject or earlier.subject,
    )


def article_conditions(content: Content) -> List[Dict[str, Any]]:
    """The article's contraindications (``conditions:`` in contraindications.yml)."""
    return list(content.contraindications.get("conditions") or [])


def uncovered_conditions(content: Content) -> List[Dict[str, Any]]:
    """Conditions the article does not cover (``uncovered: conditions:``)."""
    return list((content.contraindications.get("uncovered") or {}).get("conditions") or [])


def _find(entries: List[Dict[str, Any]], condition_id: str) -> Optional[Dict[str, Any]]:
    return next((e for e in entries if e.get("id") == condition_id), None)


def label(content: Content, condition_id: str) -> str:
    """How the assistant names a condition category."""
    entry = (_find(article_conditions(content), condition_id)
             or _find(uncovered_conditions(content), condition_id))
    return str((entry or {}).get("label") or condition_id.replace("_", " "))


def condition_reply(content: Content, condition_id: str) -> str:
    """The reply for an article contraindication (falls back to the generic one)."""
    rules = content.contraindications
    entry = _find(article_conditions(content), condition_id)
    if entry and entry.get("reply"):
        return str(entry["reply"]).strip()
    return str(rules.get("generic_reply") or rules["urgent"]["reply"]).strip()


def uncovered_reply(content: Content, condition_id: str) -> str:
    """The reply for a condition the article does not cover: no reassurance, ask a person."""
    entry = _find(uncovered_conditions(content), condition_id)
    if entry and entry.get("reply"):
        return str(entry["reply"]).strip()
    template = (content.contraindications.get("uncovered") or {}).get("reply")
    return str(template or "").format(label=label(content, condition_id)).strip()


def urgent_reply(content: Content) -> str:
    """The one fixed message for urgent symptoms."""
    return str(content.contraindications["urgent"]["reply"]).strip()


def replies_for(content: Content, disclosure: Disclosure) -> List[str]:
    """One reply per disclosed condition, article conditions first, no repeats."""
    replies = [condition_reply(content, c) for c in disclosure.conditions]
    replies += [uncovered_reply(content, c) for c in disclosure.uncovered]
    return _unique(replies)


def reassurance_phrases(content: Content) -> List[str]:
    """Phrases that must never reach a visitor who disclosed a condition."""
    return [str(p).lower() for p in content.contraindications.get("reassurance_phrases") or []]


def find_reassurance(text: str, phrases: Sequence[str]) -> Optional[str]:
    """The first reassurance phrase in ``text`` (whole words, case-insensitive), if any."""
    lowered = " ".join(text.lower().replace("\u2019", "'").split())
    # One search for all phrases first: almost every sentence has none (the guard runs on
    # every sentence of every reply). On a hit, the phrases are tried in their order.
    if not _any_phrase(tuple(phrases)).search(lowered):
        return None
    for phrase in phrases:
        if _whole_words(phrase).search(lowered):
            return phrase
    return None


@functools.lru_cache(maxsize=256)
def _whole_words(phrase: str) -> "re.Pattern[str]":
    return re.compile(r"(?<![a-z])" + re.escape(phrase) + r"(?![a-z])")


@functools.lru_cache(maxsize=16)
def _any_phrase(phrases: Tuple[str, ...]) -> "re.Pattern[str]":
    if not phrases:
        return re.compile(r"(?!)")  # matches nothing
    return re.compile(r"(?<![a-z])(?:" + "|".join(map(re.escape, phrases)) + r")(?![a-z])")


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
    return str(content.contraindications.get("generic_reply") or content.message("offer_person"))

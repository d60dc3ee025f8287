"""Judges the assistant's reply to one question by the answer it gave (issue 16).

Written apart from the production code it judges: nothing here imports actions/, clinic_nlu/,
clinic_channel/ or clinic_runtime/. It reads the assistant's fixed texts from data/content/*.yml
(plain YAML) and recognises each reply message by them.

A reply is a list of bot messages. Each message gets a class:

- ``answer:<id>``: an article or conversation answer of answers.yml;
- ``unknown``: an "I don't have that information" answer, or the refusal of a question the
  article does not cover;
- ``medical``, ``out_of_scope``, ``fallback`` (did you mean / not understood), ``not_english``;
- ``condition``, ``uncovered``, ``urgent``, ``after_treatment``: the safety replies;
- ``book`` (the booking form started), ``person`` (the hand-off started);
- ``other`` for anything else (reminders, follow-up notes...), never decisive.

A verdict is one of ``correct``, ``honest`` (an honest non-answer where another reply was
expected) and ``wrong`` (an answer about something else).
"""

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Sequence, Set

import yaml

CONTENT = Path(__file__).resolve().parents[2] / "data" / "content"
SIGNATURE_CHARS = 60
HONEST = {
    "unknown",
    "medical",
    "out_of_scope",
    "fallback",
    "not_english",
    "person",
    "condition",
    "uncovered",
    "urgent",
    "after_treatment",
}
# What each expected label accepts as correct.
ACCEPTS = {
    "unknown": {"unknown", "person"},
    "medical": {"medical", "unknown", "condition", "uncovered"},
    "out_of_scope": {"out_of_scope", "unknown", "medical", "fallback"},
    "condition": {"condition"},
    "uncovered": {"uncovered", "condition"},
    "not_english": {"not_english"},
    "book": {"book"},
    "person": {"person"},
    "urgent": {"urgent"},
    "greeting": {"answer:greet"},
    "thanks": {"answer:thank"},
}
# Labels meaning "the article is silent": an honest non-answer is fine there.
SILENT = {"unknown", "out_of_scope", "medical"}


def _flat(text: str) -> str:
    text = re.sub(r"\{[^}]*\}", " ", str(text or ""))
    text = text.replace("\u2019", "'").lower()
    return " ".join(re.sub(r"[^a-z0-9' ]", " ", text).split())


def _signature(text: str) -> str:
    """The start of a fixed text, up to its first placeholder ("{topic}") if there is one."""
    text = str(text or "")
    if "{" in text and len(_flat(text.split("{", 1)[0])) >= 20:
        text = text.split("{", 1)[0]
    return _flat(text)[:SIGNATURE_CHARS]


@dataclass
class Judge:
    """The signatures of every fixed text, from data/content/."""

    signatures: List[tuple] = field(default_factory=list)

    @classmethod
    def from_content(cls, content_dir: Path = CONTENT) -> "Judge":
        def load(name):
            return yaml.safe_load((content_dir / name).read_text(encoding="utf-8")) or {}

        answers = load("answers.yml").get("answers") or []
        messages = load("messages.yml")
        booking = load("booking.yml")
        rules = load("contraindications.yml")
        judge = cls()
        add = judge.signatures.append
        for answer in answers:
            kind = answer.get("kind")
            label = {"unknown": "unknown", "medical": "medical"}.get(kind, f"answer:{answer['id']}")
            if answer["id"] == "out_of_scope":
                label = "out_of_scope"
            add((_signature(answer["text"]), label))
        for key in (
            "fallback_did_you_mean",
            "fallback_second_miss",
            "fallback_nothing_matched",
            "no_words",
        ):
            if messages.get(key):
                add((_signature(messages[key]), "fallback"))
        for key in ("not_covered", "not_covered_age"):
            if messages.get(key):
                add((_signature(messages[key]), "unknown"))
        notices = messages.get("other_language") or {}
        for text in notices.values():
            add((_signature(text), "not_english"))
        prompts = booking.get("prompts") or {}
        for key in ("booking_intro", "booking_intro_consultation", "ask_service"):
            if prompts.get(key):
                add((_signature(prompts[key]), "book"))
        for key in ("handoff_intro", "ask_topic"):
            if prompts.get(key):
                add((_signature(prompts[key]), "person"))
        for condition in rules.get("conditions") or []:
            add((_signature(condition.get("reply", "")), "condition"))
        if rules.get("generic_reply"):
            add((_signature(rules["generic_reply"]), "condition"))
        if rules.get("pushback_reply"):
            add((_signature(rules["pushback_reply"]), "condition"))
        uncovered = (rules.get("uncovered") or {}).get("reply")
        if uncovered:
            add((_signature(uncovered.split("{label}")[0]), "uncovered"))
        urgent = rules.get("urgent") or {}
        for key in ("reply", "follow_up_reply", "booking_refused_reply", "contact_reply"):
            if urgent.get(key):
                add((_signature(urgent[key]), "urgent"))
        for symptom in urgent.get("symptoms") or []:  # symptoms with words of their own
            if symptom.get("reply"):
                add((_signature(symptom["reply"]), "urgent"))
        after = rules.get("after_treatment") or {}
        for key in ("reply", "follow_up_reply"):
            if after.get(key):
                add((_signature(after[key]), "after_treatment"))
        # Longest signatures first, so a prompt inside a longer text does not win.
        judge.signatures.sort(key=lambda item: -len(item[0]))
        return judge

    def classify(self, text: str) -> str:
        """The class of one bot message (see the module docstring)."""
        flat = _flat(text)
        for signature, label in self.signatures:
            if signature and (
                flat.startswith(signature) or (len(signature) >= 30 and signature in flat)
            ):
                return label
        return "other"

    def classes(self, reply: Sequence[Dict]) -> List[str]:
        """The classes of every message of a reply, in order."""
        return [self.classify(m.get("text") or "") for m in reply if m.get("text")]


def verdict(classes: Sequence[str], expect: Sequence[str]) -> str:
    """``correct``, ``honest`` or ``wrong`` for a reply's classes and the expected labels."""
    accepted: Set[str] = set()
    for label in expect:
        accepted |= ACCEPTS.get(label, {f"answer:{label}"})
    decisive = [c for c in classes if c != "other"]
    wrong = [c for c in decisive if c.startswith("answer:") and c not in accepted]
    wrong += [c for c in decisive if c == "book" and "book" not in accepted]
    if wrong:
        return "wrong"
    if any(c in accepted for c in decisive):
        return "correct"
    if any(c in HONEST for c in decisive) and set(expect) & SILENT:
        return "correct"
    return "honest"


def topic_of(expect: Sequence[str]) -> str:
    """The question's topic for per-topic figures: its first (preferred) label."""
    return expect[0] if expect else "?"

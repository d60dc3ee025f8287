"""How one message is read around a matched term: clauses, negation, subject, urgency.

Used by :mod:`clinic_nlu.condition_detector`, which finds the terms and cue
phrases with spaCy matchers and asks a `MessageContext` about each term. The
rules themselves are described in that module's docstring.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass
from typing import Dict, List, Sequence, Set, Tuple

from spacy.tokens import Doc, Token

from clinic_content.contraindications import KIND_ARTICLE

logger = logging.getLogger(__name__)

SUBJECT_SELF = "self"
SUBJECT_OTHER = "other"

# Cue labels in the cue matcher.
NEG, NOT_NEG, BREAK, SELF, OTHER = "NEG", "NOT_NEG", "BREAK", "SELF", "OTHER"
EFFECT, NOW, QUESTION, PAST = "EFFECT", "NOW", "QUESTION", "PAST"
# A treatment already had ("after my facial"), a distant past ("2 years ago"), a sudden start.
TREATMENT, DISTANT, SUDDEN = "TREATMENT", "DISTANT", "SUDDEN"
# It is over: "she's fine now", "I'm ok now".
RESOLVED = "RESOLVED"
NOT_AFTER_PREFIX = "NOT_AFTER|"
NOT_BEFORE_PREFIX = "NOT_BEFORE|"
IGNORE = "IGNORE"

MAX_NEGATION_DISTANCE = 6
MAX_SIDE_EFFECT_DISTANCE = 2
SENTENCE_END = {".", "!", "?", ";", "...", "…", "!!", "??", "?!", "!?"}
SKIPPED_IN_NEGATION_SCOPE = {"or", "and", "nor", "either", "neither", "any", "&", "/"}
# A new subject ends a negation's reach ("I don't think I'm pregnant").
SUBJECT_PRONOUNS = {"i", "we", "she", "he", "they", "you", "u"}
# "... and have diabetes": a new verb after "and" starts a new statement.
NEW_PREDICATE_AFTER_AND = {
    "have",
    "has",
    "had",
    "got",
    "am",
    "'m",
    "is",
    "'s",
    "are",
    "suffer",
    "suffers",
    "take",
    "takes",
    "use",
    "uses",
    "also",
}
ANSWER_WORDS = {"no", "nope", "nah", "none", "negative", "never", "n/a"}
ANSWER_SEPARATORS = {"?", ":", "-", "–", "—", ",", "=", "..."}
ANSWER_FOLLOWERS = {"i", "and", "but", "not", "never", "thanks", "thank", "im"}
# Objects, not subjects: they do not stop a side-effect question ("give me seizures").
OBJECT_WORDS = {"me", "us", "him", "them", "you"}
QUESTION_STARTERS = {
    "is",
    "are",
    "does",
    "do",
    "can",
    "could",
    "will",
    "would",
    "should",
    "what",
    "how",
    "when",
    "why",
    "which",
    "may",
    "might",
    "am",
    "was",
}
POSSESSIVES = {"my", "our", "her", "his", "their"}
COORDINATED_SELF = {"i", "me", "myself"}
# "coming with me", "she's like me": the visitor as company, not as the one with a condition.
COMPANION_PREPOSITIONS = {"with", "like", "than", "to", "alongside"}
ELLIPSIS_AUXILIARIES = {"is", "'s", "does", "has", "do", "are", "am", "'m", "was", "did", "have"}
# "Isn't it dangerous for epilepsy?": a negative question, not a negation.
NEGATIVE_QUESTION_AUXILIARIES = {
    "is",
    "are",
    "was",
    "were",
    "do",
    "does",
    "did",
    "can",
    "ca",
    "could",
    "would",
    "will",
    "wo",
    "should",
    "have",
    "has",
}


@dataclass(frozen=True)
class Span:
    """A token range with a label (a term's kind|id, or a cue label)."""

    start: int  # token offsets
    end: int
    label: str


class MessageContext:
    """Sentence, clause and cue information for one message, and the rules on them."""

    def __init__(self, doc: Doc, cues: List[Span]) -> None:
        self.doc = doc
        not_neg = [c for c in cues if c.label == NOT_NEG]
        self.neg = [
            c
            for c in cues
            if c.label == NEG and not any(p.start < c.end and c.start < p.end for p in not_neg)
        ]
        self.persons = longest_first([c for c in cues if c.label in (SELF, OTHER)])
        self.cues = cues
        self.sentence: List[int] = []
        self.clause: List[int] = []
        self.part: List[int] = []  # clause split further at commas
        breaks = {c.start for c in cues if c.label == BREAK}
        sentence = clause = part = 0
        previous_ended = False
        for token in doc:
            if previous_ended and not ends_sentence(token):
                sentence, clause, part = sentence + 1, clause + 1, part + 1
            elif token.i in breaks:
                clause, part = clause + 1, part + 1
            elif token.text == ",":
                part += 1
            self.sentence.append(sentence)
            self.clause.append(clause)
            self.part.append(part)
            previous_ended = ends_sentence(token)
        self.cues_by_sentence: Dict[int, List[Span]] = {}
        for cue in cues:
            self.cues_by_sentence.setdefault(self.sentence[cue.start], []).append(cue)
        self.resets = {t.i for t in doc if t.lower_ in SUBJECT_PRONOUNS}
        self.resets |= {p.start for p in self.persons if p.label == OTHER and p.end - p.start > 1}
        for token in doc[:-1]:
            if token.lower_ == "and" and doc[token.i + 1].lower_ in NEW_PREDICATE_AFTER_AND:
                self.resets.add(token.i)

    # -- negation

    def negated(self, span: Span, mention_tokens: Set[int]) -> bool:
        for cue in self.neg:
            if cue.end > span.start or self.clause[cue.start] != self.clause[span.start]:
                continue
            if self._negative_question(cue):
                continue
            first = self.doc[cue.start].lower_
            if first in ANSWER_WORDS and cue.end < len(self.doc) and self.doc[cue.end].is_punct:
                continue  # "no, I'm pregnant": an answer, not a negation
            distance, blocked = 0, False
            for i in range(cue.end, span.start):
                token = self.doc[i]
                if i in self.resets or (token.text == "," and i - 1 not in mention_tokens):
                    # a new subject, or a comma that does not continue a list of
                    # conditions ("can't come in, pregnant and tired")
                    blocked = True
                    break
                skipped = token.is_punct or token.lower_ in SKIPPED_IN_NEGATION_SCOPE
                if i in mention_tokens or skipped:
                    continue
                distance += 1
            if not blocked and distance <= MAX_NEGATION_DISTANCE:
                return True
        return self._answered_no(span)

    def _negative_question(self, cue: Span) -> bool:
        """The cue is the "n't" of a sentence-opening auxiliary ("Doesn't it...")."""
        i = cue.start - 1
        if i < 0 or self.doc[cue.start].lower_ not in ("n't", "nt", "not"):
            return False
        opening = i == 0 or self.sentence[i - 1] != self.sentence[i] or self.doc[i - 1].is_space
        if not opening or self.doc[i].lower_ not in NEGATIVE_QUESTION_AUXILIARIES:
            return False
        return self._is_question(self.sentence[i], by_mark_only=True)

    def _answered_no(self, span: Span) -> bool:
        """ "Pregnant? No." / "epilepsy - none": a no-answer right after the term."""
        doc, i, skipped = self.doc, span.end, 0
        while i < len(doc) and doc[i].text in ANSWER_SEPARATORS and skipped < 3:
            i, skipped = i + 1, skipped + 1
        if i >= len(doc):
            return False
        after = doc[i + 1] if i + 1 < len(doc) else None
        if doc[i].lower_ == "not":  # "not that I know of", "not me", "not really"
            return after is not None and after.lower_ in ("that", "me", "really")
        if doc[i].lower_ not in ANSWER_WORDS:
            return False
        return after is None or after.is_punct or after.lower_ in ANSWER_FOLLOWERS

    # -- dropping

    def has_cue(self, label: str) -> bool:
        """True when a cue of this label is anywhere in the message."""
        return any(c.label == label for c in self.cues)

    def cue_shortly_before(self, span: Span, label: str, window: int) -> bool:
        return any(
            c.label == label
            and c.end <= span.start
            and span.start - c.end <= window
            and self.clause[c.start] == self.clause[span.start]
            for c in self.cues_by_sentence.get(self.sentence[span.start], ())
        )

    def cue_right_after(self, span: Span, label: str) -> bool:
        """A cue that starts at the token right after ``span`` ("facelift| devices")."""
        return any(
            c.label == label and c.start == span.end
            for c in self.cues_by_sentence.get(self.sentence[span.start], ())
        )

    def side_effect_question(self, span: Span) -> bool:
        for cue in self.cues_by_sentence.get(self.sentence[span.start], ()):
            if cue.label != EFFECT or cue.end > span.start:
                continue
            if self.clause[cue.start] != self.clause[span.start]:
                continue
            between = range(cue.end, span.start)
            if len(between) > MAX_SIDE_EFFECT_DISTANCE:
                continue
            if any(self.doc[i].lower_ in ("for", "with", "in", "if", "on", "to") for i in between):
                continue
            if any(
                p.start < span.start
                and p.end > cue.end
                and self.doc[p.start : p.end].text not in OBJECT_WORDS
                for p in self.persons
            ):
                continue
            return True
        return False

    # -- ellipsis

    def elliptical_persons(self) -> List[Tuple[Span, Tuple[int, int]]]:
        """Persons in "my wife is", "so does my mum", "I do too", "my sister too".

        Returns each person with the first and last token of the phrase; the
        phrase must end its clause and must not be negated ("my wife isn't").
        """
        doc, found = self.doc, []
        for person in self.persons:
            after = person.end
            # "so is my sister" / "so do I"
            if (
                person.start >= 2
                and doc[person.start - 2].lower_ == "so"
                and (doc[person.start - 1].lower_ in ELLIPSIS_AUXILIARIES)
            ):
                if self._phrase_ends(after):
                    found.append((person, (person.start - 2, after - 1)))
                continue
            # "my wife is", "I do too", "my sister too" -- but not "what do I do"
            previous = doc[person.start - 1].lower_ if person.start else ""
            if previous in ELLIPSIS_AUXILIARIES or previous in QUESTION_STARTERS:
                continue
            last = after - 1
            if after < len(doc) and doc[after].lower_ in ELLIPSIS_AUXILIARIES:
                last = after
                after += 1
            if after < len(doc) and doc[after].lower_ in ("too", "also", "aswell"):
                last = after
                after += 1
            if last >= person.end and self._phrase_ends(after):
                found.append((person, (person.start, last)))
        return found

    def _phrase_ends(self, i: int) -> bool:
        doc = self.doc
        return i >= len(doc) or doc[i].is_punct or doc[i].lower_ in ("and", "but", "though", "lol")

    # -- subject

    def subject(self, span: Span) -> str:
        inside = [p for p in self.persons if span.start <= p.start and p.end <= span.end]
        if inside:
            return subject_of(inside[0])
        sentence = self.sentence[span.start]
        before = [
            p for p in self.persons if p.start < span.start and not self._companion_of_other(p)
        ]  # nearest last
        after = [p for p in self.persons if p.start >= span.end]  # nearest first
        for group in (
            [p for p in reversed(before) if self.sentence[p.start] == sentence],
            [p for p in after if self.sentence[p.start] == sentence],
            list(reversed(before)),
            after,
        ):
            if group:
                if group[0].label == OTHER and self._with_visitor(group[0]):
                    return SUBJECT_SELF  # "me and my sister both have asthma"
                return subject_of(group[0])
        return SUBJECT_SELF

    def _companion_of_other(self, person: Span) -> bool:
        """ "me" in "my sister, who's coming with me, has a pacemaker": the visitor named only
        as the company of someone named before them in the sentence, not as the one with it."""
        doc = self.doc
        if person.label != SELF or doc[person.start].lower_ != "me" or person.start == 0:
            return False
        if doc[person.start - 1].lower_ not in COMPANION_PREPOSITIONS:
            return False
        sentence = self.sentence[person.start]
        return any(
            p.label == OTHER and p.end <= person.start and self.sentence[p.start] == sentence
            for p in self.persons
        )

    def _with_visitor(self, person: Span) -> bool:
        """The person is coordinated with the visitor: "me and my mum", "she and I"."""
        doc = self.doc
        around = (
            (person.start - 2, person.start - 1),  # "me and" + person
            (person.end + 1, person.end),  # person + "and me"
        )
        return any(
            min(pronoun, conjunction) >= 0
            and max(pronoun, conjunction) < len(doc)
            and doc[conjunction].lower_ in ("and", "&")
            and doc[pronoun].lower_ in COORDINATED_SELF
            for pronoun, conjunction in around
        )

    # -- urgent

    def happening_now(self, span: Span) -> bool:
        sentence = self.sentence[span.start]
        in_sentence = self.cues_by_sentence.get(sentence, [])
        hypothetical = any(c.label == QUESTION and c.end <= span.start for c in in_sentence)
        if hypothetical:
            return False
        sudden = any(c.label == SUDDEN for c in in_sentence)
        distant = any(c.label == DISTANT for c in in_sentence) or self._earlier_year_near(span)
        if distant and not sudden:
            # "I had a stroke 2 years ago and one side of my face is still weak": a lasting
            # effect of a past event, not an emergency now (the stroke itself is a condition).
            return False
        if not sudden and self._over_since(span):
            return False
        habits = [c for c in in_sentence if c.label in (PAST, RESOLVED)]
        now = sudden or any(  # "now" in "now and then" is a habit, not a now; nor "fine now"
            c.label in (NOW, TREATMENT) and not any(h.start <= c.start < h.end for h in habits)
            for c in in_sentence
        )
        past = any(
            c.label == PAST
            and self.part[c.start] == self.part[span.start]
            and not (span.start <= c.start < span.end)
            for c in in_sentence
        )
        if past and not now:
            return False
        clause = self.clause[span.start]
        personal = any(self.clause[p.start] == clause for p in self.persons)
        return personal or not self._is_question(sentence)

    def _over_since(self, span: Span) -> bool:
        """ "my friend fainted at her facial, is that normal?? she's fine now": a symptom told
        in the past ("fainted", or "had" / "was" in its part) that a later phrase of the message
        says is over. A symptom told in the present ("my chest hurts but I'm fine now") and one
        after that phrase ("I'm ok now but my chest hurts") stay urgent."""
        if not any(c.label == RESOLVED and c.start >= span.end for c in self.cues):
            return False
        first = self.doc[span.start]
        told_in_past = first.lower_.endswith("ed") and first.lemma_.lower() != first.lower_
        return told_in_past or any(
            c.label == PAST and c.end <= span.start and self.part[c.start] == self.part[span.start]
            for c in self.cues
        )

    def _earlier_year_near(self, span: Span) -> bool:
        """ "my face drooped in 2019": a year before this one in the symptom's own clause (a
        past the cue lists cannot spell out). Only that clause: in "I had a stroke in 2021 and
        since this morning my arm is weak" the year belongs to the stroke."""
        this_year = datetime.date.today().year
        clause = self.clause[span.start]
        return any(
            self.clause[t.i] == clause
            and len(t.text) == 4
            and t.text.isdigit()
            and 1900 < int(t.text) < this_year
            for t in self.doc
        )

    def _is_question(self, sentence: int, by_mark_only: bool = False) -> bool:
        """Ends with "?" or (unless `by_mark_only`) opens with "is/does/what..."."""
        tokens = [t for t in self.doc if self.sentence[t.i] == sentence and not t.is_space]
        if not tokens:
            return False
        if "?" in tokens[-1].text:
            return True
        return not by_mark_only and tokens[0].lower_ in QUESTION_STARTERS


def subject_of(span: Span) -> str:
    return SUBJECT_OTHER if span.label == OTHER else SUBJECT_SELF


def ends_sentence(token: Token) -> bool:
    return token.text in SENTENCE_END or (token.is_space and "\n" in token.text)


def longest_first(spans: Sequence[Span]) -> List[Span]:
    """Non-overlapping spans, longest first; article conditions win ties."""

    def priority(s: Span) -> Tuple[int, int, int]:
        return (-(s.end - s.start), 0 if s.label.startswith(KIND_ARTICLE) else 1, s.start)

    kept: List[Span] = []
    taken: Set[int] = set()
    for span in sorted(set(spans), key=priority):
        if not taken.intersection(range(span.start, span.end)):
            kept.append(span)
            taken.update(range(span.start, span.end))
    return sorted(kept, key=lambda s: s.start)

"""Find health conditions a visitor mentions, with negation and whose they are.

Pure spaCy (no Rasa import) so it can be tested and reused on its own. The
words come from the staff-editable rules file (see
``data/content/contraindications.yml``); this module holds only the logic.

How a message is read (all matching is on lower-cased text, whole tokens only):

1. **Terms.** Every term is matched by its exact words (``LOWER``) and, when
   written in its simple form, by lemma (``LEMMA``: "seizure" finds "seizures",
   "have a rash" finds "has a rash"). Terms written in an inflected form
   ("expecting", "had a facelift") are exact only, so "what to expect" never
   matches "expecting". Misspelt words are corrected first
   (:mod:`clinic_nlu.typo_tolerance`) and the message matched again.
2. **Overlaps.** Among conditions (article and uncovered) the longest match wins
   ("low blood pressure" beats "blood pressure", "cochlear implant" beats
   "implant"), article conditions winning ties. Urgent symptoms are matched
   separately, so "having a seizure" is both a seizure now and epilepsy.
3. **Dropped matches** (not mentions at all): inside an ``ignore_phrases``
   phrase; after one of the condition's ``not_after`` words in the same clause
   ("better than a facelift"); the object of a side-effect question ("can it
   cause seizures?", at most two words between the cue and the term and no
   person named in between); an abbreviation written as a title before a name
   ("Ms Lee").
4. **Negation** (NegEx-style). A negation cue negates a term later in the same
   clause, at most six words away, unless a new subject starts in between ("I
   don't think I'm pregnant"). Clauses end at sentence punctuation and at scope
   breaks ("but", "apart from", "because"...). Phrases such as "not sure",
   "not safe", "no idea" do not negate. A bare "no" before a comma is an answer,
   not a negation ("no, I'm pregnant"). A "no/none/nope" answer right after a
   term negates it ("Pregnant? No."). Lists stay negated ("I don't have epilepsy
   or diabetes"). Tense does not clear a condition: the article says "a history
   of", so "I had a blood clot" counts.
5. **Subject.** A person word inside the term decides ("hole in her heart");
   otherwise the nearest person word before it in the sentence, then after it,
   then in earlier sentences, then later ones. With none, the subject is
   "self": a general question ("is it safe for pregnant women?") is treated as
   being about the visitor, the safe side. "My 70 year old mum" counts as
   "my mum"; someone coordinated with the visitor ("me and my sister both
   have asthma") gives "self". A short repeat for another person copies the
   sentence's conditions to them ("I'm not pregnant, my wife is", "my sister
   has epilepsy and so do I").
6. **Urgent symptoms** are reported only when happening now or after a
   treatment: never after a question cue in the same sentence ("what if I can't
   breathe?"); with a past or habitual cue in the same part of the sentence
   ("I had chest pain last year", "I get dizzy sometimes") only if a "now" cue
   is also present ("since my treatment"); and a question naming nobody ("is
   swelling normal after treatment?") is not urgent.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple, Union

import spacy
from spacy.language import Language
from spacy.lookups import load_lookups
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc

from clinic_nlu.contraindication_rules import (
    KIND_ARTICLE,
    KIND_UNCOVERED,
    KIND_URGENT,
    ContraindicationRules,
    load_rules,
)
from clinic_nlu.typo_tolerance import TypoCorrector

logger = logging.getLogger(__name__)

SUBJECT_SELF = "self"
SUBJECT_OTHER = "other"

# Cue labels in the cue matcher.
NEG, NOT_NEG, BREAK, SELF, OTHER = "NEG", "NOT_NEG", "BREAK", "SELF", "OTHER"
EFFECT, NOW, QUESTION, PAST = "EFFECT", "NOW", "QUESTION", "PAST"
NOT_AFTER_PREFIX = "NOT_AFTER|"
IGNORE = "IGNORE"

MAX_NEGATION_DISTANCE = 6
MAX_SIDE_EFFECT_DISTANCE = 2
SENTENCE_END = {".", "!", "?", ";", "...", "…", "!!", "??", "?!", "!?"}
SKIPPED_IN_NEGATION_SCOPE = {"or", "and", "nor", "either", "neither", "any", "&", "/"}
# A new subject ends a negation's reach ("I don't think I'm pregnant").
SUBJECT_PRONOUNS = {"i", "we", "she", "he", "they", "you", "u"}
# "... and have diabetes": a new verb after "and" starts a new statement.
NEW_PREDICATE_AFTER_AND = {"have", "has", "had", "got", "am", "'m", "is", "'s", "are",
                           "suffer", "suffers", "take", "takes", "use", "uses", "also"}
ANSWER_WORDS = {"no", "nope", "nah", "none", "negative", "never", "n/a"}
ANSWER_SEPARATORS = {"?", ":", "-", "–", "—", ",", "=", "..."}
ANSWER_FOLLOWERS = {"i", "and", "but", "not", "never", "thanks", "thank", "im"}
# Objects, not subjects: they do not stop a side-effect question ("give me seizures").
OBJECT_WORDS = {"me", "us", "him", "them", "you"}
QUESTION_STARTERS = {"is", "are", "does", "do", "can", "could", "will", "would", "should",
                     "what", "how", "when", "why", "which", "may", "might", "am", "was"}
MAX_ABBREVIATION_LENGTH = 3
POSSESSIVES = {"my", "our", "her", "his", "their"}
COORDINATED_SELF = {"i", "me", "myself"}
ELLIPSIS_AUXILIARIES = {"is", "'s", "does", "has", "do", "are", "am", "'m", "was", "did", "have"}
# "Isn't it dangerous for epilepsy?": a negative question, not a negation.
NEGATIVE_QUESTION_AUXILIARIES = {"is", "are", "was", "were", "do", "does", "did", "can", "ca",
                                 "could", "would", "will", "wo", "should", "have", "has"}


@dataclass(frozen=True)
class ConditionMention:
    """One mention of a condition in a message."""

    condition: str  # id from the YAML
    kind: str  # "article" | "uncovered" | "urgent"
    subject: str  # "self" | "other"
    negated: bool
    start: int  # character offsets in the message
    end: int
    text: str


class _KnownWords:
    """English words from spacy-lookups-data: lemma index plus inflected forms."""

    def __init__(self, nlp: Language) -> None:
        index = load_lookups("en", ["lemma_index"]).get_table("lemma_index")
        self._words: Set[str] = set()
        for pos in ("noun", "verb", "adj", "adv"):
            self._words.update(w for w in index.get(pos, []) if w.isalpha())
        self._inflected = nlp.get_pipe("lemmatizer").lookups.get_table("lemma_lookup")

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and (word in self._words or word in self._inflected)


class TextPipeline:
    """The spaCy side: blank English, lookup lemmatizer, English dictionary.

    Independent of the rules, so a detector rebuilt from an edited rules file can
    reuse it (``ConditionDetector.from_yaml(path, pipeline=old.pipeline)``).
    Fully offline: needs only spacy-lookups-data.
    """

    def __init__(self) -> None:
        nlp = spacy.blank("en")
        nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
        nlp.initialize()
        self.nlp = nlp
        self.known_words = _KnownWords(nlp)


@dataclass(frozen=True)
class _Span:
    start: int  # token offsets
    end: int
    label: str


class ConditionDetector:
    """Finds condition mentions in visitor messages.

    Build it once (it compiles the spaCy pipeline and matchers), then call
    `detect` for each message.
    """

    def __init__(
        self, rules: ContraindicationRules, *, pipeline: Optional[TextPipeline] = None
    ) -> None:
        """Creates a detector for these rules.

        Args:
            rules: the checked rules (see `clinic_nlu.contraindication_rules`).
            pipeline: a `TextPipeline` to reuse; a new one is built if None.
        """
        self.rules = rules
        self.pipeline = pipeline or TextPipeline()
        nlp = self.pipeline.nlp
        self._lemmatizer = nlp.get_pipe("lemmatizer")

        self._term_lower = PhraseMatcher(nlp.vocab, attr="LOWER")
        self._term_lemma = PhraseMatcher(nlp.vocab, attr="LEMMA")
        vocabulary: Set[str] = set()
        for rule in rules.conditions:
            self._add_terms(f"{rule.kind}|{rule.id}", rule.terms)
            for term in rule.terms:
                for word in term.lower().split():
                    vocabulary.add(word)
                    if not word.endswith("s"):
                        vocabulary.add(word + "s")
        self._add_terms(IGNORE, rules.ignore_phrases)
        self._typos = TypoCorrector(vocabulary, self.pipeline.known_words)
        # "my mum" in the cues also makes "my 70 year old mum" someone else.
        self._relatives = {
            cue.lower().split()[1]
            for cue in rules.third_person_cues
            if len(cue.split()) == 2 and cue.lower().split()[0] in POSSESSIVES
        }

        self._cues = PhraseMatcher(nlp.vocab, attr="LOWER")
        for label, phrases in (
            (NEG, rules.negation_cues),
            (NOT_NEG, rules.not_negation_cues),
            (BREAK, rules.scope_breaks),
            (SELF, rules.first_person_cues),
            (OTHER, rules.third_person_cues),
            (EFFECT, rules.side_effect_cues),
            (NOW, rules.urgent_now_cues),
            (QUESTION, rules.urgent_question_cues),
            (PAST, rules.urgent_past_cues),
        ):
            self._cues.add(label, list(nlp.pipe(_variants(phrases))))
        for rule in rules.conditions:
            if rule.not_after:
                docs = list(nlp.pipe(_variants(rule.not_after)))
                self._cues.add(NOT_AFTER_PREFIX + rule.id, docs)

    @classmethod
    def from_yaml(
        cls, path: Union[str, Path], *, pipeline: Optional[TextPipeline] = None
    ) -> "ConditionDetector":
        """Builds a detector from a rules file.

        Raises:
            ValueError: naming the file and the problem if the file is missing or
                malformed.
        """
        return cls(load_rules(path), pipeline=pipeline)

    def _add_terms(self, key: str, terms: Iterable[str]) -> None:
        nlp = self.pipeline.nlp
        for doc in nlp.pipe(_variants(terms)):
            self._term_lower.add(key, [doc])
            if all(t.lemma_ == t.text for t in doc):  # simple form: inflections too
                self._term_lemma.add(key, [doc])

    # ------------------------------------------------------------------ detect

    def detect(self, text: str) -> List[ConditionMention]:
        """Returns all condition mentions in `text`, negated ones flagged.

        Urgent symptoms are included only when happening now (or negated). See
        the module docstring for the rules.
        """
        if not text or not text.strip():
            return []
        doc = self.pipeline.nlp(_normalise(text))
        ctx = _Context(doc, self._cue_spans(doc) + self._relative_spans(doc))
        terms = self._term_spans(doc)
        ignored = [s for s in terms if s.label == IGNORE]
        conditions = _longest_first(
            [s for s in terms if s.label != IGNORE and not s.label.startswith(KIND_URGENT)]
        )
        urgent = _longest_first([s for s in terms if s.label.startswith(KIND_URGENT)])
        mention_tokens = {i for s in conditions + urgent for i in range(s.start, s.end)}

        found: List[Tuple[_Span, ConditionMention]] = []
        for span in conditions + urgent:
            kind, condition = span.label.split("|", 1)
            if self._dropped(span, condition, ignored, ctx, text):
                continue
            negated = ctx.negated(span, mention_tokens)
            if kind == KIND_URGENT and not negated and not ctx.happening_now(span):
                continue
            start, end = _char_offsets(doc, span.start, span.end)
            mention = ConditionMention(
                condition=condition,
                kind=kind,
                subject=ctx.subject(span),
                negated=negated,
                start=start,
                end=end,
                text=text[start:end],
            )
            found.append((span, mention))
        mentions = [mention for _, mention in found]
        mentions += self._elliptical_repeats(ctx, found, text)
        return sorted(mentions, key=lambda m: (m.start, m.kind, m.condition))

    def _elliptical_repeats(
        self, ctx: "_Context", found: List[Tuple[_Span, ConditionMention]], text: str
    ) -> List[ConditionMention]:
        """ "I'm not pregnant, my wife is" / "... and so do I": a copy for that person.

        Every (article or uncovered) condition earlier in the sentence is copied,
        not negated, pointing at the words that repeat it ("my wife is").
        """
        repeats = []
        for person, (first, last) in ctx.elliptical_persons():
            sentence = ctx.sentence[person.start]
            start, end = _char_offsets(ctx.doc, first, last + 1)
            for span, mention in found:
                if (
                    mention.kind == KIND_URGENT
                    or ctx.sentence[span.start] != sentence
                    or span.start >= first
                ):
                    continue
                repeats.append(
                    ConditionMention(
                        condition=mention.condition,
                        kind=mention.kind,
                        subject=_subject_of(person),
                        negated=False,
                        start=start,
                        end=end,
                        text=text[start:end],
                    )
                )
        return repeats

    def _term_spans(self, doc: Doc) -> List[_Span]:
        found = self._match_terms(doc)
        corrected = [self._typos.correct(t.text) if t.is_alpha else None for t in doc]
        if any(corrected):
            words = [c or t.text for c, t in zip(corrected, doc)]
            fixed = Doc(doc.vocab, words=words, spaces=[bool(t.whitespace_) for t in doc])
            found |= self._match_terms(self._lemmatizer(fixed))
        return sorted(found, key=lambda s: (s.start, s.end, s.label))

    def _match_terms(self, doc: Doc) -> Set[_Span]:
        strings = doc.vocab.strings
        return {
            _Span(start, end, strings[match_id])
            for matcher in (self._term_lower, self._term_lemma)
            for match_id, start, end in matcher(doc)
        }

    def _cue_spans(self, doc: Doc) -> List[_Span]:
        strings = doc.vocab.strings
        return [_Span(s, e, strings[m]) for m, s, e in self._cues(doc)]

    def _relative_spans(self, doc: Doc) -> List[_Span]:
        """ "my 70 year old mum": a possessive, up to 3 words, a relative noun."""
        spans = []
        for token in doc:
            if token.lower_ not in POSSESSIVES:
                continue
            for j in range(token.i + 2, min(token.i + 5, len(doc))):
                if doc[j].is_punct or doc[j].lower_ in POSSESSIVES | {"and", "or", "but"}:
                    break
                if doc[j].lower_ in self._relatives:
                    spans.append(_Span(token.i, j + 1, OTHER))
                    break
        return spans

    def _dropped(
        self, span: _Span, condition: str, ignored: List[_Span], ctx: "_Context", text: str
    ) -> bool:
        if any(i.start < span.end and span.start < i.end for i in ignored):
            return True
        if ctx.cue_shortly_before(span, NOT_AFTER_PREFIX + condition, 4):
            return True
        if ctx.side_effect_question(span):
            return True
        return _title_before_name(ctx.doc, span, text)


class _Context:
    """Sentence, clause and cue information for one message."""

    def __init__(self, doc: Doc, cues: List[_Span]) -> None:
        self.doc = doc
        not_neg = [c for c in cues if c.label == NOT_NEG]
        self.neg = [
            c for c in cues
            if c.label == NEG and not any(p.start < c.end and c.start < p.end for p in not_neg)
        ]
        self.persons = _longest_first([c for c in cues if c.label in (SELF, OTHER)])
        self.cues = cues
        self.sentence: List[int] = []
        self.clause: List[int] = []
        self.part: List[int] = []  # clause split further at commas
        breaks = {c.start for c in cues if c.label == BREAK}
        sentence = clause = part = 0
        previous_ended = False
        for token in doc:
            if previous_ended and not _ends_sentence(token):
                sentence, clause, part = sentence + 1, clause + 1, part + 1
            elif token.i in breaks:
                clause, part = clause + 1, part + 1
            elif token.text == ",":
                part += 1
            self.sentence.append(sentence)
            self.clause.append(clause)
            self.part.append(part)
            previous_ended = _ends_sentence(token)
        self.resets = {t.i for t in doc if t.lower_ in SUBJECT_PRONOUNS}
        self.resets |= {p.start for p in self.persons if p.label == OTHER and p.end - p.start > 1}
        for token in doc[:-1]:
            if token.lower_ == "and" and doc[token.i + 1].lower_ in NEW_PREDICATE_AFTER_AND:
                self.resets.add(token.i)

    # -- negation

    def negated(self, span: _Span, mention_tokens: Set[int]) -> bool:
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
                if i in mention_tokens or token.is_punct or token.lower_ in SKIPPED_IN_NEGATION_SCOPE:
                    continue
                distance += 1
            if not blocked and distance <= MAX_NEGATION_DISTANCE:
                return True
        return self._answered_no(span)

    def _negative_question(self, cue: _Span) -> bool:
        """The cue is the "n't" of a sentence-opening auxiliary ("Doesn't it...")."""
        i = cue.start - 1
        if i < 0 or self.doc[cue.start].lower_ not in ("n't", "nt", "not"):
            return False
        opening = i == 0 or self.sentence[i - 1] != self.sentence[i] or self.doc[i - 1].is_space
        if not opening or self.doc[i].lower_ not in NEGATIVE_QUESTION_AUXILIARIES:
            return False
        return self._is_question(self.sentence[i], by_mark_only=True)

    def _answered_no(self, span: _Span) -> bool:
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

    def cue_shortly_before(self, span: _Span, label: str, window: int) -> bool:
        return any(
            c.label == label
            and c.end <= span.start
            and span.start - c.end <= window
            and self.clause[c.start] == self.clause[span.start]
            for c in self.cues
        )

    def side_effect_question(self, span: _Span) -> bool:
        for cue in self.cues:
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
                p.start < span.start and p.end > cue.end
                and self.doc[p.start:p.end].text not in OBJECT_WORDS
                for p in self.persons
            ):
                continue
            return True
        return False

    # -- ellipsis

    def elliptical_persons(self) -> List[Tuple[_Span, Tuple[int, int]]]:
        """Persons in "my wife is", "so does my mum", "I do too", "my sister too".

        Returns each person with the first and last token of the phrase; the
        phrase must end its clause and must not be negated ("my wife isn't").
        """
        doc, found = self.doc, []
        for person in self.persons:
            after = person.end
            # "so is my sister" / "so do I"
            if person.start >= 2 and doc[person.start - 2].lower_ == "so" and (
                doc[person.start - 1].lower_ in ELLIPSIS_AUXILIARIES
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

    def subject(self, span: _Span) -> str:
        inside = [p for p in self.persons if span.start <= p.start and p.end <= span.end]
        if inside:
            return _subject_of(inside[0])
        sentence = self.sentence[span.start]
        before = [p for p in self.persons if p.start < span.start]  # nearest last
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
                return _subject_of(group[0])
        return SUBJECT_SELF

    def _with_visitor(self, person: _Span) -> bool:
        """The person is coordinated with the visitor: "me and my mum", "she and I"."""
        doc = self.doc
        around = (
            (person.start - 2, person.start - 1),  # "me and" + person
            (person.end + 1, person.end),  # person + "and me"
        )
        for pronoun, conjunction in around:
            if 0 <= min(pronoun, conjunction) and max(pronoun, conjunction) < len(doc):
                if doc[conjunction].lower_ in ("and", "&") and doc[pronoun].lower_ in COORDINATED_SELF:
                    return True
        return False

    # -- urgent

    def happening_now(self, span: _Span) -> bool:
        sentence = self.sentence[span.start]
        in_sentence = [c for c in self.cues if self.sentence[c.start] == sentence]
        hypothetical = any(c.label == QUESTION and c.end <= span.start for c in in_sentence)
        if hypothetical:
            return False
        habits = [c for c in in_sentence if c.label == PAST]
        now = any(  # "now" in "now and then" is a habit, not a now
            c.label == NOW and not any(h.start <= c.start < h.end for h in habits)
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

    def _is_question(self, sentence: int, by_mark_only: bool = False) -> bool:
        """Ends with "?" or (unless `by_mark_only`) opens with "is/does/what...". """
        tokens = [t for t in self.doc if self.sentence[t.i] == sentence and not t.is_space]
        if not tokens:
            return False
        if "?" in tokens[-1].text:
            return True
        return not by_mark_only and tokens[0].lower_ in QUESTION_STARTERS


def _char_offsets(doc: Doc, start: int, end: int) -> Tuple[int, int]:
    """Character offsets of the tokens start..end-1."""
    return doc[start].idx, doc[end - 1].idx + len(doc[end - 1])


def _subject_of(span: _Span) -> str:
    return SUBJECT_OTHER if span.label == OTHER else SUBJECT_SELF


def _ends_sentence(token) -> bool:
    return token.text in SENTENCE_END or (token.is_space and "\n" in token.text)


def _longest_first(spans: Sequence[_Span]) -> List[_Span]:
    """Non-overlapping spans, longest first; article conditions win ties."""

    def priority(s: _Span) -> Tuple[int, int, int]:
        return (-(s.end - s.start), 0 if s.label.startswith(KIND_ARTICLE) else 1, s.start)

    kept: List[_Span] = []
    taken: Set[int] = set()
    for span in sorted(set(spans), key=priority):
        if not taken.intersection(range(span.start, span.end)):
            kept.append(span)
            taken.update(range(span.start, span.end))
    return sorted(kept, key=lambda s: s.start)


def _title_before_name(doc: Doc, span: _Span, text: str) -> bool:
    """ "Ms Lee": a short term written as a title before a capitalised name."""
    if span.end - span.start != 1 or span.end >= len(doc):
        return False
    token, following = doc[span.start], doc[span.end]
    original = text[token.idx : token.idx + len(token)]
    next_original = text[following.idx : following.idx + len(following)]
    return (
        len(original) <= MAX_ABBREVIATION_LENGTH
        and original[:1].isupper()
        and original[1:].islower()
        and next_original[:1].isupper()
    )


def _variants(phrases: Iterable[str]) -> List[str]:
    """Lower-cased phrases plus spellings without apostrophes or hyphens."""
    out: Dict[str, None] = {}
    for phrase in phrases:
        base = " ".join(phrase.lower().replace("\u2019", "'").split())
        out[base] = None
        if "'" in base and not base.startswith("'"):
            out[base.replace("'", "")] = None
        if "-" in base:
            out[base.replace("-", " ")] = None
            out[base.replace("-", "")] = None
    return list(out)


_CHARACTER_MAP = str.maketrans(
    {"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u201c": '"', "\u201d": '"',
     "\u00a0": " ", "\u2011": "-", "\u2010": "-"}
)


def _normalise(text: str) -> str:
    """Lower-cases and straightens quotes without changing any character offset."""
    lowered = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    return lowered.translate(_CHARACTER_MAP)

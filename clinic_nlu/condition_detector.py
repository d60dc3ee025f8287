"""Find health conditions a visitor mentions, with negation and whose they are.

Pure spaCy (no Rasa import) so it can be tested and reused on its own. The
words come from the staff-editable rules file (see
``data/content/contraindications.yml``, read by ``clinic_content``); the code holds only the logic:
term matching here, the reading of the words around a term (clauses, negation,
subject, urgency) in :mod:`clinic_nlu.message_reading`.

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
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, List, Optional, Set, Tuple, Union

from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc

from clinic_content.contraindications import (
    KIND_AFTER_TREATMENT,
    KIND_URGENT,
    ContraindicationRules,
)
from clinic_content.contraindications_check import load_rules
from clinic_nlu.language_detection import DEFAULT_LANGUAGES, detect_language
from clinic_nlu.message_reading import (
    BREAK,
    DISTANT,
    EFFECT,
    IGNORE,
    NEG,
    NOT_AFTER_PREFIX,
    NOT_BEFORE_PREFIX,
    NOT_NEG,
    NOW,
    OTHER,
    PAST,
    POSSESSIVES,
    QUESTION,
    RESOLVED,
    SELF,
    SUBJECT_OTHER,
    SUBJECT_SELF,
    SUDDEN,
    TREATMENT,
    MessageContext,
    Span,
    longest_first,
    subject_of,
)
from clinic_nlu.text_pipeline import TextPipeline, normalise, phrase_variants
from clinic_nlu.typo_tolerance import TypoCorrector

logger = logging.getLogger(__name__)

__all__ = ["ConditionDetector", "ConditionMention", "TextPipeline", "SUBJECT_SELF", "SUBJECT_OTHER"]

MAX_ABBREVIATION_LENGTH = 3
# Chinese and Japanese are written without spaces, so spaCy's English tokenizer keeps a whole
# clause as one token; terms in these scripts are found as substrings instead (no negation
# reading: a mention counts, the safe side).
UNSPACED_SCRIPT = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


@dataclass(frozen=True)
class ConditionMention:
    """One mention of a condition in a message."""

    condition: str  # id from the YAML
    kind: str  # "article" | "uncovered" | "urgent" | "after_treatment"
    subject: str  # "self" | "other"
    negated: bool
    start: int  # character offsets in the message
    end: int
    text: str
    # after_treatment and urgent: the message names a treatment already had ("after my facial")
    after_a_treatment: bool = False
    # a condition named as a possible side effect ("can it cause seizures?"), not a disclosure
    side_effect: bool = False


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
            rules: the checked rules (see `clinic_content.contraindications`).
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
        self._unspaced_terms = [
            (rule, term)
            for rule in rules.conditions
            for term in rule.terms
            if UNSPACED_SCRIPT.search(term)
        ]
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
            (DISTANT, rules.urgent_distant_past_cues),
            (SUDDEN, rules.urgent_sudden_cues),
            (RESOLVED, rules.urgent_resolved_cues),
            (TREATMENT, rules.treatment_cues),
        ):
            if not phrases:
                continue
            self._cues.add(label, list(nlp.pipe(phrase_variants(phrases))))
        for rule in rules.conditions:
            if rule.not_after:
                docs = list(nlp.pipe(phrase_variants(rule.not_after)))
                self._cues.add(NOT_AFTER_PREFIX + rule.id, docs)
            if rule.not_before:
                docs = list(nlp.pipe(phrase_variants(rule.not_before)))
                self._cues.add(NOT_BEFORE_PREFIX + rule.id, docs)

    @classmethod
    def from_yaml(
        cls, path: Union[str, Path], *, pipeline: Optional[TextPipeline] = None
    ) -> ConditionDetector:
        """Builds a detector from a rules file (``clinic_content.contraindications_check``).

        Raises:
            ContentLoadError: a ValueError naming the file, the line and every problem
                if the file is missing or malformed.
        """
        return cls(load_rules(path), pipeline=pipeline)

    def _add_terms(self, key: str, terms: Iterable[str]) -> None:
        nlp = self.pipeline.nlp
        for doc in nlp.pipe(phrase_variants(terms)):
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
        doc = self.pipeline.nlp(normalise(text))
        ctx = MessageContext(doc, self._cue_spans(doc) + self._relative_spans(doc))
        terms = self._term_spans(doc)
        ignored = [s for s in terms if s.label == IGNORE]
        conditions = longest_first(
            [
                s
                for s in terms
                if s.label != IGNORE and not s.label.startswith((KIND_URGENT, KIND_AFTER_TREATMENT))
            ]
        )
        urgent = longest_first([s for s in terms if s.label.startswith(KIND_URGENT + "|")])
        # A mild reaction's own longer words ("slightly swollen") hold an urgent word
        # ("swollen"): the longer, milder term wins.
        mild = [s for s in terms if s.label.startswith(KIND_AFTER_TREATMENT + "|")]
        urgent = [
            u
            for u in urgent
            if not any(
                m.start <= u.start and u.end <= m.end and m.end - m.start > u.end - u.start
                for m in mild
            )
        ]
        # Symptoms after a treatment: never inside a condition or urgent term ("heart racing").
        taken = {i for s in conditions + urgent for i in range(s.start, s.end)}
        after = [
            s
            for s in longest_first(
                [s for s in terms if s.label.startswith(KIND_AFTER_TREATMENT + "|")]
            )
            if not taken.intersection(range(s.start, s.end))
        ]
        mention_tokens = {i for s in conditions + urgent + after for i in range(s.start, s.end)}
        treatment_named = ctx.has_cue(TREATMENT)

        found: List[Tuple[Span, ConditionMention]] = []
        for span in conditions + urgent + after:
            kind, condition = span.label.split("|", 1)
            if self._dropped(span, condition, ignored, ctx, text):
                if kind != KIND_URGENT and ctx.side_effect_question(span):
                    start, end = _char_offsets(doc, span.start, span.end)
                    found.append(
                        (
                            span,
                            ConditionMention(
                                condition=condition,
                                kind=kind,
                                subject=SUBJECT_SELF,
                                negated=False,
                                start=start,
                                end=end,
                                text=text[start:end],
                                side_effect=True,
                            ),
                        )
                    )
                continue
            negated = ctx.negated(span, mention_tokens)
            if (
                kind == KIND_URGENT
                and not negated
                and not self._always_now(condition)
                and not ctx.happening_now(span)
            ):
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
                after_a_treatment=kind in (KIND_AFTER_TREATMENT, KIND_URGENT) and treatment_named,
            )
            found.append((span, mention))
        mentions = [mention for _, mention in found]
        mentions += self._elliptical_repeats(ctx, found, text)
        mentions += self._unspaced_mentions(text, {(m.kind, m.condition) for m in mentions})
        return sorted(mentions, key=lambda m: (m.start, m.kind, m.condition))

    def _always_now(self, condition: str) -> bool:
        rule = next(
            (r for r in self.rules.conditions if r.kind == KIND_URGENT and r.id == condition), None
        )
        return bool(rule and rule.always_now)

    def _elliptical_repeats(
        self, ctx: MessageContext, found: List[Tuple[Span, ConditionMention]], text: str
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
                    mention.kind in (KIND_URGENT, KIND_AFTER_TREATMENT)
                    or ctx.sentence[span.start] != sentence
                    or span.start >= first
                ):
                    continue
                repeats.append(
                    ConditionMention(
                        condition=mention.condition,
                        kind=mention.kind,
                        subject=subject_of(person),
                        negated=False,
                        start=start,
                        end=end,
                        text=text[start:end],
                    )
                )
        return repeats

    def _unspaced_mentions(self, text: str, known: Set[Tuple[str, str]]) -> List[ConditionMention]:
        """Terms written in Chinese or Japanese, found as substrings (see UNSPACED_SCRIPT).

        An urgent symptom written this way counts as happening now: the tense cues are
        English word lists, and missing an emergency costs more than one extra 911 advice.
        """
        mentions = []
        for rule, term in self._unspaced_terms:
            if (rule.kind, rule.id) in known:
                continue
            start = text.find(term)
            if start >= 0:
                known.add((rule.kind, rule.id))
                mentions.append(
                    ConditionMention(
                        condition=rule.id,
                        kind=rule.kind,
                        subject=SUBJECT_SELF,
                        negated=False,
                        start=start,
                        end=start + len(term),
                        text=term,
                    )
                )
        return mentions

    def _term_spans(self, doc: Doc) -> List[Span]:
        found = self._match_terms(doc)
        corrected = [self._typos.correct(t.text) if t.is_alpha else None for t in doc]
        # Typos are an English thing: in "quiero hacer una cita", "hacer" is not "pacer".
        if any(corrected) and not detect_language(doc.text, DEFAULT_LANGUAGES):
            words = [c or t.text for c, t in zip(corrected, doc, strict=True)]
            fixed = Doc(doc.vocab, words=words, spaces=[bool(t.whitespace_) for t in doc])
            found |= self._match_terms(self._lemmatizer(fixed))
        return sorted(found, key=lambda s: (s.start, s.end, s.label))

    def _match_terms(self, doc: Doc) -> Set[Span]:
        strings = doc.vocab.strings
        return {
            Span(start, end, strings[match_id])
            for matcher in (self._term_lower, self._term_lemma)
            for match_id, start, end in matcher(doc)
        }

    def _cue_spans(self, doc: Doc) -> List[Span]:
        strings = doc.vocab.strings
        return [Span(s, e, strings[m]) for m, s, e in self._cues(doc)] + self._treatment_spans(doc)

    def _treatment_spans(self, doc: Doc) -> List[Span]:
        """ "after her microcurrent facial": an opener, then a treatment word within 4 words."""
        openers = {w.lower() for w in self.rules.treatment_openers}
        words = {w.lower() for w in self.rules.treatment_words}
        spans = []
        for token in doc:
            if token.lower_ not in openers:
                continue
            for j in range(token.i + 1, min(token.i + 7, len(doc))):
                if doc[j].is_punct and doc[j].text not in ("-", "'"):  # "4-D", "today's"
                    break
                if doc[j].lower_ in words:
                    spans.append(Span(token.i, j + 1, TREATMENT))
                    break
        return spans

    def _relative_spans(self, doc: Doc) -> List[Span]:
        """ "my 70 year old mum": a possessive, up to 3 words, a relative noun."""
        spans = []
        for token in doc:
            if token.lower_ not in POSSESSIVES:
                continue
            for j in range(token.i + 2, min(token.i + 5, len(doc))):
                if doc[j].is_punct or doc[j].lower_ in POSSESSIVES | {"and", "or", "but"}:
                    break
                if doc[j].lower_ in self._relatives:
                    spans.append(Span(token.i, j + 1, OTHER))
                    break
        return spans

    def _dropped(
        self, span: Span, condition: str, ignored: List[Span], ctx: MessageContext, text: str
    ) -> bool:
        if any(i.start < span.end and span.start < i.end for i in ignored):
            return True
        if ctx.cue_shortly_before(span, NOT_AFTER_PREFIX + condition, 4):
            return True
        if ctx.cue_right_after(span, NOT_BEFORE_PREFIX + condition):
            return True
        if ctx.side_effect_question(span):
            return True
        return _title_before_name(ctx.doc, span, text)


def _char_offsets(doc: Doc, start: int, end: int) -> Tuple[int, int]:
    """Character offsets of the tokens start..end-1."""
    return doc[start].idx, doc[end - 1].idx + len(doc[end - 1])


def _title_before_name(doc: Doc, span: Span, text: str) -> bool:
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

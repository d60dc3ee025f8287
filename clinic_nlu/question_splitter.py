"""Splits a visitor's message into clauses and labels each with a small trained classifier.

The logic of :class:`clinic_nlu.question_parts.QuestionPartExtractor` without Rasa objects:
``QuestionSplitter.parts(text)`` returns the topical parts in message order (how a message is
cut: the module docstring of ``clinic_nlu.question_parts`` and docs/nlu.md). The trained
pipeline is stored by :mod:`clinic_nlu.question_model_files`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Sequence, Set, Tuple

# A clause the contraindication detector found a condition in counts as this intent.
DISCLOSURE_INTENT = "inform_condition"
# Always a clause boundary: question and exclamation marks, semicolons, a full stop before a
# space or the end, line breaks.
STRONG_BOUNDARY = re.compile(r"[?!;]+|\.(?=\s|$)|\n+")
# A boundary only when both sides read as separate questions.
CONNECTOR = re.compile(
    r"(?:,\s*)?(?:\b(?:and also|and then|and|also|plus|as well as|n)\b|&)|,", re.IGNORECASE
)
# In a run-on sentence ("is it painful what does it cost") a new question starts with a
# question word that does not continue the clause before it ("tell me what", "is that how").
QUESTION_WORD = re.compile(
    r"\b(?:what|whats|what's|wat|how|hows|how's|who|whos|who's|where|wheres|where's|when|"
    r"why)\b",
    re.IGNORECASE,
)  # not "which": mid-sentence it mostly starts a relative clause
# The word lists below are kept as written, a block of words rather than a word a line.
# fmt: off
CONTINUES_INTO_QUESTION_WORD = {
    "is", "was", "that", "this", "me", "us", "know", "explain", "wonder", "wondering",
    "understand", "see", "tell", "ask", "asking", "about", "on", "of", "for", "to", "exactly",
    "sure", "idea", "out", "curious", "or", "but", "and", "matter", "depends", "regardless",
    "say", "said", "mean", "from", "in", "at", "by", "no", "not", "learn", "show", "guess",
}
# Words a clause that stands on its own may start with (after fillers such as "also").
CLAUSE_STARTS = {
    "what", "whats", "what's", "wat", "how", "hows", "how's", "is", "isn't", "are", "aren't",
    "does", "dose", "doesn't", "do", "did", "can", "could", "will", "would", "should", "who",
    "whos", "who's", "where", "wheres", "where's", "when", "which", "why", "any", "i", "i'm",
    "im", "i'd", "id", "i've", "ive", "my", "it", "it's", "its", "you", "your", "u", "there",
    "they", "we", "he", "she", "tell", "give", "explain", "let", "please", "whereabouts",
}
FILLERS = {"also", "and", "so", "then", "plus", "but", "oh", "ok", "okay", "n", "&"}
# fmt: on
WORD = re.compile(r"[\w'&]+")


@dataclass
class Part:
    """One clause of a message and what it asks."""

    start: int
    end: int
    intent: str
    confidence: float


class QuestionSplitter:
    """Splits a text into clauses and labels each with a trained scikit-learn pipeline.

    Pure logic (no Rasa objects): ``parts(text)`` returns the topical parts in message order.
    """

    def __init__(
        self,
        pipeline: Any,
        *,
        threshold: float,
        strong_threshold: float,
        ignored_intents: Iterable[str],
        max_parts: int = 3,
    ) -> None:
        self.pipeline = pipeline
        self.threshold = threshold
        self.strong_threshold = strong_threshold
        self.ignored = set(ignored_intents)
        self.max_parts = max_parts
        self._cache: Dict[str, Tuple[str, float]] = {}

    # ------------------------------------------------------------------ training

    @staticmethod
    def new_pipeline(c: float = 10.0) -> Any:
        """A word 1-2-gram + char_wb 2-5-gram TF-IDF, one-vs-rest logistic regression (unfitted)."""
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import FeatureUnion, Pipeline

        features = FeatureUnion(
            [
                ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)),
                (
                    "chars",
                    TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True),
                ),
            ]
        )
        return Pipeline(
            [("features", features), ("classifier", LogisticRegression(C=c, solver="liblinear"))]
        )

    @staticmethod
    def fit(examples: Sequence[Tuple[str, str]], c: float = 10.0) -> Any:
        """``new_pipeline`` fitted on (text, intent) examples (~1 s)."""
        pipeline = QuestionSplitter.new_pipeline(c)
        pipeline.fit([text for text, _ in examples], [intent for _, intent in examples])
        return pipeline

    # ----------------------------------------------------------------- splitting

    def classify(self, texts: Sequence[str]) -> List[Tuple[str, float]]:
        """(intent, probability) for each text, batched and cached."""
        todo = sorted({t for t in texts if t not in self._cache})
        if todo:
            probabilities = self.pipeline.predict_proba(todo)
            classes = self.pipeline.classes_
            for text, row in zip(todo, probabilities, strict=True):
                best = int(row.argmax())
                self._cache[text] = (str(classes[best]), float(row[best]))
        if len(self._cache) > 5000:  # a bound, not a tuning knob
            self._cache = {t: self._cache[t] for t in texts}
        return [self._cache[t] for t in texts]

    def parts(self, text: str, disclosures: Sequence[Tuple[int, int]] = ()) -> List[Part]:
        """The topical parts of a message, in order; empty unless two different ones are found.

        A clause labelled ``inform_condition`` counts only where the contraindication detector
        found a condition (``disclosures``: its entity spans), so "I'm 68, will it work" is one
        question, and "I have epilepsy, also how long is a session" two parts.
        """
        segments = [span for span in _strong_segments(text) if _words(text[span[0] : span[1]])]
        found: List[Part] = []
        for start, end in segments:
            found += self._split(text, start, end, strong=len(segments) > 1, depth=0)
        merged: List[Part] = []
        for part in found:
            if merged and merged[-1].intent == part.intent:
                merged[-1] = Part(
                    merged[-1].start,
                    part.end,
                    part.intent,
                    max(merged[-1].confidence, part.confidence),
                )
            else:
                merged.append(part)
        topical = [
            p
            for p in merged
            if p.intent not in self.ignored
            and (
                p.intent != DISCLOSURE_INTENT
                or any(s < p.end and p.start < e for s, e in disclosures)
            )
        ]
        seen: Set[str] = set()
        unique: List[Part] = []
        for part in topical:  # the first part of each intent
            if part.intent not in seen:
                seen.add(part.intent)
                unique.append(part)
        return unique[: self.max_parts] if len(unique) >= 2 else []

    def _split(self, text: str, start: int, end: int, strong: bool, depth: int) -> List[Part]:
        """The best split of one segment at a weak boundary (recursively), else the segment."""
        start, end = _trim(text, start, end)
        candidates = _weak_boundaries(text, start, end) if depth < 2 else []
        spans = [(start, end)]
        for left_end, right_start in candidates:
            spans += [_trim(text, start, left_end), _trim(text, right_start, end)]
        labels = dict(
            zip(spans, self.classify([_clause(text, s, e) for s, e in spans]), strict=True)
        )
        best: Optional[Tuple[float, int, int]] = None
        for left_end, right_start in candidates:
            left, right = (
                labels[_trim(text, start, left_end)],
                labels[_trim(text, right_start, end)],
            )
            if left[0] == right[0] or min(left[1], right[1]) < self.threshold:
                continue
            if best is None or min(left[1], right[1]) > best[0]:
                best = (min(left[1], right[1]), left_end, right_start)
        if best is not None:
            _, left_end, right_start = best
            return self._split(text, start, left_end, True, depth + 1) + self._split(
                text, right_start, end, True, depth + 1
            )
        intent, confidence = labels[(start, end)]
        needed = self.strong_threshold if strong else self.threshold
        return [Part(start, end, intent, confidence)] if confidence >= needed else []


def _clause(text: str, start: int, end: int) -> str:
    return " ".join(text[start:end].lower().split())


def _words(text: str) -> List[str]:
    return WORD.findall(text.lower())


def _trim(text: str, start: int, end: int) -> Tuple[int, int]:
    """The span without surrounding spaces, punctuation and connector words."""
    while True:
        while start < end and not (text[start].isalnum() or text[start] == "&"):
            start += 1
        while end > start and not text[end - 1].isalnum():
            end -= 1
        match = re.match(r"(?:and|also|plus|so|then|n|&)\b", text[start:end], re.IGNORECASE)
        if not match or start + match.end() >= end:
            return start, end
        start += match.end()


def _strong_segments(text: str) -> List[Tuple[int, int]]:
    segments, start = [], 0
    for match in STRONG_BOUNDARY.finditer(text):
        segments.append((start, match.start()))
        start = match.end()
    segments.append((start, len(text)))
    return segments


def _stands_alone(words: List[str]) -> bool:
    """Whether a clause reads as a question or statement of its own ("is it painful")."""
    while words and words[0] in FILLERS:
        words = words[1:]
    return len(words) >= 2 and words[0] in CLAUSE_STARTS


def _weak_boundaries(text: str, start: int, end: int) -> List[Tuple[int, int]]:
    """(left end, right start) of each place the segment may hold two questions."""
    boundaries = set()
    for match in CONNECTOR.finditer(text, start, end):
        boundaries.add((match.start(), match.end()))
    for match in QUESTION_WORD.finditer(text, start, end):
        before = _words(text[start : match.start()])
        if before and before[-1] not in CONTINUES_INTO_QUESTION_WORD:
            boundaries.add((match.start(), match.start()))
    kept = []
    for left_end, right_start in sorted(boundaries):
        left, right = _words(text[start:left_end]), _words(text[right_start:end])
        if len(left) >= 2 and _stands_alone(right):
            kept.append((left_end, right_start))
    return kept

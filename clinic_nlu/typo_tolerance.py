"""Typo tolerance for condition words ("pregnent" -> "pregnant").

Hand-written on purpose: spaCy 3.4's matchers have no fuzzy mode (the ``FUZZY``
operator arrived in 3.5), and no fuzzy-matching library is pinned in
``constraints.txt``. The rule is small and safety-relevant, so it lives here,
tested, rather than behind a new dependency:

* only words of 5+ letters are corrected: edit distance 1 for words of 5-7
  letters, 2 for words of 8+ (letters swapped count as one edit);
* a real English word is never "corrected" ("spent" is not "stent",
  "diameters" is not "diabetes"); the dictionary is the lemma tables shipped
  with spacy-lookups-data.

Candidates are found with a deletion index (the SymSpell idea): every vocabulary
word is stored under each string obtained by deleting up to two letters, so a
typo is looked up by its own deletions instead of being compared with every
word. That keeps a check well under a millisecond.
"""

from __future__ import annotations

import itertools
import logging
from typing import Container, Dict, Iterable, List, Optional, Set

logger = logging.getLogger(__name__)

MIN_WORD_LENGTH = 5
LONG_WORD_LENGTH = 8


def max_edits(word: str) -> int:
    """Edits tolerated for a vocabulary word of this length."""
    if len(word) >= LONG_WORD_LENGTH:
        return 2
    if len(word) >= MIN_WORD_LENGTH:
        return 1
    return 0


def edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (Levenshtein + adjacent swaps).

    Returns `limit + 1` as soon as the distance is known to exceed `limit`.
    """
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: List[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def _deletions(word: str, depth: int) -> Set[str]:
    """All strings made by deleting up to `depth` letters from `word`."""
    results = {word}
    for n in range(1, depth + 1):
        for positions in itertools.combinations(range(len(word)), n):
            results.add("".join(c for i, c in enumerate(word) if i not in positions))
    return results


class TypoCorrector:
    """Maps a misspelt token to the vocabulary word it most likely means."""

    def __init__(self, vocabulary: Iterable[str], known_words: Container[str]) -> None:
        """Creates the corrector.

        Args:
            vocabulary: the words to correct towards (words of the terms).
            known_words: real English words, which are never corrected.
        """
        self._known_words = known_words
        self._vocabulary = frozenset(
            w for w in vocabulary if w.isalpha() and len(w) >= MIN_WORD_LENGTH
        )
        # Nothing longer than this is within two edits of a vocabulary word; checking it
        # would build ~n^2/2 deletions (a 1,000-letter "word" took 40 s).
        self._longest_match = max((len(w) for w in self._vocabulary), default=0) + 2
        self._index: Dict[str, Set[str]] = {}
        for word in self._vocabulary:
            for key in _deletions(word, max_edits(word)):
                self._index.setdefault(key, set()).add(word)
        self._cache: Dict[str, Optional[str]] = {}

    def correct(self, token: str) -> Optional[str]:
        """Returns the vocabulary word `token` is a typo of, or None."""
        if token in self._cache:
            return self._cache[token]
        result = self._correct(token)
        if len(self._cache) < 50_000:
            self._cache[token] = result
        return result

    def _correct(self, token: str) -> Optional[str]:
        if (
            len(token) < MIN_WORD_LENGTH - 1
            or len(token) > self._longest_match
            or not token.isalpha()
            or token in self._vocabulary
            or token in self._known_words
        ):
            return None
        candidates: Set[str] = set()
        for key in _deletions(token, 2):
            candidates.update(self._index.get(key, ()))
        best: Optional[str] = None
        best_distance = 99
        for word in sorted(candidates):
            limit = max_edits(word)
            distance = edit_distance(token, word, limit)
            if distance <= limit and distance < best_distance:
                best, best_distance = word, distance
        return best

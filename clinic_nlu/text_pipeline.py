"""The spaCy side of the condition detector: blank English with a lookup lemmatizer and an
English word list, and the text forms matching is done on (term spellings, a message lower-cased
without moving any character). Independent of the rules file, so a detector rebuilt after a
staff edit reuses it. Fully offline: needs only spacy-lookups-data.
"""

from __future__ import annotations

from typing import Dict, Iterable, List, Set, cast

import spacy
from spacy.language import Language
from spacy.lookups import load_lookups
from spacy.pipeline import Lemmatizer


class _KnownWords:
    """English words from spacy-lookups-data: lemma index plus inflected forms."""

    def __init__(self, nlp: Language) -> None:
        index = load_lookups("en", ["lemma_index"]).get_table("lemma_index")
        self._words: Set[str] = set()
        for pos in ("noun", "verb", "adj", "adv"):
            self._words.update(w for w in index.get(pos, []) if w.isalpha())
        lemmatizer = cast(Lemmatizer, nlp.get_pipe("lemmatizer"))
        self._inflected = lemmatizer.lookups.get_table("lemma_lookup")

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


def phrase_variants(phrases: Iterable[str]) -> List[str]:
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
    {
        "\u2019": "'",
        "\u2018": "'",
        "\u02bc": "'",
        "`": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u00a0": " ",
        "\u2011": "-",
        "\u2010": "-",
    }
)


def normalise(text: str) -> str:
    """Lower-cases and straightens quotes without changing any character offset."""
    lowered = text.lower()
    if len(lowered) != len(text):  # a few characters ("İ") lower-case to two
        lowered = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    return lowered.translate(_CHARACTER_MAP)

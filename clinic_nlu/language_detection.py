"""Whether a message is written in English, and if not in which language (pure Python: no
Rasa import, so the condition detector and the actions can use it too). The Rasa component that
turns this into a ``language`` entity is clinic_nlu.language.LanguageDetector; how it decides is
described there and measured in docs/nlu.md ("Other languages").
"""

from __future__ import annotations

import functools
import re
from typing import Optional, Set

ENGLISH = "en"
# The languages py3langid may choose from (English must be one of them); the component's
# default config.
DEFAULT_LANGUAGES = (
    "en",
    "es",
    "fr",
    "pt",
    "it",
    "de",
    "nl",
    "ca",
    "ro",
    "pl",
    "tr",
    "vi",
    "id",
    "tl",
)

# Letters of a script that names its language on its own.
SCRIPTS = (
    ("ja", re.compile(r"[\u3040-\u30ff]")),  # kana: Japanese even among kanji
    ("zh", re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")),
    ("ko", re.compile(r"[\uac00-\ud7af]")),
    ("ru", re.compile(r"[\u0400-\u04ff]")),
    ("ar", re.compile(r"[\u0600-\u06ff]")),
    ("he", re.compile(r"[\u0590-\u05ff]")),
    ("el", re.compile(r"[\u0370-\u03ff]")),
    ("th", re.compile(r"[\u0e00-\u0e7f]")),
    ("hi", re.compile(r"[\u0900-\u097f]")),
)
SPANISH_MARKS = re.compile(r"[¿¡ñÑ]")
# Accented letters of Spanish, French, Portuguese, Italian: a short message with one ("no hablo
# inglés") is worth asking py3langid about; on their own they don't make a message foreign
# ("the café near you"), so the English-word share still decides first.
ACCENTED = re.compile(r"[áéíóúàèìòùâêîôûãõçÁÉÍÓÚÀÈÌÒÙÂÊÎÔÛÃÕÇ]")
WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
IGNORED = re.compile(r"\S+@\S+|https?://\S+|www\.\S+|/\S+")


@functools.lru_cache(maxsize=1)
def _english_words() -> frozenset:
    """English words and their inflected forms, from spacy-lookups-data (offline)."""
    from spacy.lookups import load_lookups

    words: Set[str] = set()
    index = load_lookups("en", ["lemma_index"]).get_table("lemma_index")
    for pos in ("noun", "verb", "adj", "adv"):
        words.update(w.lower() for w in index.get(pos, []) if w.isalpha())
    lemmas = load_lookups("en", ["lemma_lookup"]).get_table("lemma_lookup")
    words.update(str(w).lower() for w in lemmas if str(w).isalpha())
    words.update(FUNCTION_WORDS)
    return frozenset(words)


# Short English words the lemma tables leave out (they are not nouns, verbs, adjectives...).
FUNCTION_WORDS = {
    "a",
    "an",
    "the",
    "i",
    "me",
    "my",
    "you",
    "your",
    "we",
    "our",
    "he",
    "she",
    "it",
    "its",
    "they",
    "them",
    "is",
    "are",
    "am",
    "was",
    "be",
    "do",
    "does",
    "did",
    "can",
    "could",
    "will",
    "would",
    "should",
    "may",
    "might",
    "must",
    "and",
    "or",
    "but",
    "if",
    "so",
    "of",
    "to",
    "in",
    "on",
    "at",
    "for",
    "with",
    "about",
    "from",
    "by",
    "how",
    "what",
    "when",
    "where",
    "why",
    "who",
    "which",
    "this",
    "that",
    "these",
    "those",
    "there",
    "here",
    "not",
    "no",
    "yes",
    "ok",
    "okay",
    "hi",
    "hello",
    "hey",
    "thanks",
    "please",
    "much",
    "many",
    "any",
    "some",
    "im",
    "dont",
    "doesnt",
    "cant",
    "wont",
    "isnt",
    "u",
    "ur",
    "pls",
    "plz",
    "lol",
    "thx",
    "ty",
    "microcurrent",
    "facial",
    "facials",
    "nyc",
    "botox",
    "nuface",
    "vs",
    "dermal",
    "wanna",
    "gonna",
    "gotta",
    "kinda",
    "sorta",
    "dunno",
    "lemme",
    "gimme",
    "ya",
    "yep",
    "yup",
    "nope",
    "had",
    "has",
    "been",
    "were",
    "got",
    "gets",
    "went",
    "goes",
    "doing",
    "having",
    "than",
    "nah",
    "tho",
    "uh",
    "huh",
    "hmm",
    "mm",
    "mhm",
    "um",
    "umm",
    "ah",
    "oh",
    "bc",
    "cuz",
    "omg",
    "idk",
    "btw",
    "asap",
}


# Common words of Spanish, French, Portuguese and Italian that spaCy's lemma tables also list
# as English (rare loans and abbreviations: "des", "pour", "pas", "il", "chi"): in a visitor's
# message they are far likelier foreign, so they never count as English words here.
FOREIGN_FUNCTION_WORDS = {
    "des",
    "les",
    "le",
    "la",
    "el",
    "los",
    "las",
    "del",
    "al",
    "pour",
    "ne",
    "pas",
    "il",
    "ils",
    "elle",
    "est",
    "et",
    "du",
    "au",
    "aux",
    "ou",
    "sur",
    "dans",
    "avec",
    "mais",
    "je",
    "nous",
    "vous",
    "ce",
    "cette",
    "sont",
    "qui",
    "que",
    "quel",
    "quelle",
    "doit",
    "peut",
    "por",
    "para",
    "con",
    "una",
    "uno",
    "unos",
    "es",
    "se",
    "lo",
    "su",
    "sus",
    "mi",
    "muy",
    "mas",
    "pero",
    "como",
    "y",
    "di",
    "che",
    "per",
    "non",
    "chi",
    "si",
    "sono",
    "della",
    "delle",
    "nel",
    "nella",
    "da",
    "em",
    "os",
    "um",
    "uma",
    "não",
    "é",
    "eu",
    "você",
    "meu",
    "minha",
}


@functools.lru_cache(maxsize=4)
def _identifier(languages: tuple):
    """py3langid's identifier limited to ``languages``, with normalised probabilities."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_pickled_model(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(languages))
    return identifier


def detect_language(
    text: str,
    languages: tuple,
    min_words: int = 3,
    min_probability: float = 0.9,
    english_share: float = 0.6,
) -> Optional[str]:
    """The language of ``text`` when it is confidently not English, else None."""
    cleaned = IGNORED.sub(" ", text or "")
    for code, letters in SCRIPTS:
        if len(letters.findall(cleaned)) >= 2:
            return code
    words = [w.lower() for w in WORD.findall(cleaned)]
    if not words:
        return None
    known = _english_words()
    # "¿", "¡" anywhere; "ñ" only in a word not written as a name ("call me, Tomás Ibáñez")
    marked = bool(re.search(r"[¿¡]", cleaned)) or any(
        SPANISH_MARKS.search(w) and not w[:1].isupper() for w in WORD.findall(cleaned)
    )
    english = sum(
        (w.replace("'", "") in known or w in known) and w not in FOREIGN_FUNCTION_WORDS
        for w in words
    )
    if not marked and english >= english_share * len(words):
        return None
    # At least min_words words no English dictionary knows ("ok i wanna bok" has two: slang
    # and a typo, not another language), unless a "¿", "¡" or "ñ" says Spanish.
    unknown = len(words) - english
    # (in a word not written as a name: "Beyoncé" says nothing about the language)
    accented = any(ACCENTED.search(w) and not w[:1].isupper() for w in WORD.findall(cleaned))
    if (
        unknown < min_words
        and not marked
        and not (english == 0 and unknown >= 2)
        and not (accented and unknown >= 2)
    ):
        return None
    ranking = _identifier(tuple(languages)).rank(cleaned)
    english_probability = next((p for code, p in ranking if code == ENGLISH), 0.0)
    if english_probability > 1.0 - min_probability:
        return None
    # Close languages (Spanish / French / Portuguese) share the rest: the notice only needs a
    # likely one, and "¿", "¡", "ñ" settle it.
    return "es" if marked else next(code for code, _ in ranking if code != ENGLISH)

"""Rasa NLU component: a message not written in English, as a ``language`` entity.

Add it to ``config.yml`` (anywhere after the tokenizer)::

    - name: clinic_nlu.language.LanguageDetector

It appends one ``language`` entity (value: an ISO 639-1 code such as ``es``) to a message it is
confident is not English; English messages, and messages too short to tell, are left unchanged.
The actions then answer with a short notice in that language that the assistant answers in
English, and offer a person (data/content/messages.yml ``other_language``), never an article
answer to a message the intent classifier could not really read.

How it decides (measured in docs/nlu.md, "Other languages"):

1. Scripts: Chinese or Japanese characters, Cyrillic, Arabic, Hebrew, Greek, Hangul, Thai or
   Devanagari letters name their language at once (``zh``, ``ja``, ``ru``, ...).
2. Latin script: if most words are English dictionary words (spaCy's lookup tables, the same
   ones the lemmatizer uses), it is English, whatever else says: visitors' typos and brand
   names ("microcurent", "NuFace") must never turn English into Spanish.
3. Otherwise ``py3langid`` (a langid.py model shipped inside the wheel; nothing is downloaded)
   ranks the languages in ``languages``: the message is not English when English gets less
   than ``1 - min_probability`` of the probability, with at least ``min_words`` words that no
   English dictionary knows (or a "¿", "¡" or "ñ"); its language is the likeliest other one.
"""
from __future__ import annotations

import functools
import logging
import re
from typing import Any, Dict, List, Optional, Set

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

logger = logging.getLogger(__name__)

ENTITY_LANGUAGE = "language"
ENGLISH = "en"
# Letters of a script that names its language on its own.
SCRIPTS = (
    ("ja", re.compile(r"[\u3040-\u30ff]")),            # kana: Japanese even among kanji
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
    "a", "an", "the", "i", "me", "my", "you", "your", "we", "our", "he", "she", "it", "its",
    "they", "them", "is", "are", "am", "was", "be", "do", "does", "did", "can", "could", "will",
    "would", "should", "may", "might", "must", "and", "or", "but", "if", "so", "of", "to", "in",
    "on", "at", "for", "with", "about", "from", "by", "how", "what", "when", "where", "why",
    "who", "which", "this", "that", "these", "those", "there", "here", "not", "no", "yes", "ok",
    "okay", "hi", "hello", "hey", "thanks", "please", "much", "many", "any", "some", "im",
    "dont", "doesnt", "cant", "wont", "isnt", "u", "ur", "pls", "plz", "lol", "thx", "ty",
    "microcurrent", "facial", "facials", "nyc", "botox", "nuface", "vs", "dermal", "wanna",
    "gonna", "gotta", "kinda", "sorta", "dunno", "lemme", "gimme", "ya", "yep", "yup", "nope",
    "had", "has", "been", "were", "got", "gets", "went", "goes", "doing", "having", "than",
    "nah", "tho", "uh", "huh", "hmm", "mm", "mhm", "um", "umm", "ah", "oh", "bc", "cuz", "omg", "idk", "btw", "asap",
}


@functools.lru_cache(maxsize=4)
def _identifier(languages: tuple):
    """py3langid's identifier limited to ``languages``, with normalised probabilities."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_pickled_model(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(languages))
    return identifier


def detect_language(text: str, languages: tuple, min_words: int = 3,
                    min_probability: float = 0.9, english_share: float = 0.6) -> Optional[str]:
    """The language of ``text`` when it is confidently not English, else None."""
    cleaned = IGNORED.sub(" ", text or "")
    for code, letters in SCRIPTS:
        if len(letters.findall(cleaned)) >= 2:
            return code
    words = [w.lower() for w in WORD.findall(cleaned)]
    if not words:
        return None
    known = _english_words()
    marked = bool(SPANISH_MARKS.search(cleaned))
    english = sum(w.replace("'", "") in known or w in known for w in words)
    if not marked and english >= english_share * len(words):
        return None
    # At least min_words words no English dictionary knows ("ok i wanna bok" has two: slang
    # and a typo, not another language), unless a "¿", "¡" or "ñ" says Spanish.
    unknown = len(words) - english
    # (in a word not written as a name: "Beyoncé" says nothing about the language)
    accented = any(ACCENTED.search(w) and not w[:1].isupper() for w in WORD.findall(cleaned))
    if unknown < min_words and not marked and not (english == 0 and unknown >= 2) \
            and not (accented and unknown >= 2):
        return None
    ranking = _identifier(tuple(languages)).rank(cleaned)
    english_probability = next((p for code, p in ranking if code == ENGLISH), 0.0)
    if english_probability > 1.0 - min_probability:
        return None
    # Close languages (Spanish / French / Portuguese) share the rest: the notice only needs a
    # likely one, and "¿", "¡", "ñ" settle it.
    return "es" if marked else next(code for code, _ in ranking if code != ENGLISH)


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False
)
class LanguageDetector(GraphComponent, EntityExtractorMixin):
    """Marks messages that are confidently not in English with a ``language`` entity."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """The component's default config (see parent class for full docstring)."""
        return {
            # languages py3langid may choose from (English must be one of them)
            "languages": ["en", "es", "fr", "pt", "it", "de", "nl", "ca", "ro", "pl", "tr",
                          "vi", "id", "tl"],
            # fewer words than this (in Latin script) are left alone, unless "¿", "¡" or "ñ"
            "min_words": 3,
            # the probability py3langid must give to "not English" (all other languages)
            "min_probability": 0.9,
            # this share of dictionary English words makes a message English
            "english_share": 0.6,
        }

    @staticmethod
    def required_packages() -> List[str]:
        """Any extra python dependencies required for this component to run."""
        return ["py3langid", "spacy"]

    @classmethod
    def create(cls, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> LanguageDetector:
        """Creates the component (see parent class for full docstring)."""
        return cls(config)

    def __init__(self, config: Dict[str, Any]) -> None:
        self._config = {**self.get_default_config(), **config}
        if ENGLISH not in self._config["languages"]:
            self._config["languages"] = [ENGLISH, *self._config["languages"]]
        self._languages = tuple(self._config["languages"])

    def process(self, messages: List[Message]) -> List[Message]:
        """Appends a ``language`` entity to each message that is not in English."""
        for message in messages:
            text = message.get(TEXT)
            if not isinstance(text, str) or not text.strip() or text.startswith("/"):
                continue
            code = detect_language(text, self._languages, self._config["min_words"],
                                   self._config["min_probability"],
                                   self._config["english_share"])
            if code:
                entity = {ENTITY_ATTRIBUTE_TYPE: ENTITY_LANGUAGE, ENTITY_ATTRIBUTE_START: 0,
                          ENTITY_ATTRIBUTE_END: len(text), ENTITY_ATTRIBUTE_VALUE: code}
                message.set(ENTITIES, message.get(ENTITIES, [])
                            + self.add_extractor_name([entity]), add_to_output=True)
        return messages

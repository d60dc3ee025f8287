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

import logging
from typing import Any, Dict, List

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

from clinic_nlu.language_detection import DEFAULT_LANGUAGES, ENGLISH, detect_language

__all__ = ["ENTITY_LANGUAGE", "LanguageDetector", "detect_language"]

logger = logging.getLogger(__name__)

ENTITY_LANGUAGE = "language"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class LanguageDetector(GraphComponent, EntityExtractorMixin):
    """Marks messages that are confidently not in English with a ``language`` entity."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """The component's default config (see parent class for full docstring)."""
        return {
            # languages py3langid may choose from (English must be one of them)
            "languages": list(DEFAULT_LANGUAGES),
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
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LanguageDetector:
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
            code = detect_language(
                text,
                self._languages,
                self._config["min_words"],
                self._config["min_probability"],
                self._config["english_share"],
            )
            if code:
                entity = {
                    ENTITY_ATTRIBUTE_TYPE: ENTITY_LANGUAGE,
                    ENTITY_ATTRIBUTE_START: 0,
                    ENTITY_ATTRIBUTE_END: len(text),
                    ENTITY_ATTRIBUTE_VALUE: code,
                }
                message.set(
                    ENTITIES,
                    message.get(ENTITIES, []) + self.add_extractor_name([entity]),
                    add_to_output=True,
                )
        return messages

"""Rasa NLU component: the separate questions of a message, as ``question_part`` entities.

Add it to ``config.yml`` after the intent classifier::

    - name: clinic_nlu.question_parts.QuestionPartExtractor

Rasa's classifier gives a message one intent (or one of the few trained multi-intents). This
component splits the message into clauses (sentence ends and question marks always; "and",
"also", "plus", "as well as", commas and a new question word in a run-on sentence only when
both sides read as separate questions), classifies each clause with its own small model
(trained in ``train()`` on the single-intent NLU examples: word and character n-gram TF-IDF,
logistic regression) and appends one entity per clause::

    {"entity": "question_part", "value": "ask_price", "start": 17, "end": 35,
     "confidence": 0.93, "extractor": "QuestionPartExtractor"}

only when at least two *different* confident topical parts are found (greetings, thanks and
out-of-scope clauses are not topical: the classifier and the rules handle those; a disclosure
clause counts, as ``inform_condition``, where the contraindication detector, which runs earlier,
found a condition). Messages with a single question get no entity, so nothing changes for them.
docs/nlu.md records how the thresholds were chosen (measured, not tuned on the test sets).

The splitting itself is :mod:`clinic_nlu.question_splitter` (no Rasa objects); how the trained
classifier is stored, :mod:`clinic_nlu.question_model_files`.
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
    ENTITY_ATTRIBUTE_CONFIDENCE,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    INTENT,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from clinic_nlu.question_model_files import load_pipeline, save_pipeline
from clinic_nlu.question_splitter import Part, QuestionSplitter

logger = logging.getLogger(__name__)

ENTITY_QUESTION_PART = "question_part"
HEALTH_ENTITIES = {"condition", "uncovered_condition", "urgent_symptom"}


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True)
class QuestionPartExtractor(GraphComponent, EntityExtractorMixin):
    """Finds the separate questions of a message and adds them as ``question_part`` entities."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """The component's default config (see parent class for full docstring)."""
        return {
            # a clause split at "and" / "also" / a run-on question word counts only when both
            # sides reach this probability and differ (docs/nlu.md: measured on held-out singles
            # and synthetic pairs, not on the multi-part test sets)
            "threshold": 0.4,
            # a clause ended by "?" / "." needs this probability to count
            "strong_threshold": 0.4,
            # not questions to answer: the classifier and the rules handle these. A disclosure
            # clause ("I have epilepsy") counts as a part, so the question beside it is found;
            # the reply planner answers the disclosure from the detector's entities, safety first
            "ignored_intents": [
                "greet",
                "goodbye",
                "thank",
                "affirm",
                "deny",
                "cancel",
                "out_of_scope",
                "nlu_fallback",
            ],
            # at most this many parts are emitted per message
            "max_parts": 3,
            # inverse regularisation of the clause classifier's logistic regression
            "C": 10.0,
        }

    @staticmethod
    def required_packages() -> List[str]:
        """Any extra python dependencies required for this component to run."""
        return ["sklearn", "skops"]  # skops: only to load models trained before format 1

    def __init__(
        self,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        pipeline: Any = None,
    ) -> None:
        """Creates the component; ``pipeline`` is the trained clause classifier, if any."""
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._splitter = self._splitter_for(pipeline) if pipeline is not None else None

    def _splitter_for(self, pipeline: Any) -> QuestionSplitter:
        return QuestionSplitter(
            pipeline,
            threshold=self._config["threshold"],
            strong_threshold=self._config["strong_threshold"],
            ignored_intents=self._config["ignored_intents"],
            max_parts=self._config["max_parts"],
        )

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> QuestionPartExtractor:
        """Creates an untrained component (see parent class for full docstring)."""
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        """Trains the clause classifier on the single-intent examples and persists it."""
        examples = [
            (m.get(TEXT), m.get(INTENT))
            for m in training_data.intent_examples
            if m.get(TEXT) and m.get(INTENT) and "+" not in m.get(INTENT)
        ]
        if len({intent for _, intent in examples}) < 2:
            logger.warning(
                "%s: fewer than two intents to learn; no question parts will be found.",
                self.__class__.__name__,
            )
            return self._resource
        pipeline = QuestionSplitter.fit(examples, c=self._config["C"])
        self._splitter = self._splitter_for(pipeline)
        self.persist()
        return self._resource

    def persist(self) -> None:
        """Writes the clause classifier to the model storage (NumPy arrays + JSON, no pickle)."""
        assert self._splitter is not None, "persist() is called after train()"
        with self._model_storage.write_to(self._resource) as model_dir:
            save_pipeline(self._splitter.pipeline, model_dir)

    @classmethod
    def load(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> QuestionPartExtractor:
        """Loads the trained clause classifier (see parent class for full docstring)."""
        try:
            with model_storage.read_from(resource) as model_dir:
                pipeline = load_pipeline(model_dir)
        except (ValueError, FileNotFoundError) as error:
            logger.warning(
                "%s could not load its model (%s); no question parts will be found.",
                cls.__name__,
                error,
            )
            pipeline = None
        return cls(config, model_storage, resource, pipeline)

    def process(self, messages: List[Message]) -> List[Message]:
        """Appends a ``question_part`` entity per question when a message asks several."""
        if self._splitter is None:
            return messages
        for message in messages:
            text = message.get(TEXT)
            if not isinstance(text, str) or not text.strip():
                continue
            disclosures = [
                (e.get(ENTITY_ATTRIBUTE_START, 0), e.get(ENTITY_ATTRIBUTE_END, len(text)))
                for e in message.get(ENTITIES, [])
                if e.get(ENTITY_ATTRIBUTE_TYPE) in HEALTH_ENTITIES
            ]
            found = self._splitter.parts(text, disclosures)
            entities = self.add_extractor_name([_as_entity(p) for p in found])
            if entities:
                message.set(ENTITIES, message.get(ENTITIES, []) + entities, add_to_output=True)
        return messages


def _as_entity(part: Part) -> Dict[str, Any]:
    return {
        ENTITY_ATTRIBUTE_TYPE: ENTITY_QUESTION_PART,
        ENTITY_ATTRIBUTE_VALUE: part.intent,
        ENTITY_ATTRIBUTE_START: part.start,
        ENTITY_ATTRIBUTE_END: part.end,
        ENTITY_ATTRIBUTE_CONFIDENCE: round(part.confidence, 3),
    }

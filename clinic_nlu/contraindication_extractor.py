"""Rasa NLU component: health conditions a visitor reports, as entities.

Add it to ``config.yml`` after the intent classifier and other extractors::

    - name: clinic_nlu.contraindication_extractor.ContraindicationExtractor
      rules_path: data/content/contraindications.yml

It runs on every message whatever intent is predicted ("I have epilepsy lol"
classified as ``greet`` still yields a ``condition`` entity), and appends:

* ``condition`` -- value: article condition id (e.g. ``pregnancy``), role:
  ``self`` or ``other``;
* ``uncovered_condition`` -- value: uncovered condition id (e.g. ``botox``),
  role: ``self`` or ``other``;
* ``urgent_symptom`` -- value: symptom id (e.g. ``chest_pain``), no role (as
  declared in ``domain.yml``); only for symptoms happening now.
* ``after_treatment`` -- value: a mild symptom id (e.g. ``tingling``), role
  ``reported`` when the message names a treatment already had ("after my
  facial"), else ``mentioned`` (the actions count it only as a follow-up of
  an earlier report).
* ``retracted_condition`` -- value: a condition id the visitor says they do
  not (or no longer) have ("I'm not pregnant anymore"), no role.

Negated mentions ("I'm not pregnant") are not emitted as conditions. Each (entity, value,
role) is emitted once per message, at its first mention.

The rules file is re-read when it changes on disk (``clinic_common.file_watch``),
so staff edits to the terms are live without retraining. A broken edit is logged
once (with the file name and the problem) and the last good rules stay in use.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, List, Optional, Set, Tuple

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_ROLE,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from clinic_common.file_watch import ValueFromFiles
from clinic_content.contraindications import (
    KIND_AFTER_TREATMENT,
    KIND_ARTICLE,
    KIND_UNCOVERED,
    KIND_URGENT,
)
from clinic_nlu.condition_detector import ConditionDetector, ConditionMention

logger = logging.getLogger(__name__)

DEFAULT_RULES_PATH = "data/content/contraindications.yml"

ENTITY_CONDITION = "condition"
ENTITY_UNCOVERED_CONDITION = "uncovered_condition"
ENTITY_URGENT_SYMPTOM = "urgent_symptom"
ENTITY_AFTER_TREATMENT = "after_treatment"
# A condition the visitor says they do NOT have (or no longer have): "I'm not pregnant anymore".
ENTITY_RETRACTED = "retracted_condition"
# A condition asked about as a possible side effect ("can it cause seizures?"): the safety answer.
ENTITY_SIDE_EFFECT = "side_effect_question"
ENTITY_FOR_KIND = {
    KIND_ARTICLE: ENTITY_CONDITION,
    KIND_UNCOVERED: ENTITY_UNCOVERED_CONDITION,
    KIND_URGENT: ENTITY_URGENT_SYMPTOM,
    KIND_AFTER_TREATMENT: ENTITY_AFTER_TREATMENT,
}
# after_treatment roles: the message names a treatment already had, or only the symptom.
ROLE_REPORTED, ROLE_MENTIONED = "reported", "mentioned"
# urgent_symptom role when the message names a treatment already had.
ROLE_AFTER_TREATMENT = "after_treatment"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class ContraindicationExtractor(GraphComponent, EntityExtractorMixin):
    """Extracts reported health conditions and urgent symptoms from messages."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """The component's default config (see parent class for full docstring)."""
        return {
            # the staff-editable rules file; a relative path is taken from the
            # directory Rasa is started in (the project root)
            "rules_path": DEFAULT_RULES_PATH,
            # re-read the rules file when it changes (one `stat` per batch of
            # messages); switch off to freeze the rules loaded at start-up
            "reload_on_change": True,
        }

    @staticmethod
    def required_packages() -> List[str]:
        """Any extra python dependencies required for this component to run."""
        return ["spacy"]

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> ContraindicationExtractor:
        """Creates the component (see parent class for full docstring).

        Raises:
            InvalidConfigException: if the rules file cannot be loaded. Unlike a
                missing lookup table, missing safety rules must stop the
                assistant rather than let it run without them.
        """
        return cls(config)

    def __init__(
        self, config: Dict[str, Any], detector: Optional[ConditionDetector] = None
    ) -> None:
        """Creates the component, loading the rules file unless `detector` is given.

        Args:
            config: overrides for `get_default_config()`.
            detector: a ready detector (tests); its rules are replaced when the
                rules file changes, if `reload_on_change` is on.
        """
        self._config = {**self.get_default_config(), **config}
        self._path = Path(self._config["rules_path"])
        self._rules: ValueFromFiles[ConditionDetector] = ValueFromFiles(
            self._path, self._load_detector, errors=(ValueError,)
        )
        if detector is not None:
            self._rules.adopt(detector)
        else:
            reload = self._rules.refresh()
            if reload is not None and reload.error is not None:
                raise InvalidConfigException(
                    f"{self.__class__.__name__} cannot start without its rules: {reload.error}"
                ) from reload.error

    @property
    def detector(self) -> ConditionDetector:
        """The detector currently in use (the last good rules)."""
        return self._rules.value

    def process(self, messages: List[Message]) -> List[Message]:
        """Appends condition entities to each message, whatever its intent.

        Messages in which nothing is found are left unchanged.

        Returns:
            the given list of messages, with the entities appended.
        """
        self._reload_if_changed()
        for message in messages:
            text = message.get(TEXT)
            if not isinstance(text, str) or not text.strip():
                continue
            entities = self.add_extractor_name(self._entities(text))
            if entities:
                message.set(ENTITIES, message.get(ENTITIES, []) + entities, add_to_output=True)
        return messages

    def _entities(self, text: str) -> List[Dict[str, Any]]:
        entities = []
        seen: Set[Tuple[str, str, Optional[str]]] = set()
        for mention in self.detector.detect(text):
            if mention.side_effect:
                key = (ENTITY_SIDE_EFFECT, mention.condition, None)
                if key not in seen:
                    seen.add(key)
                    entities.append(
                        {
                            ENTITY_ATTRIBUTE_TYPE: ENTITY_SIDE_EFFECT,
                            ENTITY_ATTRIBUTE_START: mention.start,
                            ENTITY_ATTRIBUTE_END: mention.end,
                            ENTITY_ATTRIBUTE_VALUE: mention.condition,
                        }
                    )
                continue
            if mention.negated:
                if mention.kind in (KIND_ARTICLE, KIND_UNCOVERED):
                    entity = _as_entity(mention)
                    entity[ENTITY_ATTRIBUTE_TYPE] = ENTITY_RETRACTED
                    entity.pop(ENTITY_ATTRIBUTE_ROLE, None)
                    key = (ENTITY_RETRACTED, mention.condition, None)
                    if key not in seen:
                        seen.add(key)
                        entities.append(entity)
                continue
            entity = _as_entity(mention)
            key = (
                entity[ENTITY_ATTRIBUTE_TYPE],
                mention.condition,
                entity.get(ENTITY_ATTRIBUTE_ROLE),
            )
            if key in seen:
                continue
            seen.add(key)
            entities.append(entity)
        return entities

    # ----------------------------------------------------------------- reload

    def _load_detector(self) -> ConditionDetector:
        # The spaCy side does not depend on the rules: a reload reuses it instead of building it
        # again.
        pipeline = self._rules.value.pipeline if self._rules.loaded else None
        return ConditionDetector.from_yaml(self._path, pipeline=pipeline)

    def _reload_if_changed(self) -> None:
        if not self._config["reload_on_change"]:
            return
        reload = self._rules.refresh()  # an outcome once per version of the file
        if reload is None:
            return
        if reload.error is not None:
            # The message names the file and the problem; keep serving safely.
            logger.error("%s -- keeping the last good rules.", reload.error)
        else:
            logger.info("Reloaded contraindication rules from %s.", self._path)


def _as_entity(mention: ConditionMention) -> Dict[str, Any]:
    entity = {
        ENTITY_ATTRIBUTE_TYPE: ENTITY_FOR_KIND[mention.kind],
        ENTITY_ATTRIBUTE_START: mention.start,
        ENTITY_ATTRIBUTE_END: mention.end,
        ENTITY_ATTRIBUTE_VALUE: mention.condition,
    }
    if mention.kind == KIND_AFTER_TREATMENT:
        entity[ENTITY_ATTRIBUTE_ROLE] = (
            ROLE_REPORTED if mention.after_a_treatment else ROLE_MENTIONED
        )
    elif mention.kind == KIND_URGENT:  # one message for anyone: no subject
        if mention.after_a_treatment:  # "... after my facial": staff get a follow-up note
            entity[ENTITY_ATTRIBUTE_ROLE] = ROLE_AFTER_TREATMENT
    else:
        entity[ENTITY_ATTRIBUTE_ROLE] = mention.subject
    return entity

"""Rasa NLU component: a health report or a message not in English never starts a form.

Add it last in ``config.yml``, after the classifiers and the entity extractors::

    - name: clinic_nlu.intent_overrides.SafetyIntentOverride

"I had my facial yesterday and my face feels tight, can I book another?" is classified ``book``
by the intent classifier, which would start the booking form and ask for a service: the
visitor's report would go unanswered. So when a message carries an ``urgent_symptom`` entity,
an ``after_treatment`` entity reported next to a treatment, or a ``language`` entity (not in
English), its intent is set to ``inform_condition`` (health) or ``out_of_scope`` (language):
both are answered by ``action_answer``, whose planner puts safety and the language notice
first. The classifier's ranking is kept for the "did you mean" buttons. Disclosed conditions
do not change the intent: a booking with a condition becomes a consultation request.

Rules on the message alone (no conversation state), so the component stays a plain NLU step.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_NAME_KEY, PREDICTED_CONFIDENCE_KEY
from rasa.shared.nlu.training_data.message import Message

logger = logging.getLogger(__name__)

HEALTH_INTENT = "inform_condition"
LANGUAGE_INTENT = "out_of_scope"


def override_for(entities: List[Dict[str, Any]]) -> Optional[str]:
    """The intent a message must have because of its entities, or None to keep it."""
    kinds = {(e.get("entity"), e.get("role")) for e in entities or []}
    if (
        any(kind == "urgent_symptom" for kind, _ in kinds)
        or ("after_treatment", "reported") in kinds
    ):
        return HEALTH_INTENT
    if any(kind == "language" for kind, _ in kinds):
        return LANGUAGE_INTENT
    return None


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class SafetyIntentOverride(GraphComponent):
    """Sets the intent of health reports and non-English messages (see the module docstring)."""

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SafetyIntentOverride:
        """Creates the component (see parent class for full docstring)."""
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        """Replaces the intent where :func:`override_for` says so."""
        for message in messages:
            intent = override_for(message.get(ENTITIES) or [])
            current = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
            if intent and current != intent:
                logger.debug(
                    "Intent %s of a health report / other language set to %s", current, intent
                )
                message.set(
                    INTENT,
                    {INTENT_NAME_KEY: intent, PREDICTED_CONFIDENCE_KEY: 1.0},
                    add_to_output=True,
                )
        return messages

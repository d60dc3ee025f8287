"""Validate action-server replies with a schema compiled once, not once per reply.

Rasa 3.6's ``RemoteAction._validate_action_result`` calls ``jsonschema.validate`` on every reply
from the action server. That re-checks the (constant) response schema against the JSON-Schema
meta-schema each time: about 21 ms of CPU per reply on the event loop, against 1.4 ms with the
validator built once (scripts/bench_schema.py, docs/benchmarks.md). Replies are still validated
against the same schema, with the same errors and message as Rasa's own method.
"""

import functools
import logging
from typing import Any, Dict, Text

from jsonschema import ValidationError
from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL

logger = logging.getLogger(__name__)


@functools.lru_cache(maxsize=1)
def response_validator() -> Any:
    """The validator for Rasa's action-response schema, built and checked once."""
    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def validate_action_result(self: RemoteAction, result: Dict[Text, Any]) -> bool:
    """Same contract as ``RemoteAction._validate_action_result`` (raises ValidationError)."""
    error = best_match(response_validator().iter_errors(result))
    if error is None:
        return True
    error.message += (
        ". Failed to validate Action server response from API, "
        "make sure your response from the Action endpoint is valid. "
        f"For more information about the format visit {DOCS_BASE_URL}/custom-actions"
    )
    raise error


def install() -> None:
    """Replace Rasa's per-reply schema check with the compiled one."""
    if RemoteAction._validate_action_result is not validate_action_result:
        RemoteAction._validate_action_result = validate_action_result
        logger.debug("Action-server replies are validated with a precompiled schema.")


__all__ = ["ValidationError", "install", "response_validator", "validate_action_result"]

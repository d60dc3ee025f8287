"""Validate action-server replies with a schema compiled once, and accept valid ones cheaply.

Rasa 3.6's ``RemoteAction._validate_action_result`` calls ``jsonschema.validate`` on every reply
from the action server. That re-checks the (constant) response schema against the JSON-Schema
meta-schema each time: about 21 ms of CPU per reply on the event loop, against 1.4 ms with the
validator built once (scripts/bench_schema.py, docs/benchmarks.md). Replies are still validated
against the same schema, with the same errors and message as Rasa's own method.

The 1.4 ms that was left is nearly all the events' ``oneOf``: every event is checked against
all 23 event-type branches (``{"properties": {"event": {"const": ...}}}``), 22 of which fail,
each through jsonschema's generic machinery. So a reply is now first given to a fast check,
``fast_reply_check()``, built from the schema at first use:

- the ``oneOf`` is dispatched on the event's name. This is exact, not a heuristic: each branch
  has ``properties.event.const`` and the names are distinct, and ``event`` is required and a
  string, so a branch other than the one named by ``event`` can never match. An event is valid
  iff it is an object, ``event`` is one of the names, ``timestamp`` / ``metadata`` have their
  types, and it is valid under that one branch (unknown name: no branch, invalid);
- the common shapes are checked by hand: the top level, the common event fields, the 19
  branches that are only the ``const``, and ``slot`` (``name`` a string, ``value`` present).
  Each hand check is used only if the schema still says exactly what it was written for
  (``_EXPECTED_*`` below, compared when the check is built); otherwise, and for the ``user``,
  ``action`` and ``entities`` branches, jsonschema validates the event against its one branch.
  The hand checks test Python types exactly (``type(x) is dict``), stricter than jsonschema
  (``isinstance``): a dict subclass or a Decimal only takes the slow path.

The fast check only ever says "valid" or "not sure". When it is not sure (an invalid reply, or
a shape it does not know), or raises, the reply goes through exactly the code used before
(``full_check``): jsonschema accepts it, or raises the same ``ValidationError`` with the same
message as Rasa. So accept/reject decisions and errors are unchanged (tests/unit/
test_fast_validation.py checks that differentially against ``jsonschema.validate`` on
generated replies). Our action_answer's reply (5 slot events): 1.34 ms -> 2.0 us of CPU; a
reply with a ``user`` event about 50 us; an invalid reply costs 2 us more than before.

Measured alternatives (same reply, in-process, median us): fastjsonschema (BSD, compiles a
schema to Python code; the first idea) compiled from the whole schema 1,500 -- *slower* than
jsonschema, because it also tries every ``oneOf`` branch and each failing branch raises an
exception formatted from ``locals()``; jsonschema with the ``oneOf`` dispatched 183;
fastjsonschema with it dispatched 12; the hand checks 2.0. Once the dispatch is done, the few
type checks left need no new dependency. Details: docs/benchmarks-levers.md.
``CLINIC_RUNTIME_SKIP=fast_reply_check`` turns the fast check off (only for measuring it).
"""

import functools
import logging
import os
from typing import Any, Callable, Dict, Optional

from jsonschema import ValidationError
from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL

logger = logging.getLogger(__name__)

SKIP_NAME = "fast_reply_check"

# What the hand checks implement; compared with Rasa's schema when the fast check is built.
_EXPECTED_TOP_KEYS = {"type", "properties"}
_EXPECTED_RESPONSES = {"type": "array", "items": {"type": "object"}}
_EXPECTED_EVENTS_KEYS = {"type", "items"}
_EXPECTED_EVENT_BASE = {  # an event item without its oneOf
    "type": "object",
    "properties": {
        "event": {"type": "string"},
        "timestamp": {"type": ["number", "null"]},
        "metadata": {"type": ["object", "null"]},
    },
    "required": ["event"],
}
_EXPECTED_SLOT = {
    "properties": {"event": {"const": "slot"}, "name": {"type": "string"}, "value": {}},
    "required": ["name", "value"],
}
# Keywords that would make a branch mean something else when validated on its own.
_CONTEXT_KEYWORDS = {
    "$ref",
    "$dynamicRef",
    "$recursiveRef",
    "$id",
    "$anchor",
    "$dynamicAnchor",
    "$defs",
    "definitions",
}

_CONST_ONLY = "const-only"  # the branch is just the event's name: nothing more to check
_SLOT = "slot"
_NUMBER_OR_NULL = (int, float, type(None))  # exact types: bool is not int here


@functools.lru_cache(maxsize=1)
def response_validator() -> Any:
    """The validator for Rasa's action-response schema, built and checked once."""
    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def full_check(result: Dict[str, Any]) -> bool:
    """The complete jsonschema validation, as before: True, or Rasa's ValidationError."""
    error = best_match(response_validator().iter_errors(result))
    if error is None:
        return True
    error.message += (
        ". Failed to validate Action server response from API, "
        "make sure your response from the Action endpoint is valid. "
        f"For more information about the format visit {DOCS_BASE_URL}/custom-actions"
    )
    raise error


def _mentions(schema: Any, keywords: set) -> bool:
    if isinstance(schema, dict):
        return any(key in keywords or _mentions(value, keywords) for key, value in schema.items())
    if isinstance(schema, list):
        return any(_mentions(value, keywords) for value in schema)
    return False


def build_fast_check(schema: Dict[str, Any]) -> Optional[Callable[[Any], bool]]:
    """A function that returns True only for replies valid under ``schema`` (False: not sure).

    None if ``schema`` is not shaped as the hand checks expect (a Rasa upgrade changed it).
    """
    try:
        properties = schema["properties"]
        events = properties["events"]
        items = events["items"]
        base = {key: value for key, value in items.items() if key != "oneOf"}
        if (
            set(schema) != _EXPECTED_TOP_KEYS
            or schema["type"] != "object"
            or set(properties) != {"events", "responses"}
            or properties["responses"] != _EXPECTED_RESPONSES
            or set(events) != _EXPECTED_EVENTS_KEYS
            or events["type"] != "array"
            or base != _EXPECTED_EVENT_BASE
            or not isinstance(items["oneOf"], list)
        ):
            return None
        validator_class = validator_for(schema)
        kinds: Dict[str, Any] = {}
        for branch in items["oneOf"]:
            name = branch["properties"]["event"]["const"]
            if not isinstance(name, str) or name in kinds:
                return None  # the dispatch needs distinct names
            if branch == {"properties": {"event": {"const": name}}}:
                kinds[name] = _CONST_ONLY
            elif name == "slot" and branch == _EXPECTED_SLOT:
                kinds[name] = _SLOT
            elif _mentions(branch, _CONTEXT_KEYWORDS):
                kinds[name] = None  # not validated alone: such events take the full path
            else:
                kinds[name] = validator_class(branch).is_valid
    except (KeyError, TypeError, AttributeError):
        return None

    def check(result: Any) -> bool:
        if type(result) is not dict:
            return False
        if "responses" in result:
            responses = result["responses"]
            if type(responses) is not list:
                return False
            for response in responses:
                if type(response) is not dict:
                    return False
        if "events" not in result:
            return True
        events = result["events"]
        if type(events) is not list:
            return False
        for event in events:
            if type(event) is not dict:
                return False
            name = event.get("event")
            if type(name) is not str:
                return False
            kind = kinds.get(name)
            if kind is None:  # unknown event (no branch matches) or one we do not check alone
                return False
            if "timestamp" in event and type(event["timestamp"]) not in _NUMBER_OR_NULL:
                return False
            if "metadata" in event:
                metadata = event["metadata"]
                if metadata is not None and type(metadata) is not dict:
                    return False
            if kind is _CONST_ONLY:
                continue
            if kind is _SLOT:
                if type(event.get("name")) is not str or "value" not in event:
                    return False
            elif not kind(event):
                return False
        return True

    return check


def skipped() -> bool:
    """``CLINIC_RUNTIME_SKIP`` names ``fast_reply_check`` (only for measuring it)."""
    names = os.environ.get("CLINIC_RUNTIME_SKIP", "").split(",")
    return SKIP_NAME in {name.strip() for name in names}


@functools.lru_cache(maxsize=1)
def fast_reply_check() -> Optional[Callable[[Any], bool]]:
    """The fast check for Rasa's schema, or None (skipped, or the schema is not as expected)."""
    if skipped():
        logger.info("Action-server replies: fast check skipped (CLINIC_RUNTIME_SKIP).")
        return None
    check = build_fast_check(RemoteAction.action_response_format_spec())
    if check is None:
        logger.warning(
            "Rasa's action-response schema is not the one clinic_runtime's fast "
            "check was written for: every reply is validated by jsonschema."
        )
    return check


def validate_action_result(self: RemoteAction, result: Dict[str, Any]) -> bool:
    """Same contract as ``RemoteAction._validate_action_result`` (raises ValidationError)."""
    check = fast_reply_check()
    if check is not None:
        try:
            if check(result):
                return True
        except Exception:  # noqa: BLE001 - the full check decides, and raises as Rasa would
            pass
    return full_check(result)


def install() -> None:
    """Replace Rasa's per-reply schema check with the compiled one (and its fast path)."""
    if RemoteAction._validate_action_result is not validate_action_result:
        RemoteAction._validate_action_result = validate_action_result
        logger.debug("Action-server replies are validated with a precompiled schema.")


__all__ = [
    "SKIP_NAME",
    "ValidationError",
    "build_fast_check",
    "fast_reply_check",
    "full_check",
    "install",
    "response_validator",
    "validate_action_result",
]

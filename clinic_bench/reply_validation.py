"""Micro-benchmark: the cost of Rasa 3.6 validating every action-server reply.

Rasa 3.6's ``RemoteAction.run`` (rasa/core/actions/action.py) calls
``self._validate_action_result(response)`` after every call to the action server, which runs
``jsonschema.validate(result, self.action_response_format_spec())``. ``jsonschema.validate``
picks the validator class, checks the schema itself against the JSON-Schema meta-schema
(``check_schema``), builds a new validator and only then validates the reply -- on every call.
The events schema is large (one ``oneOf`` branch per event type), so this is measured here:

  per_call  -- Rasa's real code, ``RemoteAction._validate_action_result`` (nothing patched)
  compiled  -- the same schema compiled once (``validator_for(schema)(schema)``), then only
               ``validator.validate(reply)`` per call
  check     -- ``check_schema`` alone (the part a compiled validator skips)
  fast      -- what our Rasa server runs (``clinic_runtime.fast_validation``): a valid reply is
               accepted by the fast check, without jsonschema (docs/benchmarks-levers.md)

The replies are real: our ``action_answer`` run in-process with the repository's content on an
FAQ question, an unknown fact (price) and a safety disclosure, serialised as the Rasa SDK
sends them (``{"events": [...], "responses": [...]}``).

Run by clinic_bench.ours_vs_stock in a subprocess (``python -m clinic_bench.reply_validation``,
from the project folder); prints one JSON object. ``--quick`` times for less long.
"""

import argparse
import asyncio
import json
import os
import sys
import time
import timeit
from pathlib import Path
from typing import Any, Dict, List

PROJECT_DIR = Path(__file__).resolve().parent.parent
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def real_replies() -> Dict[str, Dict[str, Any]]:
    """What our action server returns for three typical turns (events + responses)."""
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher

    from actions.actions_answer import ActionAnswer

    turns = {
        "faq": ("what is a microcurrent facial?", "ask_what_is", []),
        "unknown_fact": ("how much does a session cost?", "ask_price", []),
        "safety_disclosure": (
            "im pregnant can i still get the 4d facial",
            "inform_condition",
            [
                {
                    "entity": "condition",
                    "value": "pregnancy",
                    "role": "self",
                    "extractor": "ContraindicationExtractor",
                }
            ],
        ),
    }
    replies = {}
    for name, (text, intent, entities) in turns.items():
        latest = {
            "text": text,
            "intent": {"name": intent, "confidence": 0.9},
            "entities": entities,
            "intent_ranking": [],
        }
        tracker = Tracker("bench", {}, latest, [], False, None, {}, "action_listen")
        dispatcher = CollectingDispatcher()
        events = asyncio.run(ActionAnswer().run(dispatcher, tracker, {}))
        # as rasa_sdk.executor.ActionExecutor._create_api_response, via JSON like on the wire
        replies[name] = json.loads(json.dumps({"events": events, "responses": dispatcher.messages}))
    return replies


def per_call_us(function, seconds_per_repeat: float, repeat: int) -> float:
    """Best-of-``repeat`` microseconds per call (the least disturbed by other load); each
    repeat runs enough calls to last about ``seconds_per_repeat``."""
    timer = timeit.Timer(function)
    one = max(timer.timeit(number=1), 1e-6)  # also a warm-up call
    loops = max(3, int(seconds_per_repeat / one))
    return min(timer.repeat(repeat=repeat, number=loops)) / loops * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter timings (smoke mode)")
    args = parser.parse_args()

    from importlib.metadata import version

    import jsonschema
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    from clinic_runtime import fast_validation

    replies = real_replies()
    action = RemoteAction("action_answer", None)
    spec = RemoteAction.action_response_format_spec()
    validator_class = validator_for(spec)
    compiled = validator_class(spec)

    # Both ways accept the real replies and reject a broken one.
    broken = {"events": [{"event": "slot"}], "responses": []}
    fast_check = fast_validation.fast_reply_check()
    assert fast_check is not None, "the fast check is off or does not fit this Rasa's schema"
    for reply in replies.values():
        assert action._validate_action_result(reply) is True
        compiled.validate(reply)
        assert fast_check(reply) is True
    for check in (
        lambda: action._validate_action_result(broken),
        lambda: compiled.validate(broken),
    ):
        try:
            check()
        except jsonschema.ValidationError:
            pass
        else:
            raise AssertionError("a broken reply was accepted")

    seconds, repeat = (0.1, 3) if args.quick else (0.6, 5)
    started = time.monotonic()
    results: Dict[str, Any] = {}
    for name, reply in replies.items():
        as_rasa = per_call_us(
            lambda reply=reply: action._validate_action_result(reply), seconds, repeat
        )
        once = per_call_us(lambda reply=reply: compiled.validate(reply), seconds, repeat)
        fast = per_call_us(
            lambda reply=reply: fast_validation.validate_action_result(action, reply),
            seconds,
            repeat,
        )
        results[name] = {
            "events": len(reply["events"]),
            "responses": len(reply["responses"]),
            "reply_bytes": len(json.dumps(reply)),
            "per_call_us": round(as_rasa, 1),
            "compiled_once_us": round(once, 1),
            "saving_us": round(as_rasa - once, 1),
            "speedup": round(as_rasa / once, 1) if once else None,
            "fast_check_us": round(fast, 2),
        }
    check_us = per_call_us(lambda: validator_class.check_schema(spec), seconds, repeat)
    build_us = per_call_us(lambda: validator_class(spec), seconds, repeat)
    savings: List[float] = [r["saving_us"] for r in results.values()]
    print(
        json.dumps(
            {
                "jsonschema_version": version("jsonschema"),
                "validator_class": validator_class.__name__,
                "rasa_code": "rasa/core/actions/action.py RemoteAction._validate_action_result: "
                "jsonschema.validate(result, self.action_response_format_spec())",
                "timing": f"best of {repeat} repeats of ~{seconds} s each, microseconds per call",
                "replies": results,
                "check_schema_us": round(check_us, 1),
                "build_validator_us": round(build_us, 1),
                "mean_saving_us": round(sum(savings) / len(savings), 1),
                "duration_s": round(time.monotonic() - started, 1),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

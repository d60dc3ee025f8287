"""Action-server replies: the fast check changes the cost of validation, never its outcome.

- real replies: our actions run by Rasa's own ``RemoteAction.run`` through the Rasa SDK's
  executor in-process (no servers), and every event type serialised by Rasa and the SDK: all
  accepted, by the fast check itself (so real traffic takes the fast path);
- differential: generated replies, valid and broken, give the same accept/reject as
  ``jsonschema.validate`` on Rasa's schema and, when rejected, the same ValidationError (message,
  path, schema path, keyword) as Rasa's own method;
- the fast check is used only for the schema it was written for; the skip switch; and Rasa
  calls it after ``clinic_runtime.install()``.
"""

import copy
import datetime
import json
from collections import Counter, OrderedDict, UserDict
from decimal import Decimal
from pathlib import Path
from typing import Any, Dict, List

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import ValidationError, validate
from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL

from clinic_runtime import fast_validation

PROJECT_DIR = Path(__file__).resolve().parents[2]
SPEC = RemoteAction.action_response_format_spec()
REFERENCE_CLASS = validator_for(SPEC)
REFERENCE_CLASS.check_schema(SPEC)
EVENTS_SCHEMA = SPEC["properties"]["events"]
EVENT_ITEM = EVENTS_SCHEMA["items"]
EVENT_NAMES = [branch["properties"]["event"]["const"] for branch in EVENT_ITEM["oneOf"]]
SUFFIX = (
    ". Failed to validate Action server response from API, make sure your response from "
    f"the Action endpoint is valid. For more information about the format visit "
    f"{DOCS_BASE_URL}/custom-actions"
)


# --- outcomes ---------------------------------------------------------------------------------
def described(error: ValidationError, suffix: str = "") -> tuple:
    return (
        "rejected",
        error.message + suffix,
        list(error.absolute_path),
        list(error.absolute_schema_path),
        error.validator,
    )


def reference(reply: Any, as_written: bool = False) -> Any:
    """Rasa 3.6's own decision: ``jsonschema.validate`` on its schema, its suffix on errors.

    ``jsonschema.validate`` is, step by step: ``validator_for(schema)``, ``check_schema``, build
    the validator, raise ``best_match(iter_errors)``. Only ``check_schema`` (20 ms, the schema
    is constant) is done once here (``as_written`` calls ``validate`` itself)."""
    if as_written:
        try:
            validate(reply, RemoteAction.action_response_format_spec())
        except ValidationError as error:
            return described(error, SUFFIX)
        return True
    spec = RemoteAction.action_response_format_spec()
    found = best_match(REFERENCE_CLASS(spec).iter_errors(reply))
    return True if found is None else described(found, SUFFIX)


def ours(reply: Any) -> Any:
    try:
        return fast_validation.validate_action_result(None, reply)
    except ValidationError as error:
        return described(error)


# --- representative replies -------------------------------------------------------------------
def rasa_events() -> List[Dict[str, Any]]:
    """One event of each type Rasa serialises (its legacy form events are written as the
    active_loop / loop_interrupted events), as Rasa writes them."""
    from rasa.shared.core import events as e

    now = datetime.datetime(2030, 1, 2, 3, 4, 5)
    parse_data = {
        "text": "hi",
        "intent": {"name": "greet", "confidence": 0.9},
        "entities": [
            {
                "entity": "condition",
                "value": "pregnancy",
                "start": 0,
                "end": 2,
                "role": "self",
                "extractor": "X",
                "confidence": 1.0,
            }
        ],
        "intent_ranking": [{"name": "greet", "confidence": 0.9}],
        "response_selector": {
            "all_retrieval_intents": [],
            "faq": {
                "response": {"responses": [{"text": "a"}], "confidence": 0.5},
                "ranking": [{"id": 1, "confidence": 0.5}],
            },
        },
    }
    made = [
        e.UserUttered(
            "hi",
            parse_data["intent"],
            parse_data["entities"],
            parse_data,
            input_channel="website",
            message_id="m1",
            metadata={"a": 1},
        ),
        e.DefinePrevUserUtteredFeaturization(False),
        e.EntitiesAdded(parse_data["entities"]),
        e.BotUttered("hello", {"buttons": [{"title": "t", "payload": "/p"}]}, {"m": 1}),
        e.SlotSet("conditions", ["asthma"]),
        e.Restarted(),
        e.UserUtteranceReverted(),
        e.AllSlotsReset(),
        e.ReminderScheduled("EXTERNAL_x", now, name="r", entities=[]),
        e.ReminderCancelled(name="r"),
        e.ActionReverted(),
        e.StoryExported("x.yml"),
        e.FollowupAction("action_listen"),
        e.ConversationPaused(),
        e.ConversationResumed(),
        e.ActionExecuted("action_answer", "RulePolicy", 1.0, hide_rule_turn=True),
        e.AgentUttered("a", {"x": 1}),
        e.ActiveLoop("booking_form"),
        e.LoopInterrupted(True),
        e.ActionExecutionRejected("action_answer", "RulePolicy", 0.5),
        e.SessionStarted(),
    ]
    return json.loads(json.dumps([event.as_dict() for event in made]))


def sdk_events() -> List[Dict[str, Any]]:
    """The events as the Rasa SDK (our action server) writes them."""
    from rasa_sdk import events as e

    now = datetime.datetime(2030, 1, 2, 3, 4, 5)
    made = [
        e.SlotSet("conditions", None),
        e.SlotSet("misses_in_a_row", 0.0),
        e.BotUttered("hi", {"buttons": []}),
        e.FollowupAction("action_listen"),
        e.ActionExecutionRejected("action_answer"),
        e.ActiveLoop(None),
        e.UserUttered("hi", {"intent": {"name": "greet"}}),
        e.ReminderScheduled("i", now),
        e.ReminderCancelled("r"),
        e.AllSlotsReset(),
        e.Restarted(),
        e.SessionStarted(),
        e.UserUtteranceReverted(),
        e.ActionReverted(),
        e.StoryExported(),
        e.ConversationPaused(),
        e.ConversationResumed(),
        e.ActionExecuted("utter_x"),
        e.AgentUttered("a"),
        e.LoopInterrupted(False),
    ]
    # Rasa 2's form events, still in the schema (today's SDK and Rasa write active_loop /
    # loop_interrupted instead): as Rasa 2 wrote them.
    made += [
        {"event": "form", "name": "booking_form", "timestamp": None},
        {"event": "form_validation", "validate": False, "timestamp": 1.5},
    ]
    return json.loads(json.dumps(made))


RESPONSE: Dict[str, Any] = {
    "text": "Hello",
    "buttons": [{"title": "Talk to a person", "payload": "/request_human"}],
    "elements": [],
    "custom": {},
    "template": None,
    "response": None,
    "image": None,
    "attachment": None,
}


def representative_replies() -> List[Dict[str, Any]]:
    replies: List[Dict[str, Any]] = [
        {"events": rasa_events(), "responses": [RESPONSE]},
        {"events": sdk_events(), "responses": []},
        {"events": [], "responses": []},
        {},
    ]
    replies += [
        {"events": [event], "responses": [RESPONSE]} for event in rasa_events() + sdk_events()
    ]
    return replies


def test_the_representative_events_cover_every_event_type_of_the_schema():
    names = {event["event"] for event in rasa_events() + sdk_events()}
    assert names == set(EVENT_NAMES)


@pytest.mark.parametrize("reply", representative_replies())
def test_every_event_type_is_accepted_by_the_fast_check(reply):
    assert reference(reply) is True
    assert fast_validation.fast_reply_check()(reply) is True
    assert ours(reply) is True


# --- our actions, run by Rasa's RemoteAction.run through the SDK's executor -------------------
@pytest.fixture
def action_runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Runs one of our actions as Rasa does, the action server replaced by its executor."""
    from rasa.core.channels import CollectingOutputChannel
    from rasa.core.nlg import TemplatedNaturalLanguageGenerator
    from rasa.shared.core.domain import Domain
    from rasa.utils.endpoints import EndpointConfig
    from rasa_sdk.executor import ActionExecutor

    monkeypatch.setenv("CLINIC_UNANSWERED_PATH", str(tmp_path / "unanswered.db"))
    monkeypatch.setenv("CLINIC_OUTBOX_PATH", str(tmp_path / "outbox.db"))
    monkeypatch.delenv("CLINIC_DATABASE_URL", raising=False)
    domain = Domain.load(str(PROJECT_DIR / "domain.yml"))
    executor = ActionExecutor()
    executor.register_package("actions")
    replies: List[Dict[str, Any]] = []

    class InProcessEndpoint(EndpointConfig):
        mutate = None

        async def request(self, json=None, **kwargs):  # noqa: A002 - EndpointConfig's name
            body = _roundtrip(json)  # as on the wire
            reply = _roundtrip(await executor.run(body))
            if self.mutate:
                reply = self.mutate(reply)
            replies.append(reply)
            return reply

    async def run(action: str, tracker, mutate=None):
        endpoint = InProcessEndpoint(url="http://in-process.invalid/webhook")
        endpoint.mutate = mutate
        return await RemoteAction(action, endpoint).run(
            CollectingOutputChannel(),
            TemplatedNaturalLanguageGenerator(domain.responses),
            tracker,
            domain,
        )

    return run, replies, domain


def _roundtrip(value: Any) -> Any:
    return json.loads(json.dumps(value))


def tracker_for(
    domain, text: str, intent: str, entities=(), slots=None, loop=None, slots_from_message=None
):
    from rasa.shared.core.events import ActionExecuted, ActiveLoop, SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    events = [ActionExecuted("action_listen")]
    events += [SlotSet(name, value) for name, value in (slots or {}).items()]
    if loop:
        events.append(ActiveLoop(loop))
    events.append(UserUttered(text, {"name": intent, "confidence": 0.95}, list(entities)))
    events += [SlotSet(name, value) for name, value in (slots_from_message or {}).items()]
    return DialogueStateTracker.from_events("visitor", events, slots=domain.slots)


PREGNANT = [
    {
        "entity": "condition",
        "value": "pregnancy",
        "role": "self",
        "start": 3,
        "end": 11,
        "extractor": "ContraindicationExtractor",
    }
]
TURNS = [
    ("action_answer", "what is a microcurrent facial?", "ask_what_is", {}),
    ("action_answer", "how much does it cost?", "ask_price", {}),
    ("action_answer", "im pregnant can i get it", "inform_condition", {"entities": PREGNANT}),
    ("action_answer", "does it hurt and how long", "ask_experience+ask_session_length", {}),
    ("action_clarify", "blorp", "out_of_scope", {}),
    (
        "validate_booking_form",
        "the 4-D facial",
        "book",
        {
            "loop": "booking_form",
            "slots": {"requested_slot": "booking_service"},
            "slots_from_message": {"booking_service": "the 4-D facial"},
        },
    ),
    (
        "validate_booking_form",
        "im pregnant",
        "inform_condition",
        {
            "loop": "booking_form",
            "entities": PREGNANT,
            "slots": {"requested_slot": "contact"},
            "slots_from_message": {"contact": "im pregnant"},
        },
    ),
    (
        "validate_handoff_form",
        "Ann",
        "inform_condition",
        {
            "loop": "handoff_form",
            "slots": {"requested_slot": "visitor_name"},
            "slots_from_message": {"visitor_name": "Ann"},
        },
    ),
    ("action_ask_booking_service", "book", "book", {"loop": "booking_form"}),
    ("action_ask_visitor_name", "book", "book", {"loop": "handoff_form"}),
    ("action_ask_contact", "Ann", "inform", {"loop": "booking_form"}),
    ("action_ask_preferred_time", "x", "inform", {"loop": "booking_form"}),
    ("action_ask_screening", "x", "inform", {"loop": "booking_form"}),
    ("action_cancel_form", "stop", "cancel", {"loop": "booking_form"}),
]


async def test_our_actions_replies_take_the_fast_path_inside_rasa(
    action_runner, monkeypatch, runtime_changes
):
    run, replies, domain = action_runner
    runtime_changes("fast_validation")
    check = fast_validation.fast_reply_check()
    verdicts = []
    monkeypatch.setattr(
        fast_validation,
        "fast_reply_check",
        lambda: lambda reply: verdicts.append(check(reply)) or verdicts[-1],
    )
    kinds = Counter()
    for action, text, intent, extra in TURNS:
        events = await run(action, tracker_for(domain, text, intent, **extra))
        kinds.update(event.type_name for event in events)
    assert len(replies) == len(TURNS) and verdicts == [True] * len(TURNS)
    for reply in replies:
        assert reference(reply) is True
    assert {"slot", "bot", "active_loop"} <= set(kinds), kinds


async def test_a_broken_reply_fails_inside_rasa_with_rasas_error(action_runner, runtime_changes):
    run, replies, domain = action_runner
    runtime_changes("fast_validation")

    def break_slot(reply):
        reply["events"][0].pop("value")
        return reply

    tracker = tracker_for(domain, "what is it?", "ask_what_is")
    with pytest.raises(ValidationError) as raised:
        await run("action_answer", tracker, mutate=break_slot)
    assert raised.value.message.endswith(SUFFIX)
    assert described(raised.value) == reference(replies[-1])


def test_rasa_calls_it_after_clinic_runtime_install(runtime_changes):
    assert runtime_changes("fast_validation") == ("fast_validation",)
    assert RemoteAction._validate_action_result is fast_validation.validate_action_result
    assert RemoteAction("action_answer", None)._validate_action_result({"events": []}) is True


# --- differential: generated replies ----------------------------------------------------------
REPRESENTATIVE = representative_replies()
NEAR_MISSES = [
    "",
    "Slot",
    "SLOT",
    "slot ",
    "slots",
    "user_",
    "bot\x00",
    "ſlot",
    "event",
    "action_listen",
    "reminders",
    "active-loop",
]
KEYS = sorted(
    {key for key in json.dumps(SPEC).replace('"', " ").split() if key.isidentifier()}
    | {"faq", "chitchat/ask", "!", ""}
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.integers(min_value=2**64),
    st.floats(),
    st.sampled_from([0.0, 1.0, -2.0, 0.5, 1e308]),
    st.text(max_size=4),
    st.sampled_from(EVENT_NAMES + NEAR_MISSES),
)
junk = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=6,
)
SCALAR_FOR_TYPE = {
    "string": st.text(max_size=6) | st.sampled_from(EVENT_NAMES),
    "number": st.integers(-5, 5) | st.floats(),
    "integer": st.integers(-5, 5) | st.sampled_from([1.0, -0.0, 2.5]),  # 1.0 is an integer
    "boolean": st.booleans(),
    "null": st.none(),
}
PATTERN_KEYS = ["faq", "chitchat/ask", "default", "!", "", "?/"]


_STRATEGIES: Dict[tuple, Any] = {}


def instance(schema: Dict[str, Any], junk_rate: int) -> Any:
    """``_instance`` for this (constant) schema; each strategy object built once."""
    key = (id(schema), junk_rate)
    if key not in _STRATEGIES:
        _STRATEGIES[key] = (_instance(schema, junk_rate), schema)  # keeps the id alive
    return _STRATEGIES[key][0]


@st.composite
def _instance(draw, schema: Dict[str, Any], junk_rate: int) -> Any:
    """A value for ``schema``: valid, except that any node may be junk (1 in ``junk_rate``),
    a required key may be missing, and objects may have extra keys."""
    if junk_rate and draw(st.integers(0, junk_rate - 1)) == 0:
        return draw(junk)
    if not schema:
        return draw(junk)  # {} allows anything
    if "const" in schema:
        return schema["const"]
    types = schema.get("type", "object")
    kind = draw(st.sampled_from(types if isinstance(types, list) else [types]))
    if kind == "array":
        size = 6 if schema is EVENTS_SCHEMA else 3
        return draw(st.lists(instance(schema.get("items", {}), junk_rate), max_size=size))
    if kind != "object":
        return draw(SCALAR_FOR_TYPE[kind])
    properties = dict(schema.get("properties", {}))
    required = list(schema.get("required", []))
    patterns = dict(schema.get("patternProperties", {}))
    if "oneOf" in schema:
        branch = draw(st.sampled_from(schema["oneOf"]))
        properties.update(branch.get("properties", {}))
        required += branch.get("required", [])
        patterns.update(branch.get("patternProperties", {}))
    value = {}
    for key, sub in properties.items():
        wanted = key in required and draw(st.integers(0, 40)) > 0
        if wanted or draw(st.integers(0, 2)) > 0:  # optional keys: 2 in 3
            value[key] = draw(instance(sub, junk_rate))
    for sub in patterns.values():
        for key in draw(st.lists(st.sampled_from(PATTERN_KEYS), max_size=2)):
            value[key] = draw(instance(sub, junk_rate))
    if draw(st.integers(0, 5)) == 0:
        value.update(draw(st.dictionaries(st.sampled_from(KEYS), junk, max_size=2)))
    return value


def _paths(value: Any, path=()):
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, path + (index,))


OPERATIONS = [
    "other type",
    "other type",
    "junk",
    "delete",
    "delete",
    "add key",
    "wrap",
    "null",
    "rename event",
]


@st.composite
def mutated(draw) -> Any:
    """A valid reply (generated, or a representative one) with one to three changes, mostly
    near the events' own fields: a value replaced by one of another JSON type (or by junk, or
    null), a key removed or added, a value wrapped in a list, an event given another name."""
    if draw(st.booleans()):
        reply = draw(instance(SPEC, 0))
    else:
        reply = copy.deepcopy(draw(st.sampled_from(REPRESENTATIVE)))
    for _ in range(draw(st.integers(1, 3))):
        paths = [path for path in _paths(reply) if path]
        if not paths:
            return draw(junk) if draw(st.booleans()) else reply
        shallow = [path for path in paths if len(path) <= 3]  # e.g. events/0/timestamp
        path = draw(st.sampled_from(shallow if shallow and draw(st.booleans()) else paths))
        parent = reply
        for step in path[:-1]:
            parent = parent[step]
        last = path[-1]
        operation = draw(st.sampled_from(OPERATIONS))
        if operation == "other type":
            parent[last] = draw(scalars | st.sampled_from([[], {}, [1], {"a": 1}]))
        elif operation == "junk":
            parent[last] = draw(junk)
        elif operation == "null":
            parent[last] = None
        elif operation == "wrap":
            parent[last] = [parent[last]]
        elif operation == "delete":
            del parent[last]
        elif operation == "add key" and isinstance(parent[last], dict):
            parent[last][draw(st.sampled_from(KEYS))] = draw(junk)
        elif operation == "rename event" and isinstance(parent, dict) and "event" in parent:
            parent["event"] = draw(st.sampled_from(EVENT_NAMES + NEAR_MISSES))
    return reply


TYPE_ZOO = [None, True, False, 0, -1, 1.5, float("inf"), "", "s", [], [1], {}, {"a": 1}]
BRANCHES = {branch["properties"]["event"]["const"]: branch for branch in EVENT_ITEM["oneOf"]}
EVENT_OF_TYPE = {name: {**EVENT_ITEM, "oneOf": [branch]} for name, branch in BRANCHES.items()}
BRANCH_KEYS = {
    name: sorted(set(branch.get("properties", {})) | set(branch.get("required", [])))
    for name, branch in BRANCHES.items()
}


@st.composite
def one_event_changed(draw) -> Any:
    """A valid reply with one more event, changed in one of its own fields (one the schema
    names for its type, or a common one): a required one removed, or one given a value of
    another JSON type. The types with more than a name (slot, user, action, entities) are
    drawn more often."""
    reply = draw(instance(SPEC, 0))
    if not isinstance(reply.get("events"), list):
        reply["events"] = []
    name = draw(
        st.sampled_from(["slot", "user", "action", "entities"]) | st.sampled_from(EVENT_NAMES)
    )
    event = draw(instance(EVENT_OF_TYPE[name], 0))
    if draw(st.integers(0, 2)) == 0:  # a required key removed
        required = EVENT_ITEM["required"] + BRANCHES[name].get("required", [])
        event.pop(draw(st.sampled_from(required)), None)
    else:
        own_keys = sorted(set(BRANCH_KEYS[name]) | set(event))
        key = draw(st.sampled_from(sorted(EVENT_ITEM["properties"])) | st.sampled_from(own_keys))
        event[key] = draw(
            st.sampled_from(TYPE_ZOO)
            | st.sampled_from(TYPE_ZOO)
            | st.sampled_from(TYPE_ZOO)
            | st.sampled_from(EVENT_NAMES + NEAR_MISSES)
        )
    reply["events"].insert(draw(st.integers(0, len(reply["events"]))), event)
    return reply


replies = st.one_of(
    st.sampled_from([0, 30, 8]).flatmap(lambda rate: instance(SPEC, rate)),
    mutated(),
    one_event_changed(),
    one_event_changed(),
)


def test_generated_replies_get_the_same_decision_and_error_as_rasa() -> None:
    seen: Counter = Counter()

    @settings(
        max_examples=600,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
        ],
    )
    @given(replies)
    def compare(reply):
        expected = reference(reply)
        assert ours(reply) == expected
        fast = fast_validation.fast_reply_check()(reply)
        if fast:
            assert expected is True  # the direction that matters: never accepts a bad reply
        seen["fast" if fast else ("slow-valid" if expected is True else "rejected")] += 1

    compare()
    # Both outcomes were really exercised, and most valid replies took the fast path.
    assert seen["rejected"] > 250 and seen["fast"] > 100, seen
    assert seen["slow-valid"] < seen["fast"] / 10, seen


@pytest.mark.parametrize(
    "reply",
    [
        {"events": [{"event": "slot", "name": 3}]},
        {"events": "nope"},
        {"events": None},
        {"events": [{"event": "no_such_event"}]},
        {"events": [{"name": "x", "value": 1}]},
        {"events": [{"event": "slot", "name": "x"}]},
        {"events": [{"event": True}]},
        {"events": [{"event": "bot", "timestamp": True}]},
        {"events": [{"event": "bot", "timestamp": "1"}]},
        {"events": [{"event": "bot", "metadata": []}]},
        {"events": [[]]},
        {"responses": [1]},
        {"responses": {}},
        [],
        "events",
        None,
        {"events": [{"event": "user", "parse_data": {"entities": [{"entity": "x"}]}}]},
        {"events": [{"event": "user", "parse_data": {"response_selector": {}}}]},  # both branches
        {"events": [{"event": "entities"}]},
        {"events": [{"event": "action", "hide_rule_turn": 1}]},
    ],
)
def test_known_bad_replies_fail_as_in_rasa(reply):
    expected = reference(reply, as_written=True)
    assert expected != True  # noqa: E712 - a tuple when rejected
    assert reference(reply) == expected
    assert ours(reply) == expected
    assert fast_validation.fast_reply_check()(reply) is False


@pytest.mark.parametrize(
    "reply",
    [
        {"events": [{"event": "slot", "name": "x", "value": 1, "timestamp": 2**70}]},
        {
            "events": [
                {
                    "event": "user",
                    "parse_data": {"entities": [{"entity": "x", "value": 1, "start": 1.0}]},
                }
            ]
        },  # 1.0 is an integer for jsonschema
        {"events": [{"event": "slot", "name": "x", "value": 1, "extra": {"anything": [1]}}]},
        {"events": [{"event": "bot", "timestamp": float("nan"), "metadata": None}]},
    ],
)
def test_edge_values_accepted_like_jsonschema(reply):
    assert reference(reply) is True and ours(reply) is True
    assert fast_validation.fast_reply_check()(reply) is True


@pytest.mark.parametrize(
    "reply",
    [
        # Not JSON (a reply is parsed JSON), and the fast check tests exact types: these take the
        # full path, which decides as jsonschema does (a tuple is not an array there).
        OrderedDict(events=[]),
        {"events": [OrderedDict(event="bot")]},
        {"events": [{"event": "bot", "timestamp": Decimal("1.5")}]},
        {"events": ({"event": "bot"},)},
        {"responses": [UserDict()]},
    ],
)
def test_non_json_types_take_the_full_path(reply):
    assert fast_validation.fast_reply_check()(reply) is False
    assert ours(reply) == reference(reply)


# --- the fast check only for the schema it was written for ------------------------------------
def test_a_changed_schema_turns_the_fast_check_off_or_falls_back():
    changed = copy.deepcopy(SPEC)
    changed["properties"]["events"]["items"]["properties"]["timestamp"] = {"type": "string"}
    assert fast_validation.build_fast_check(changed) is None
    duplicate = copy.deepcopy(SPEC)
    duplicate["properties"]["events"]["items"]["oneOf"].append(
        {"properties": {"event": {"const": "bot"}}}
    )
    assert fast_validation.build_fast_check(duplicate) is None
    assert fast_validation.build_fast_check({"type": "object"}) is None

    # a branch that is not the one the hand check was written for is validated by jsonschema
    strict_slot = copy.deepcopy(SPEC)
    for branch in strict_slot["properties"]["events"]["items"]["oneOf"]:
        if branch["properties"]["event"]["const"] == "slot":
            branch["properties"]["value"] = {"type": "string"}
        if branch["properties"]["event"]["const"] == "bot":
            branch["properties"]["text"] = {"$ref": "#/definitions/x"}
    check = fast_validation.build_fast_check(strict_slot)
    assert check({"events": [{"event": "slot", "name": "a", "value": "s"}]}) is True
    assert check({"events": [{"event": "slot", "name": "a", "value": 1}]}) is False
    assert check({"events": [{"event": "bot", "text": "hi"}]}) is False  # full path
    assert check({"events": [{"event": "active_loop", "name": None}]}) is True


def test_skip_switch_turns_the_fast_check_off(monkeypatch):
    monkeypatch.setenv("CLINIC_RUNTIME_SKIP", f"sequential_graph, {fast_validation.SKIP_NAME}")
    fast_validation.fast_reply_check.cache_clear()
    try:
        assert fast_validation.fast_reply_check() is None
        assert ours({"events": [{"event": "slot", "name": "a", "value": 1}]}) is True
        bad = {"events": [{"event": "slot", "name": 3}]}
        assert ours(bad) == reference(bad)
    finally:
        monkeypatch.delenv("CLINIC_RUNTIME_SKIP")
        fast_validation.fast_reply_check.cache_clear()
    assert fast_validation.fast_reply_check() is not None


def test_a_fast_check_that_raises_falls_back_to_the_full_check(monkeypatch):
    def broken(reply):
        raise RecursionError("deep")

    monkeypatch.setattr(fast_validation, "fast_reply_check", lambda: broken)
    assert ours({"events": []}) is True
    bad = {"events": [{"event": "slot"}]}
    assert ours(bad) == reference(bad)

"""Our Rasa entry point: action-server replies are validated exactly as Rasa does, only faster."""

from pathlib import Path

import pytest
from jsonschema import ValidationError, validate
from rasa.core.actions.action import RemoteAction

from clinic_runtime import fast_validation
from tests.fresh_process import run_fresh

GOOD = {
    "events": [{"event": "slot", "name": "conditions", "value": ["asthma"]}],
    "responses": [{"text": "hello", "buttons": [{"title": "t", "payload": "/greet"}]}],
}
BAD = [
    {"events": [{"event": "slot", "name": 3}]},
    {"events": "nope"},
    {"events": [{"event": "no_such_event"}]},
]


def test_valid_reply_passes():
    assert fast_validation.validate_action_result(None, GOOD) is True


@pytest.mark.parametrize("reply", BAD)
def test_invalid_reply_fails_like_rasa(reply):
    with pytest.raises(ValidationError) as ours:
        fast_validation.validate_action_result(None, reply)
    with pytest.raises(ValidationError) as original:
        validate(reply, RemoteAction.action_response_format_spec())
    assert ours.value.message.startswith(original.value.message)
    assert "Failed to validate Action server response" in ours.value.message


def test_install_replaces_rasas_method_once():
    original = RemoteAction._validate_action_result
    try:
        fast_validation.install()
        fast_validation.install()
        assert RemoteAction._validate_action_result is fast_validation.validate_action_result
    finally:
        RemoteAction._validate_action_result = original


# --- lazy_tensorflow: checked in fresh processes (TensorFlow may already be loaded here) ---
PROJECT_DIR = Path(__file__).resolve().parents[2]
MODEL = PROJECT_DIR / "models" / "clinic-assistant.tar.gz"


@pytest.mark.needs_model
def test_our_model_loads_and_answers_without_tensorflow():
    out = run_fresh(f"""
import asyncio, json, sys
import clinic_runtime
clinic_runtime.install()
from rasa.core.agent import Agent
agent = Agent.load({str(MODEL)!r})
parsed = asyncio.run(agent.parse_message("I'm pregnant, can I still have the facial?"))
tracker = asyncio.run(agent.handle_text("hello", sender_id="t"))  # policies too (no action server)
tf = "tensorflow" in sys.modules
# the training graph is resolved on first use (its validator imports TensorFlow then)
train_nodes = len(agent.processor.model_metadata.train_schema.nodes)
print(json.dumps({{"tf": tf, "intent": parsed["intent"]["name"],
                   "entities": [e["entity"] for e in parsed["entities"]],
                   "train_nodes": train_nodes}}))
""")
    assert out["tf"] is False, "loading our model imported TensorFlow again"
    assert out["intent"] and "condition" in out["entities"]
    assert out["train_nodes"] > 0


def test_a_model_that_needs_tensorflow_still_gets_it():
    """DIET/TED name their classes in the prediction graph: TensorFlow is imported as usual."""
    out = run_fresh("""
import json, sys
import clinic_runtime
clinic_runtime.install()
from rasa.engine.graph import GraphSchema
schema = GraphSchema.from_dict({"nodes": {"diet": {
    "needs": {}, "uses": "rasa.nlu.classifiers.diet_classifier.DIETClassifier",
    "constructor_name": "load", "fn": "process", "config": {}, "eager": True,
    "is_target": False, "is_input": False, "resource": None}}})
import rasa.utils.train_utils as train_utils
logger_class = train_utils.RasaTrainingLogger  # first attribute access runs the lazy module
import tensorflow as tf
print(json.dumps({"tf": "tensorflow" in sys.modules,
                  "uses": schema.nodes["diet"].uses.__name__,
                  "callback_is_keras": issubclass(logger_class, tf.keras.callbacks.Callback)}))
""")
    assert out == {"tf": True, "uses": "DIETClassifier", "callback_is_keras": True}


@pytest.mark.needs_model
def test_lazy_train_schema_round_trips():
    """ModelMetadata's training graph, resolved on first use, is the one Rasa would load."""
    out = run_fresh(f"""
import json, tarfile, tempfile
import clinic_runtime
clinic_runtime.install()
from rasa.engine.graph import GraphSchema
from rasa.engine.storage.storage import ModelMetadata
with tarfile.open({str(MODEL)!r}) as tar:
    serialized = json.load(tar.extractfile("metadata.json"))
metadata = ModelMetadata.from_dict(json.loads(json.dumps(serialized)))
stock = GraphSchema.from_dict(json.loads(json.dumps(serialized))["train_schema"])
print(json.dumps({{"same": metadata.train_schema.as_dict() == stock.as_dict(),
                   "predict_same": metadata.predict_schema.as_dict()
                       == GraphSchema.from_dict(serialized["predict_schema"]).as_dict()}}))
""")
    assert out == {"same": True, "predict_same": True}


def test_skip_variable_leaves_changes_out(monkeypatch, runtime_changes):
    monkeypatch.setenv("CLINIC_RUNTIME_SKIP", "lazy_tensorflow,fast_validation")
    original = RemoteAction._validate_action_result
    applied = runtime_changes()
    assert RemoteAction._validate_action_result is original
    assert "fast_validation" not in applied and "lazy_tensorflow" not in applied
    assert "strict_tracker_store" in applied

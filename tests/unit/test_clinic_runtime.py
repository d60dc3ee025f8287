"""Our Rasa entry point: action-server replies are validated exactly as Rasa does, only faster."""

import pytest
from jsonschema import ValidationError, validate
from rasa.core.actions.action import RemoteAction

from clinic_runtime import fast_validation

GOOD = {"events": [{"event": "slot", "name": "conditions", "value": ["asthma"]}],
        "responses": [{"text": "hello", "buttons": [{"title": "t", "payload": "/greet"}]}]}
BAD = [{"events": [{"event": "slot", "name": 3}]}, {"events": "nope"},
       {"events": [{"event": "no_such_event"}]}]


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

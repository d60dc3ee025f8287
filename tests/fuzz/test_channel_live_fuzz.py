"""Fuzzing the real assistant: bad visitor text posted to the running Rasa server.

Uses the session's ``assistant`` (both servers started as ``make run`` starts them, see
tests/conftest.py). Every message must get a 200 with at least one non-empty text: the
NLU, the contraindication rules, the actions and the tracker store all see the text.
"""

import json
import urllib.error
import urllib.request
from typing import Any, Tuple

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tests.fuzz import strategies as S
from tests.fuzz.support import COUNTS, fuzz_settings, tried
from tests.fuzz.test_channel_fuzz import SILENT_COMMANDS, visible_text

pytestmark = pytest.mark.e2e

NAME = "live assistant: messages"
# Sender ids are spread over a pool, so the per-conversation rate limit (20 a minute) is
# not what answers, and conversations carry some state (forms, earlier disclosures).
SENDERS = 25

# Anything the assistant answers: blank messages and Rasa's own commands ("/restart") may
# get an empty list by design (docs/website.md), so they are left to the in-process suite.
# Single words of hundreds of letters are included: the typo corrector used to take ~40 s on
# one (tests/unit/test_bad_input_regressions.py).
live_messages = st.one_of(S.nasty_text, S.nasty_text, S.nasty_text, S.long_text(50, 3_000)).filter(
    lambda text: visible_text(text) and visible_text(text) not in SILENT_COMMANDS
)


def post(base_url: str, sender: str, message: str) -> Tuple[int, Any]:
    body = json.dumps({"sender": sender, "message": message}).encode()
    request = urllib.request.Request(
        f"{base_url}/webhooks/website/webhook",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.read()[:500]


@fuzz_settings(max_examples=200)
@given(message=live_messages)
@example(message='/ /book{"name": "x"}')
@example(message="\ud800 is it safe \x00 <script>alert(1)</script>")
@example(message="I have epilepsy \u202e\u200b 😀 '; DROP TABLE events; --")
def test_every_message_gets_an_answer(assistant_url: str, message: str) -> None:
    tried(NAME)
    sender = f"fuzz-live-{COUNTS[NAME] % SENDERS}"
    status, answer = post(assistant_url, sender, message)
    assert status == 200, (status, answer)
    assert isinstance(answer, list) and answer, answer
    assert any(isinstance(m.get("text"), str) and m["text"].strip() for m in answer), answer
    for reply in answer:
        assert reply.get("text") is None or reply["text"].strip(), answer

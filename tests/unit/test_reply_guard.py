"""The website channel's last guard: reassurance never reaches a visitor with a disclosure."""

from types import SimpleNamespace

import pytest

from actions import safety
from clinic_channel.reply_guard import guard_replies
from clinic_content.store import get_store


class FakeTracker:
    def __init__(self, slots):
        self.slots = slots

    def get_slot(self, name):
        return self.slots.get(name)


class FakeStore:
    def __init__(self, slots):
        self.tracker = FakeTracker(slots) if slots is not None else None

    async def retrieve(self, sender):
        return self.tracker


def agent_with(slots):
    return SimpleNamespace(tracker_store=FakeStore(slots))


@pytest.fixture
def reassuring_text():
    phrase = safety.reassurance_phrases(get_store().get())[0]
    return f"Microcurrent tones the face. It is {phrase}."


async def test_reassurance_removed_when_a_condition_is_on_record(reassuring_text):
    messages = [{"recipient_id": "v", "text": reassuring_text}]
    guarded = await guard_replies(agent_with({"conditions": ["pregnancy"]}), "v", messages)
    assert "tones the face" in guarded[0]["text"]
    assert (
        safety.find_reassurance(guarded[0]["text"], safety.reassurance_phrases(get_store().get()))
        is None
    )


@pytest.mark.parametrize("slots", [{}, {"conditions": None}, None])
async def test_untouched_without_a_disclosure(reassuring_text, slots):
    messages = [{"recipient_id": "v", "text": reassuring_text}]
    guarded = await guard_replies(agent_with(slots), "v", messages)
    assert guarded[0]["text"] == reassuring_text


async def test_a_failing_tracker_store_never_silences_the_reply(reassuring_text):
    class Broken:
        async def retrieve(self, sender):
            raise RuntimeError("database down")

    messages = [{"recipient_id": "v", "text": "hello"}]
    assert await guard_replies(SimpleNamespace(tracker_store=Broken()), "v", messages) == messages

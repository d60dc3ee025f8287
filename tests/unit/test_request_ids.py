"""A turn handled twice (a server died before saving it) stores its request once."""

from pathlib import Path

from clinic_requests.outbox import Outbox
from clinic_requests.submit import turn_request_id

PAYLOAD = {
    "service": "4-D Facial",
    "name": "Jane Doe",
    "contact": "jane@example.com",
    "preferred_time": "Tuesday",
    "conditions": [],
    "transcript": [],
}


def events(*kinds_and_times):
    return [{"event": kind, "timestamp": time} for kind, time in kinds_and_times]


def test_the_same_turn_gets_the_same_id_however_often_it_is_handled() -> None:
    saved = [("action", 1.0), ("user", 2.0), ("bot", 2.1), ("action", 2.2)]
    first = events(*saved, ("user", 3.0), ("slot", 3.1))
    again = events(*saved, ("user", 9.5), ("slot", 9.6))  # re-sent later: new timestamps
    assert turn_request_id("v", first, "booking") == turn_request_id("v", again, "booking")


def test_other_turns_visitors_and_kinds_get_other_ids() -> None:
    turn = events(("action", 1.0), ("user", 2.0))
    later_turn = events(("action", 1.0), ("user", 2.0), ("action", 2.5), ("user", 3.0))
    ids = {
        turn_request_id("v", turn, "booking"),
        turn_request_id("v", later_turn, "booking"),
        turn_request_id("w", turn, "booking"),
        turn_request_id("v", turn, "handoff"),
    }
    assert len(ids) == 4 and all(len(i) == 32 for i in ids)


def test_the_outbox_keeps_one_request_per_id(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "outbox.db")
    request_id = turn_request_id("v", events(("action", 1.0), ("user", 2.0)), "booking")
    first = outbox.add("booking", PAYLOAD, request_id=request_id)
    again = outbox.add("booking", {**PAYLOAD, "preferred_time": "Wednesday"}, request_id=request_id)
    assert again.id == first.id == request_id
    assert len(outbox.list()) == 1
    assert outbox.add("booking", PAYLOAD).id != request_id  # no id given: always a new one

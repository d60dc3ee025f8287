"""Tests for the pure parts of clinic_requests/delivery.py: backoff and the JSON body."""

import pytest

from clinic_requests.delivery import backoff_delay
from clinic_requests.outbox import Outbox
from clinic_requests.payload import webhook_body


@pytest.mark.parametrize(
    "failed_attempts, low, high",
    [
        (1, 1.0, 2.0),
        (2, 2.0, 4.0),
        (5, 16.0, 32.0),
        (9, 150.0, 300.0),
        (60, 150.0, 300.0),
    ],
)
def test_backoff_doubles_with_jitter_and_stops_at_the_cap(
    failed_attempts: int, low: float, high: float
) -> None:
    assert backoff_delay(failed_attempts, 2, 300, rng=lambda: 0.0) == low
    highest = backoff_delay(failed_attempts, 2, 300, rng=lambda: 0.999999)
    assert highest == pytest.approx(high, rel=1e-5)
    assert low <= backoff_delay(failed_attempts, 2, 300) <= high


def test_webhook_body_has_every_documented_field(tmp_path) -> None:
    request = Outbox(tmp_path / "o.db").add("handoff", {"name": "Ben", "conditions": ["pacemaker"]})
    body = webhook_body(request)
    assert body == {
        "id": request.id,
        "kind": "handoff",
        "created_at": request.created_at.isoformat(),
        "service": None,
        "name": "Ben",
        "contact": None,
        "preferred_time": None,
        "preferred_time_iso": None,
        "conditions": ["pacemaker"],
        "transcript": [],
        "booking_link": None,
        "reason": None,
        "topic": None,
        "party_size": None,
        "amends": None,
    }

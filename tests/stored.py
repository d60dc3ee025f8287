"""A request a test just stored, read back from the outbox."""

from clinic_requests.outbox import Outbox, OutboxRequest


def stored(outbox: Outbox, request_id: str) -> OutboxRequest:
    """The request ``outbox`` holds under ``request_id``; the test fails when there is none."""
    request = outbox.get(request_id)
    assert request is not None, f"the outbox has no request {request_id}"
    return request

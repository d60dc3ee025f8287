"""The one call actions make to hand a request to the clinic: :func:`submit_request`.

It stores the request in this process's outbox (so it is never lost) and wakes this process's
delivery worker, which the action server started (:mod:`clinic_requests.background`).
Importing this module does nothing.
"""

import hashlib
import logging
from typing import Any, Mapping, Optional, Sequence

from clinic_requests import background
from clinic_requests.outbox import OutboxRequest

logger = logging.getLogger(__name__)


def turn_request_id(sender_id: str, events: Sequence[Mapping[str, Any]], kind: str) -> str:
    """The same request id each time the same visitor turn is handled.

    A turn can be handled twice: a Rasa server dies (or the database fails) after the action
    stored the request but before the conversation was saved, and the visitor's message is
    sent again (by nginx or the visitor's "try again"). The conversation as saved before the
    turn is the same both times, so the id comes from it: the conversation id, the time of
    the last event before the visitor's latest message, and the kind of request.
    """
    anchor = "start"
    for index in range(len(events) - 1, -1, -1):
        if events[index].get("event") == "user":
            if index > 0:
                anchor = repr(events[index - 1].get("timestamp"))
            break
    digest = hashlib.sha256(f"{sender_id}|{anchor}|{kind}".encode())
    return digest.hexdigest()[:32]


def submit_request(
    kind: str, payload: Mapping[str, Any], request_id: Optional[str] = None
) -> OutboxRequest:
    """Store a booking, consultation or hand-off request and wake the delivery worker.

    The request is committed to the outbox before this returns, whatever happens
    to delivery afterwards. Takes a few milliseconds of local disk I/O.

    Args:
        kind: ``booking``, ``consultation`` or ``handoff``.
        payload: Fields listed in :data:`clinic_requests.payload.PAYLOAD_FIELDS`.

        request_id: :func:`turn_request_id` for this turn, so that handling the turn
            again returns the stored request instead of storing a second one.

    Returns:
        The stored request; ``request.id`` is its reference and idempotency key.

    Raises:
        ValueError: Unknown kind or invalid payload (nothing stored).
    """
    request = background.shared_outbox().add(kind, payload, request_id=request_id)
    try:
        background.wake_delivery()
    except Exception:  # the request is safe; the worker's next poll picks it up
        logger.exception("Stored request %s, but could not wake the delivery worker.", request.id)
    return request

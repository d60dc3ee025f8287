"""What a request carries: the fields actions fill in and the webhook's JSON body.

This is the contract between the Rasa actions (which build a payload), the
outbox (which stores it) and the clinic's webhook (which receives
:func:`webhook_body`); docs/webhook.md describes the same fields for the clinic.
"""

import logging
import re
from typing import TYPE_CHECKING, Any, Dict, Mapping

if TYPE_CHECKING:  # outbox imports this module; avoid a runtime cycle
    from clinic_requests.outbox import OutboxRequest

logger = logging.getLogger(__name__)

KINDS = ("booking", "consultation", "handoff")
# Free-text fields a request may carry (all optional, ``None`` when unknown).
TEXT_FIELDS = (
    "service",
    "name",
    "contact",
    "preferred_time",
    "preferred_time_iso",
    "booking_link",
    # hand-offs: why (one of REASONS) and what about, in the visitor's words (plain text; a
    # message that mentioned health is replaced by its categories)
    "reason",
    "topic",
    # a change to an earlier request: that request's reference
    "amends",
)
# Hand-off reasons: a person asked for, an existing appointment to change, a report about a
# treatment already had, help with a booking, a change to a request already sent.
REASONS = ("handoff", "appointment_change", "follow_up", "booking_help", "change_request")
PAYLOAD_FIELDS = TEXT_FIELDS + ("party_size", "conditions", "transcript")
MAX_PARTY_SIZE = 20
# Conditions are category ids from the safety content ("pregnancy"), never the
# visitor's own words, so no free-text health details reach the payload fields.
CONDITION_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
TRANSCRIPT_SENDERS = ("user", "bot")


def validate_payload(payload: Mapping[str, Any]) -> Dict[str, Any]:
    """Check a request payload and return it with every field present.

    Args:
        payload: Fields from ``PAYLOAD_FIELDS``; missing ones become ``None``
            (text) or ``[]`` (``conditions``, ``transcript``).

    Returns:
        A new, JSON-serialisable dict.

    Raises:
        ValueError: Unknown field, wrong type, or a condition that is not a
            category id.
    """
    if not isinstance(payload, Mapping):
        raise ValueError(f"payload must be a mapping, got {type(payload).__name__}")
    unknown = sorted(set(payload) - set(PAYLOAD_FIELDS))
    if unknown:
        raise ValueError(f"unknown payload field(s): {', '.join(map(str, unknown))}")

    clean: Dict[str, Any] = {}
    for field in TEXT_FIELDS:
        value = payload.get(field)
        if value is not None and not isinstance(value, str):
            raise ValueError(f"payload field '{field}' must be a string or None")
        clean[field] = (value.strip() or None) if isinstance(value, str) else None

    if clean["reason"] is not None and clean["reason"] not in REASONS:
        raise ValueError(f"payload field 'reason' must be one of {', '.join(REASONS)}")
    party = payload.get("party_size")
    if party is not None and (
        isinstance(party, bool) or not isinstance(party, int) or not 1 <= party <= MAX_PARTY_SIZE
    ):
        raise ValueError(f"payload field 'party_size' must be a whole number 1-{MAX_PARTY_SIZE}")
    clean["party_size"] = party

    conditions = payload.get("conditions") or []
    if not isinstance(conditions, (list, tuple)):
        raise ValueError("payload field 'conditions' must be a list of category ids")
    for condition in conditions:
        if not isinstance(condition, str) or not CONDITION_ID.match(condition):
            raise ValueError(f"condition {condition!r} is not a category id")
    clean["conditions"] = list(dict.fromkeys(conditions))

    transcript = payload.get("transcript") or []
    if not isinstance(transcript, (list, tuple)):
        raise ValueError("payload field 'transcript' must be a list of turns")
    clean["transcript"] = []
    for turn in transcript:
        if (
            not isinstance(turn, Mapping)
            or turn.get("sender") not in TRANSCRIPT_SENDERS
            or not isinstance(turn.get("text"), str)
        ):
            raise ValueError("each transcript turn must be {'sender': 'user'|'bot', 'text': str}")
        clean["transcript"].append({"sender": turn["sender"], "text": turn["text"]})
    return clean


def webhook_body(request: "OutboxRequest") -> Dict[str, Any]:
    """Build the JSON body documented in ``docs/webhook.md``.

    The body is the same on every attempt, so retries are byte-for-byte repeats.
    """
    payload = request.payload
    return {
        "id": request.id,
        "kind": request.kind,
        "created_at": request.created_at.isoformat(),
        "service": payload.get("service"),
        "name": payload.get("name"),
        "contact": payload.get("contact"),
        "preferred_time": payload.get("preferred_time"),
        "preferred_time_iso": payload.get("preferred_time_iso"),
        "conditions": list(payload.get("conditions") or []),
        "transcript": [
            {"sender": turn["sender"], "text": turn["text"]}
            for turn in payload.get("transcript") or []
        ],
        "booking_link": payload.get("booking_link"),
        "reason": payload.get("reason"),
        "topic": payload.get("topic"),
        "party_size": payload.get("party_size"),
        "amends": payload.get("amends"),
    }

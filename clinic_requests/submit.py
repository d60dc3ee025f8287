"""The one call actions make to hand a request to the clinic: :func:`submit_request`.

It stores the request in this process's outbox (so it is never lost) and makes
sure this process's delivery worker is running and awake. :func:`start_delivery`
also starts this process's daily retention purge (:mod:`clinic_requests.retention`).
Everything is created on first use; importing this module does nothing.
"""

import hashlib
import logging
import os
import threading
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

from clinic_requests.channels import delivery_channels
from clinic_requests.config import ConfigError, load_delivery_settings
from clinic_requests.delivery import DeliveryWorker
from clinic_requests.outbox import Outbox, OutboxRequest
from clinic_requests.retention import start_daily_purge, stop_daily_purge

logger = logging.getLogger(__name__)


@dataclass
class _ProcessState:
    """This process's outbox and worker, created on first use."""

    pid: Optional[int] = None
    outbox: Optional[Outbox] = None
    worker: Optional[DeliveryWorker] = None
    broken: Optional[str] = None  # why the delivery settings could not be read


_state_lock = threading.Lock()
_state = _ProcessState()


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
    digest = hashlib.sha256(f"{sender_id}|{anchor}|{kind}".encode("utf-8"))
    return digest.hexdigest()[:32]


def submit_request(kind: str, payload: Mapping[str, Any],
                   request_id: Optional[str] = None) -> OutboxRequest:
    """Store a booking, consultation or hand-off request and start delivering it.

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
    request = shared_outbox().add(kind, payload, request_id=request_id)
    try:
        worker = start_delivery()
        if worker is not None:
            worker.wake()
    except Exception:  # the request is safe; delivery can catch up later
        logger.exception("Stored request %s, but delivery did not start.", request.id)
    return request


def shared_outbox() -> Outbox:
    """Return this process's outbox (path from :func:`clinic_requests.config.outbox_path`)."""
    with _state_lock:
        _forget_parent_process_state()
        if _state.outbox is None:
            _state.outbox = Outbox()
        return _state.outbox


def start_delivery() -> Optional[DeliveryWorker]:
    """Start this process's delivery worker once (cheap to call from any action).

    Returns:
        The worker, or ``None`` if the delivery settings are broken (logged once).
        With no webhook and no e-mail the worker exists but only logs one info line.
    """
    try:
        outbox = shared_outbox()
    except ConfigError as error:  # e.g. a malformed CLINIC_DATABASE_URL: answers go on
        with _state_lock:
            if _state.broken is None:
                logger.error("Delivery is off: %s.", error)
            _state.broken = str(error)
        return None
    try:
        start_daily_purge()  # once per process; the first run waits a minute
    except Exception:  # housekeeping must never stop an answer or a request
        logger.exception("The daily retention purge did not start.")
    with _state_lock:
        if _state.broken is not None:
            return None
        worker = _state.worker
        if worker is None:
            try:
                settings = load_delivery_settings()
            except ConfigError as error:
                _state.broken = str(error)
                logger.error(
                    "Delivery is off: %s. Requests stay pending in %s.",
                    error,
                    outbox.location,
                )
                return None
            worker = DeliveryWorker(outbox, delivery_channels(settings), settings)
            _state.worker = worker
    worker.start()
    return worker


def stop_delivery(timeout_seconds: float = 10.0) -> None:
    """Stop this process's worker and forget the shared state (tests, shutdown).

    Pending requests stay in the outbox; the next :func:`submit_request` or
    :func:`start_delivery` reads the settings again and starts a new worker.
    """
    with _state_lock:
        worker = _state.worker if _state.pid == os.getpid() else None
        _reset(pid=None)
    if worker is not None:
        worker.stop(timeout_seconds)
    stop_daily_purge(timeout_seconds)


def _forget_parent_process_state() -> None:
    """After a fork (e.g. Sanic workers) the parent's thread is gone; start over."""
    if _state.pid != os.getpid():
        _reset(pid=os.getpid())


def _reset(pid: Optional[int]) -> None:
    _state.pid, _state.outbox, _state.worker, _state.broken = pid, None, None, None

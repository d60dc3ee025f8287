"""The one call actions make to hand a request to the clinic: :func:`submit_request`.

It stores the request in this process's outbox (so it is never lost) and makes
sure this process's delivery worker is running and awake. Everything is created
on first use; importing this module does nothing.
"""

import logging
import os
import threading
from dataclasses import dataclass
from typing import Any, Mapping, Optional

from actions.config import ConfigError, load_delivery_settings
from actions.delivery import DeliveryWorker, WebhookDeliverer
from actions.outbox import Outbox, OutboxRequest

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


def submit_request(kind: str, payload: Mapping[str, Any]) -> OutboxRequest:
    """Store a booking, consultation or hand-off request and start delivering it.

    The request is committed to the outbox before this returns, whatever happens
    to delivery afterwards. Takes a few milliseconds of local disk I/O.

    Args:
        kind: ``booking``, ``consultation`` or ``handoff``.
        payload: Fields listed in :data:`actions.payload.PAYLOAD_FIELDS`.

    Returns:
        The stored request; ``request.id`` is its reference and idempotency key.

    Raises:
        ValueError: Unknown kind or invalid payload (nothing stored).
    """
    request = shared_outbox().add(kind, payload)
    try:
        worker = start_delivery()
        if worker is not None:
            worker.wake()
    except Exception:  # the request is safe; delivery can catch up later
        logger.exception("Stored request %s, but delivery did not start.", request.id)
    return request


def shared_outbox() -> Outbox:
    """Return this process's outbox (path from :func:`actions.config.outbox_path`)."""
    with _state_lock:
        _forget_parent_process_state()
        if _state.outbox is None:
            _state.outbox = Outbox()
        return _state.outbox


def start_delivery() -> Optional[DeliveryWorker]:
    """Start this process's delivery worker once (cheap to call from any action).

    Returns:
        The worker, or ``None`` if the delivery settings are broken (logged once).
        With no webhook the worker exists but only logs one info line.
    """
    outbox = shared_outbox()
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
                    outbox.path,
                )
                return None
            worker = DeliveryWorker(
                outbox, WebhookDeliverer.from_settings(settings), settings
            )
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


def _forget_parent_process_state() -> None:
    """After a fork (e.g. Sanic workers) the parent's thread is gone; start over."""
    if _state.pid != os.getpid():
        _reset(pid=os.getpid())


def _reset(pid: Optional[int]) -> None:
    _state.pid, _state.outbox, _state.worker, _state.broken = pid, None, None, None

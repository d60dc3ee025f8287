"""This process's request machinery: its outbox, its delivery worker and its daily purge.

:func:`start` and :func:`stop` are called by the action server's entry point
(:mod:`clinic_requests.action_server`) when the server starts and after it stopped, in every
serving process (each Sanic worker process has its own). The worker delivers what is due as soon
as it starts -- requests left pending before a restart, whether or not anyone chats -- and
:func:`wake_delivery` (called by :func:`clinic_requests.submit.submit_request`) asks it for a
pass right after a new request is stored.

Any number of processes may deliver from one outbox (several action servers,
``scripts/requests_cli.py deliver-now`` beside them): each claims a request before sending it
(:meth:`clinic_requests.outbox.Outbox.claim_due`), so no request is delivered twice. A process
without a worker (a test, a script) still stores requests; they wait in the outbox until one runs.
"""

import logging
import os
import threading
from dataclasses import dataclass
from typing import Optional

from clinic_requests.channels import delivery_channels
from clinic_requests.config import ConfigError, load_delivery_settings
from clinic_requests.delivery import DeliveryWorker
from clinic_requests.outbox import Outbox
from clinic_requests.retention import FIRST_RUN_DELAY_SECONDS, start_daily_purge, stop_daily_purge

logger = logging.getLogger(__name__)

STOP_TIMEOUT_SECONDS = 10.0  # a delivery in progress may finish (within its own timeout)


@dataclass
class _ProcessState:
    """This process's outbox and worker, created on first use."""

    pid: Optional[int] = None
    outbox: Optional[Outbox] = None
    worker: Optional[DeliveryWorker] = None
    broken: Optional[str] = None  # why the delivery settings could not be read
    told_no_worker: bool = False


_state_lock = threading.Lock()
_state = _ProcessState()


def start() -> None:
    """Start this process's delivery worker and daily retention purge (once; never raises)."""
    start_delivery()
    try:
        start_daily_purge()
        logger.info(
            "Daily retention purge started (pid %d): first run in %g s, then daily.",
            os.getpid(),
            FIRST_RUN_DELAY_SECONDS,
        )
    except Exception:  # housekeeping must never stop the action server
        logger.exception("The daily retention purge did not start.")


def stop(timeout_seconds: float = STOP_TIMEOUT_SECONDS) -> None:
    """Stop both (after the delivery or purge in progress); pending requests stay pending."""
    stop_delivery(timeout_seconds)
    logger.info("Delivery worker stopped (pid %d).", os.getpid())
    stop_daily_purge(timeout_seconds)
    logger.info("Daily retention purge stopped (pid %d).", os.getpid())


def shared_outbox() -> Outbox:
    """Return this process's outbox (path from :func:`clinic_requests.config.outbox_path`)."""
    with _state_lock:
        _forget_parent_process_state()
        if _state.outbox is None:
            _state.outbox = Outbox()
        return _state.outbox


def start_delivery() -> Optional[DeliveryWorker]:
    """Start this process's delivery worker once (a no-op when it runs).

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
                    "Delivery is off: %s. Requests stay pending in %s.", error, outbox.location
                )
                return None
            worker = DeliveryWorker(outbox, delivery_channels(settings), settings)
            _state.worker = worker
    worker.start()
    return worker


def wake_delivery() -> bool:
    """Ask this process's worker for a delivery pass now; ``False`` when none was started here."""
    with _state_lock:
        _forget_parent_process_state()
        worker, broken = _state.worker, _state.broken
        tell = worker is None and broken is None and not _state.told_no_worker
        _state.told_no_worker = _state.told_no_worker or tell
    if worker is not None:
        worker.wake()
    elif tell:
        logger.warning(
            "No delivery worker runs in this process (pid %d; `python -m "
            "clinic_requests.action_server` starts one): requests wait in the outbox "
            "for an action server or `scripts/requests_cli.py deliver-now`.",
            os.getpid(),
        )
    return worker is not None


def stop_delivery(timeout_seconds: float = STOP_TIMEOUT_SECONDS) -> None:
    """Stop this process's worker and forget the shared state (tests, shutdown).

    Pending requests stay in the outbox; the next :func:`start_delivery` reads the settings
    again and starts a new worker.
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
    _state.told_no_worker = False

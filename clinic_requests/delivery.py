"""Deliver outbox requests to the clinic's webhook and/or by e-mail, retrying until they arrive.

:class:`WebhookDeliverer` POSTs one request (the body of
:func:`clinic_requests.payload.webhook_body`) with an ``Idempotency-Key`` header;
:class:`clinic_requests.email_delivery.EmailDeliverer` e-mails it. Each is a *channel*
(:class:`Channel`); :func:`clinic_requests.channels.delivery_channels` says which are configured.
:class:`DeliveryWorker` claims due requests from the outbox one at a time, sends each on
every channel that does not have it yet (:mod:`clinic_requests.channel_log`) and records the
outcome: the request is delivered when every channel has it. Actions do not use this
module directly: they call :func:`clinic_requests.submit.submit_request`.

Outcomes of one POST:
    * 2xx -> delivered.
    * 409 -> the receiver already has this key: delivered.
    * any other status, redirect, connection error or timeout -> retried with
      exponential backoff and jitter; after ``max_attempts`` the request is
      ``failed`` and waits for ``scripts/requests_cli.py retry-failed``.
With no channel configured, requests simply stay ``pending`` for staff.
"""

import json
import logging
import os
import random
import socket
import threading
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import timedelta
from http.client import HTTPException
from typing import Any, Callable, List, Optional, Protocol, Sequence, Tuple

from clinic_requests.channel_log import ChannelLog
from clinic_requests.config import DeliverySettings
from clinic_requests.outbox import Outbox, OutboxRequest, utc_now
from clinic_requests.payload import webhook_body

logger = logging.getLogger(__name__)

USER_AGENT = "clinic-assistant-outbox/1"
IDEMPOTENCY_HEADER = "Idempotency-Key"
WORKER_THREAD_NAME = "clinic-delivery-worker"
MAX_RESPONSE_EXCERPT = 200


@dataclass(frozen=True)
class DeliveryResult:
    """Outcome of one delivery attempt on one channel (a POST, or an e-mail).

    Attributes:
        delivered: The receiver has the request (2xx or 409; an e-mail accepted).
        status: HTTP status (or SMTP reply code), if an answer arrived.
        error: Why it was not delivered (``None`` when delivered).
        warning: Something staff should know about a delivery that did happen (e.g. an
            e-mail refused for one of several recipients).
    """

    delivered: bool
    status: Optional[int] = None
    error: Optional[str] = None
    warning: Optional[str] = None


@dataclass(frozen=True)
class PassResult:
    """What one delivery pass did."""

    delivered: int = 0
    retrying: int = 0
    failed: int = 0


def backoff_delay(
    failed_attempts: int,
    base_seconds: float,
    max_seconds: float,
    rng: Callable[[], float] = random.random,
) -> float:
    """Return the wait before the next attempt ("equal jitter" backoff).

    The ceiling doubles per failed attempt (``base * 2**(n-1)``, capped at
    ``max_seconds``); the delay is half the ceiling plus a random part of the
    other half, so workers that failed together do not retry in lockstep.

    Args:
        failed_attempts: Failed attempts so far, at least 1.
        base_seconds: Ceiling after the first failure.
        max_seconds: Largest possible delay.
        rng: Source of numbers in ``[0, 1)``.
    """
    exponent = min(max(failed_attempts, 1) - 1, 62)
    ceiling = min(max_seconds, base_seconds * (2**exponent))
    return ceiling / 2 + rng() * ceiling / 2


class Channel(Protocol):
    """One way of handing a request to the clinic (the webhook, e-mail)."""

    name: str  # "webhook", "email": the key of its records in the channel log
    timeout_seconds: float

    @property
    def destination(self) -> str:
        """Where it delivers, safe to log (no token, no password)."""

    def deliver(self, request: OutboxRequest) -> DeliveryResult:
        """Try once; never raise."""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Refuse redirects: urllib would turn the POST into a body-less GET."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class WebhookDeliverer:
    """POSTs one request to the clinic's webhook (blocking, stdlib only)."""

    name = "webhook"

    def __init__(
        self,
        url: str,
        *,
        timeout_seconds: float = 10.0,
        token: Optional[str] = None,
    ) -> None:
        """Create a deliverer.

        Args:
            url: The webhook URL.
            timeout_seconds: Connect and read timeout.
            token: Optional bearer token for the ``Authorization`` header.
        """
        self._url = url
        self._timeout = timeout_seconds
        self.timeout_seconds = timeout_seconds
        self._token = token
        self._opener = urllib.request.build_opener(_NoRedirects())

    @property
    def destination(self) -> str:
        """Scheme and host of the webhook (no path, no token)."""
        return DeliverySettings(webhook_url=self._url).webhook_host or "?"

    @classmethod
    def from_settings(cls, settings: DeliverySettings) -> Optional["WebhookDeliverer"]:
        """Return a deliverer, or ``None`` if no webhook is configured."""
        if not settings.webhook_url:
            return None
        return cls(
            settings.webhook_url,
            timeout_seconds=settings.timeout_seconds,
            token=settings.webhook_token,
        )

    def deliver(self, request: OutboxRequest) -> DeliveryResult:
        """POST ``request`` once and classify the outcome; never raises."""
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
            IDEMPOTENCY_HEADER: request.id,
        }
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        body = json.dumps(webhook_body(request), ensure_ascii=False).encode("utf-8")
        http_request = urllib.request.Request(self._url, data=body, headers=headers, method="POST")
        try:
            with self._opener.open(http_request, timeout=self._timeout) as response:
                response.read(MAX_RESPONSE_EXCERPT)
                return DeliveryResult(delivered=True, status=response.status)
        except urllib.error.HTTPError as error:
            if error.code == 409:
                logger.info("Webhook already had request %s (409).", request.id)
                return DeliveryResult(delivered=True, status=409)
            return DeliveryResult(
                delivered=False, status=error.code, error=_describe_http_error(error)
            )
        except TimeoutError:
            return DeliveryResult(delivered=False, error=f"timeout after {self._timeout:g} s")
        except urllib.error.URLError as error:
            reason = error.reason
            if isinstance(reason, (socket.timeout, TimeoutError)):
                return DeliveryResult(delivered=False, error=f"timeout after {self._timeout:g} s")
            return DeliveryResult(delivered=False, error=f"connection error: {reason}")
        except (HTTPException, OSError) as error:
            return DeliveryResult(
                delivered=False,
                error=f"connection error: {type(error).__name__}: {error}",
            )


class DeliveryWorker:
    """Drains due requests from the outbox into every configured channel.

    It runs in a daemon *thread*, not an asyncio task, because:
    the database calls and the POST are blocking, and a thread keeps them off the action
    server's event loop that answers the chat; it does not depend on which event
    loop (Sanic's, a test's, none in the CLI) is running, so ``deliver-now`` uses
    the very same code; and a thread cut off at process exit is harmless: the
    request's lease expires, it is retried, and the receiver drops the repeat by
    its ``Idempotency-Key``.
    """

    def __init__(
        self,
        outbox: Outbox,
        channels: Sequence[Channel],
        settings: DeliverySettings,
        *,
        worker_id: Optional[str] = None,
        rng: Callable[[], float] = random.random,
    ) -> None:
        """Create a worker (nothing runs until :meth:`start` or :meth:`run_once`).

        Args:
            outbox: Where the requests are.
            channels: How to send them (:func:`clinic_requests.channels.delivery_channels`);
                none means requests stay pending for staff.
            settings: Attempts, backoff, poll interval and lease.
            worker_id: Lease owner name; defaults to host, pid and a random part.
            rng: Jitter source.
        """
        self._outbox = outbox
        self._channels = list(channels)
        self._channel_log = ChannelLog(outbox.url)
        self._settings = settings
        self._rng = rng
        self.worker_id = worker_id or (
            f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        )
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._lock = threading.Lock()
        self._announced_no_channel = False

    @property
    def running(self) -> bool:
        """Whether the background thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the background thread once; a no-op if running or no channel."""
        with self._lock:
            if not self._channels:
                if not self._announced_no_channel:
                    self._announced_no_channel = True
                    logger.info(
                        "No webhook configured (clinic_delivery.webhook_url in "
                        "endpoints.yml or CLINIC_WEBHOOK_URL) and no e-mail "
                        "(clinic_delivery.smtp_host or CLINIC_SMTP_HOST): requests stay "
                        "pending in %s for staff (the staff page, or "
                        "scripts/requests_cli.py list).",
                        self._outbox.location,
                    )
                return
            if self.running:
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=WORKER_THREAD_NAME, daemon=True)
            self._thread.start()
            logger.info(
                "Delivering outbox %s to %s every %g s.",
                self._outbox.location,
                " and ".join(f"{channel.name} {channel.destination}" for channel in self._channels),
                self._settings.poll_seconds,
            )

    def wake(self) -> None:
        """Ask for a delivery pass now (e.g. right after a request was added)."""
        self._wake.set()

    def stop(self, timeout_seconds: float = 10.0) -> None:
        """Stop the thread after the POST in progress, if any."""
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout_seconds)

    def run_once(self) -> PassResult:
        """Deliver every request that is due now, one claim at a time.

        Claiming one request right before its POST keeps each lease shorter than
        the delivery it protects, however many requests are waiting.
        """
        if not self._channels:
            return PassResult()
        delivered = retrying = failed = 0
        while not self._stop.is_set():
            claimed = self._outbox.claim_due(self.worker_id, self._settings.lease_seconds, limit=1)
            if not claimed:
                break
            outcome = self._deliver(claimed[0])
            delivered += outcome == "delivered"
            retrying += outcome == "retrying"
            failed += outcome == "failed"
        return PassResult(delivered=delivered, retrying=retrying, failed=failed)

    def _deliver(self, request: OutboxRequest) -> str:
        failures = self._send_on_missing_channels(request)
        if not failures:
            self._outbox.mark_delivered(request.id)
            return "delivered"

        attempt = request.attempts + 1
        if len(self._channels) == 1:
            error = failures[0][1]
        else:
            error = "; ".join(f"{name}: {reason}" for name, reason in failures)
        if attempt >= self._settings.max_attempts:
            self._outbox.mark_failed(request.id, error, worker_id=self.worker_id)
            logger.error(
                "Giving up on %s request %s after %d attempts: %s. It stays in the "
                "outbox as failed; run scripts/requests_cli.py retry-failed.",
                request.kind,
                request.id,
                attempt,
                error,
            )
            return "failed"

        delay = backoff_delay(
            attempt,
            self._settings.backoff_base_seconds,
            self._settings.backoff_max_seconds,
            self._rng,
        )
        self._outbox.mark_attempt_failed(
            request.id,
            error,
            utc_now() + timedelta(seconds=delay),
            worker_id=self.worker_id,
        )
        logger.warning(
            "Delivery of %s request %s failed (attempt %d of %d): %s; retrying in %.1f s.",
            request.kind,
            request.id,
            attempt,
            self._settings.max_attempts,
            error,
            delay,
        )
        return "retrying"

    def _send_on_missing_channels(self, request: OutboxRequest) -> List[Tuple[str, str]]:
        """Send on each channel that does not have the request yet; return the failures."""
        done = self._channel_log.delivered_channels(request.id)
        failures: List[Tuple[str, str]] = []
        for channel in self._channels:
            if channel.name in done:
                continue
            try:
                result = channel.deliver(request)
            except Exception as error:  # a bug must not stop the other requests
                logger.exception(
                    "Unexpected error delivering request %s by %s.", request.id, channel.name
                )
                result = DeliveryResult(delivered=False, error=f"internal error: {error}")
            self._channel_log.record(
                request.id,
                channel.name,
                delivered=result.delivered,
                note=result.error or result.warning,
            )
            if result.delivered:
                logger.info(
                    "Delivered %s request %s by %s (%s, attempt %d).",
                    request.kind,
                    request.id,
                    channel.name,
                    result.status,
                    request.attempts + 1,
                )
                if result.warning:
                    logger.warning("Request %s by %s: %s", request.id, channel.name, result.warning)
            else:
                failures.append((channel.name, result.error or "unknown error"))
        return failures

    def _run(self) -> None:
        last_problem: Optional[str] = None
        while not self._stop.is_set():
            try:
                self.run_once()
                last_problem = None
            except Exception as error:  # e.g. the disk is full or the DB is locked
                problem = f"{type(error).__name__}: {error}"
                if problem != last_problem:  # once per problem, not every poll
                    logger.exception("Delivery pass failed; will keep trying.")
                last_problem = problem
            self._wake.wait(self._settings.poll_seconds)
            self._wake.clear()


def _describe_http_error(error: urllib.error.HTTPError) -> str:
    if 300 <= error.code < 400:
        location = error.headers.get("Location", "?") if error.headers else "?"
        return f"HTTP {error.code} redirect to {location} not followed; fix webhook_url"
    try:
        excerpt = error.read(MAX_RESPONSE_EXCERPT).decode("utf-8", "replace").strip()
    except Exception:  # the body is only a hint for staff
        excerpt = ""
    return f"HTTP {error.code}" + (f": {excerpt}" if excerpt else "")

"""Deliver one request by e-mail over SMTP (STARTTLS, TLS or a local relay), blocking, stdlib only.

:class:`EmailDeliverer` is the e-mail channel of :class:`clinic_requests.delivery.DeliveryWorker`,
beside the webhook. One call to :meth:`EmailDeliverer.deliver` is one SMTP conversation
(connect, STARTTLS, login, MAIL/RCPT/DATA, QUIT) that must finish within
``timeout_seconds`` in total.

Outcomes:
    * the server accepted the message for at least one recipient -> delivered (recipients
      it refused are reported to staff; sending again would duplicate it for the others);
    * anything else (refused connection, timeout, TLS or login failure, a 4xx/5xx reply,
      every recipient refused) -> retried with backoff like the webhook, then ``failed``.
"""

import logging
import smtplib
import socket
import ssl
import time
from typing import Any, Optional

from clinic_content.email import EmailTemplateError, EmailTemplateStore
from clinic_content.paths import CONTENT_DIR
from clinic_requests.delivery import DeliveryResult
from clinic_requests.email_message import build_email
from clinic_requests.email_settings import EmailSettings
from clinic_requests.outbox import OutboxRequest

logger = logging.getLogger(__name__)

CHANNEL = "email"
MAX_REPLY_CHARS = 200


class _Deadline:
    """Gives every socket operation only the time left of the whole conversation."""

    def __init__(self, deadline: float, *args: Any, **kwargs: Any) -> None:
        self.deadline = deadline
        super().__init__(*args, **kwargs)  # connects

    def send(self, data: Any) -> None:  # smtplib.SMTP.send: every command and the message
        sock = getattr(self, "sock", None)
        if sock is not None:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the whole SMTP conversation took too long")
            sock.settimeout(left)
        super().send(data)  # type: ignore[misc]


class _SMTP(_Deadline, smtplib.SMTP):
    pass


class _SMTP_SSL(_Deadline, smtplib.SMTP_SSL):
    pass


class EmailDeliverer:
    """Sends the e-mail of one request to the clinic's address(es)."""

    name = CHANNEL

    def __init__(
        self, settings: EmailSettings, templates: Optional[EmailTemplateStore] = None
    ) -> None:
        """Create a deliverer.

        Args:
            settings: Server, security, login and addresses.
            templates: Where the words come from; default ``data/content/email.yml``.
        """
        self.settings = settings
        self.timeout_seconds = settings.timeout_seconds
        self._templates = templates or EmailTemplateStore(CONTENT_DIR)

    @property
    def destination(self) -> str:
        """Where e-mails go, safe to log."""
        return f"{', '.join(self.settings.to_addresses)} via {self.settings.server}"

    def deliver(self, request: OutboxRequest) -> DeliveryResult:
        """Send the e-mail once and classify the outcome; never raises."""
        try:
            message = build_email(
                request, self._templates.get(), self.settings, self._templates.content_dir
            )
        except EmailTemplateError as error:
            return DeliveryResult(delivered=False, error=f"e-mail template: {error}")
        settings = self.settings
        deadline = time.monotonic() + settings.timeout_seconds
        smtp: Optional[smtplib.SMTP] = None
        try:
            smtp = self._connect(deadline)
            if settings.security == "starttls":
                smtp.starttls(context=self._tls_context())
                smtp.ehlo()
            if settings.username:
                smtp.login(settings.username, settings.password or "")
            refused = smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            return DeliveryResult(
                delivered=False, error="every recipient refused: " + _refusals(error.recipients)
            )
        except smtplib.SMTPAuthenticationError as error:
            return DeliveryResult(
                delivered=False, error=f"login refused: {_reply(error.smtp_code, error.smtp_error)}"
            )
        except smtplib.SMTPResponseException as error:
            return DeliveryResult(
                delivered=False, error=f"SMTP {_reply(error.smtp_code, error.smtp_error)}"
            )
        except TimeoutError:
            return DeliveryResult(
                delivered=False, error=f"timeout after {settings.timeout_seconds:g} s"
            )
        except ssl.SSLError as error:
            return DeliveryResult(delivered=False, error=f"TLS error: {error}")
        except smtplib.SMTPNotSupportedError as error:
            return DeliveryResult(delivered=False, error=f"SMTP server: {error}")
        except (smtplib.SMTPException, OSError) as error:
            # smtplib reports a reply that never came as "Connection unexpectedly closed",
            # with the socket's timeout as the context.
            if isinstance(error.__context__, (socket.timeout, TimeoutError)):
                return DeliveryResult(
                    delivered=False, error=f"timeout after {settings.timeout_seconds:g} s"
                )
            return DeliveryResult(
                delivered=False, error=f"connection error: {type(error).__name__}: {error}"
            )
        finally:
            if smtp is not None:
                _say_goodbye(smtp)
        if refused:
            return DeliveryResult(
                delivered=True, status=250, warning="some recipients refused: " + _refusals(refused)
            )
        return DeliveryResult(delivered=True, status=250)

    def _connect(self, deadline: float) -> smtplib.SMTP:
        """Connected and greeted (EHLO); the host name is what TLS checks the certificate for."""
        settings = self.settings
        smtp: smtplib.SMTP
        if settings.security == "tls":
            smtp = _SMTP_SSL(
                deadline,
                settings.host,
                settings.port,
                timeout=settings.timeout_seconds,
                context=self._tls_context(),
            )
        else:
            smtp = _SMTP(deadline, settings.host, settings.port, timeout=settings.timeout_seconds)
        try:
            smtp.ehlo()
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _tls_context(self) -> ssl.SSLContext:
        """Certificates verified, against the system's CAs or ``smtp_ca_file``."""
        ca_file = self.settings.ca_file
        return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)


def _say_goodbye(smtp: smtplib.SMTP) -> None:
    """QUIT and close; once the message was accepted, a failing QUIT changes nothing."""
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def _reply(code: Any, text: Any) -> str:
    message = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    message = " ".join(message.split())[:MAX_REPLY_CHARS]
    return f"{code} {message}".strip()


def _refusals(recipients: Any) -> str:
    return "; ".join(
        f"{address} ({_reply(*answer)})" for address, answer in sorted(dict(recipients).items())
    )

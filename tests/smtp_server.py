"""Local SMTP servers for the e-mail tests, on 127.0.0.1 only, started and stopped by the tests.

* :class:`MailServer` -- a real SMTP server (aiosmtpd) that keeps every message it accepted;
  optionally STARTTLS or implicit TLS (a self-signed certificate made here), a login, or
  refusing messages with a given reply. It can be stopped and started again on its port.
* :class:`SilentServer` -- accepts TCP connections and never says anything (a hung server).
* :func:`make_certificate` -- a self-signed certificate for 127.0.0.1 / localhost.
"""

import datetime
import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, List, Optional, Tuple

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass
class Received:
    """One message the server accepted."""

    mail_from: str
    recipients: List[str]
    message: EmailMessage
    at: float  # time.monotonic() when it was accepted


@dataclass
class MailServer:
    """A real SMTP server on 127.0.0.1 (aiosmtpd in a thread)."""

    port: int
    security: str = "none"  # none | starttls | tls
    certificate: Optional[Tuple[Path, Path]] = None  # (cert, key) for starttls / tls
    login: Optional[Tuple[str, str]] = None  # required username and password
    refuse_with: Optional[str] = None  # e.g. "451 4.3.0 Try again later": DATA is refused
    refuse_recipients: Tuple[str, ...] = ()  # these RCPT TO are refused with 550
    received: List[Received] = field(default_factory=list)
    attempts: List[float] = field(default_factory=list)  # time.monotonic() of each DATA/refusal
    lock: threading.Lock = field(default_factory=threading.Lock)
    _controller: Optional[Controller] = None

    def start(self) -> "MailServer":
        """Listen (again) on ``port``."""
        server = self

        class Handler:
            async def handle_RCPT(
                self,
                smtp: Any,
                session: Any,
                envelope: Any,  # noqa: N802
                address: str,
                options: List[str],
            ) -> str:
                if address in server.refuse_recipients:
                    return "550 5.1.1 No such user here"
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(
                self,
                smtp: Any,
                session: Any,  # noqa: N802
                envelope: Any,
            ) -> str:
                with server.lock:
                    server.attempts.append(time.monotonic())
                    if server.refuse_with:
                        return server.refuse_with
                    message = message_from_bytes(
                        envelope.original_content or envelope.content, policy=policy.default
                    )
                    server.received.append(
                        Received(
                            envelope.mail_from, list(envelope.rcpt_tos), message, time.monotonic()
                        )
                    )
                return "250 Message accepted for delivery"

        options: dict = {}
        tls_context = self._server_tls_context()
        if self.security == "starttls":
            options.update(tls_context=tls_context, require_starttls=True)
        if self.login is not None:
            options.update(
                authenticator=self._authenticate,
                auth_required=True,
                auth_require_tls=self.security != "none",
            )
        self._controller = Controller(
            Handler(),
            hostname="127.0.0.1",
            port=self.port,
            ssl_context=tls_context if self.security == "tls" else None,
            server_hostname="127.0.0.1",
            **options,
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        """Stop listening (connections are refused until :meth:`start`)."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def message_ids(self) -> List[str]:
        with self.lock:
            return [str(item.message["Message-ID"]) for item in self.received]

    def _authenticate(
        self, smtp: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        good = (
            isinstance(auth_data, LoginPassword)
            and self.login is not None
            and (auth_data.login.decode(), auth_data.password.decode()) == self.login
        )
        return AuthResult(success=good, handled=False)  # handled=False: aiosmtpd answers 535

    def _server_tls_context(self) -> Optional[ssl.SSLContext]:
        if self.security == "none":
            return None
        assert self.certificate is not None, "starttls / tls need a certificate"
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(self.certificate[0]), str(self.certificate[1]))
        return context


class SilentServer:
    """Accepts connections on 127.0.0.1 and never answers (an SMTP server that hangs)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", port))
        self._socket.listen(16)
        self._held: List[socket.socket] = []
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        self._socket.settimeout(0.1)
        while not self._stopped.is_set():
            try:
                connection, _ = self._socket.accept()
            except OSError:
                continue
            self._held.append(connection)  # keep it open, say nothing

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(5)
        for connection in self._held:
            connection.close()
        self._socket.close()


def make_certificate(folder: Path) -> Tuple[Path, Path]:
    """A self-signed certificate (its own CA) for 127.0.0.1 and localhost: (cert, key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "clinic test smtp")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path

"""The SMTP settings of e-mail delivery: parsed and checked, never sent anywhere.

They are part of ``clinic_delivery:`` in ``endpoints.yml`` (read by
:func:`clinic_requests.config.load_delivery_settings`, which also applies the environment
overrides); this module turns the raw values into :class:`EmailSettings`. The password
is never in a file beside the code: it comes from ``CLINIC_SMTP_PASSWORD`` only.

E-mail delivery is on when ``smtp_host`` is set; it then needs ``email_from`` and at
least one address in ``email_to``.
"""

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple

SECURITY_MODES = ("starttls", "tls", "none")
DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}
DEFAULT_TIMEOUT_SECONDS = 30.0
# One address, as the clinic writes it in a setting: no display name, no list.
ADDRESS = re.compile(r"^[^@\s,;<>()\"]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
EMAIL_KEYS = (
    "smtp_host",
    "smtp_port",
    "smtp_security",
    "smtp_username",
    "smtp_timeout_seconds",
    "smtp_ca_file",
    "email_from",
    "email_to",
)


class EmailSettingsError(ValueError):
    """A malformed or inconsistent e-mail setting (the message names its source)."""


@dataclass(frozen=True)
class EmailSettings:
    """How requests are e-mailed to the clinic.

    Attributes:
        host: The SMTP server (the clinic's mail provider or a local relay).
        port: Its port (587 for STARTTLS, 465 for TLS, 25 for none, unless set).
        security: ``starttls`` (upgrade a plain connection), ``tls`` (TLS from the
            start) or ``none`` (only for a relay on this machine).
        username: Login name, if the server wants a login.
        password: Login password (``CLINIC_SMTP_PASSWORD``; never in a file).
        from_address: The sender of the e-mails.
        to_addresses: Who receives them (one or more addresses).
        timeout_seconds: Longest time one e-mail's whole SMTP conversation may take.
        ca_file: A CA bundle to verify the server's certificate with, for a relay with a
            private certificate; ``None`` = the system's trusted CAs.
    """

    host: str
    port: int
    security: str
    from_address: str
    to_addresses: Tuple[str, ...]
    username: Optional[str] = None
    password: Optional[str] = None
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    ca_file: Optional[Path] = None

    def __repr__(self) -> str:  # the password must not reach a log through repr()
        return (
            f"EmailSettings(host={self.host!r}, port={self.port}, security="
            f"{self.security!r}, to={len(self.to_addresses)} address(es))"
        )

    @property
    def server(self) -> str:
        """``host:port (security)``, safe to log."""
        return f"{self.host}:{self.port} ({self.security})"


def parse_email_settings(
    raw: Mapping[str, Any], sources: Mapping[str, str], password: Optional[str]
) -> Optional[EmailSettings]:
    """Build the e-mail settings from raw values, or ``None`` when ``smtp_host`` is unset.

    Args:
        raw: Values by key of :data:`EMAIL_KEYS` (from the file or the environment).
        sources: Where each value came from, for error messages.
        password: ``CLINIC_SMTP_PASSWORD``, if set.

    Raises:
        EmailSettingsError: A value is malformed, or the settings do not fit together
            (e.g. addresses without a server, a password sent unencrypted).
    """
    values: Dict[str, Any] = {
        key: value for key, value in raw.items() if value is not None and str(value).strip() != ""
    }
    host = str(values.get("smtp_host", "")).strip()
    if not host:
        others = sorted(set(values) - {"smtp_host"})
        if others or password:
            what = f"'{others[0]}'" if others else "CLINIC_SMTP_PASSWORD"
            raise EmailSettingsError(
                f"{sources.get(others[0], 'environment') if others else 'environment'}: "
                f"{what} is set but smtp_host is not; set smtp_host to send e-mails"
            )
        return None

    security = str(values.get("smtp_security", "starttls")).strip().lower()
    if security not in SECURITY_MODES:
        raise EmailSettingsError(
            f"{sources['smtp_security']}: expected one of "
            f"{', '.join(SECURITY_MODES)}, got {security!r}"
        )
    port = _port(values.get("smtp_port", DEFAULT_PORTS[security]), sources.get("smtp_port"))
    timeout = _positive(
        values.get("smtp_timeout_seconds", DEFAULT_TIMEOUT_SECONDS),
        sources.get("smtp_timeout_seconds"),
    )
    from_address = values.get("email_from")
    if from_address is None:
        raise EmailSettingsError(f"{sources['smtp_host']}: e-mail needs email_from (the sender)")
    from_address = _address(from_address, sources["email_from"])
    to_addresses = _addresses(values.get("email_to"), sources.get("email_to", sources["smtp_host"]))
    username = str(values["smtp_username"]).strip() if "smtp_username" in values else None
    if password and not username:
        raise EmailSettingsError(
            "environment variable CLINIC_SMTP_PASSWORD is set but smtp_username is not"
        )
    if username and not password:
        raise EmailSettingsError(
            f"{sources['smtp_username']}: a login needs the password in "
            "the environment variable CLINIC_SMTP_PASSWORD"
        )
    if security == "none" and password and not _is_loopback(host):
        raise EmailSettingsError(
            f"{sources.get('smtp_security', sources['smtp_host'])}: smtp_security none would "
            f"send the password unencrypted to {host}; use starttls or tls"
        )
    ca_file = None
    if "smtp_ca_file" in values:
        ca_file = Path(str(values["smtp_ca_file"])).expanduser()
        if not ca_file.is_file():
            raise EmailSettingsError(f"{sources['smtp_ca_file']}: no such file {ca_file}")
    return EmailSettings(
        host=host,
        port=port,
        security=security,
        from_address=from_address,
        to_addresses=to_addresses,
        username=username,
        password=password,
        timeout_seconds=timeout,
        ca_file=ca_file,
    )


def _port(value: Any, source: Optional[str]) -> int:
    if isinstance(value, bool) or not str(value).strip().isdigit():
        raise EmailSettingsError(f"{source}: expected a port number, got {value!r}")
    port = int(str(value).strip())
    if not 0 < port < 65536:
        raise EmailSettingsError(f"{source}: expected a port number, got {value!r}")
    return port


def _positive(value: Any, source: Optional[str]) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise EmailSettingsError(f"{source}: expected a number, got {value!r}") from None
    if isinstance(value, bool) or not number > 0:
        raise EmailSettingsError(f"{source}: must be greater than 0, got {value!r}")
    return number


def _address(value: Any, source: str) -> str:
    address = str(value).strip()
    if not ADDRESS.match(address):
        raise EmailSettingsError(f"{source}: {address!r} is not an e-mail address")
    return address


def _addresses(value: Any, source: str) -> Tuple[str, ...]:
    """A YAML list, or one string with addresses separated by commas (the environment)."""
    if value is None:
        raise EmailSettingsError(f"{source}: e-mail needs email_to (who receives the requests)")
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    addresses = tuple(dict.fromkeys(_address(item, source) for item in items if str(item).strip()))
    if not addresses:
        raise EmailSettingsError(f"{source}: e-mail needs email_to (who receives the requests)")
    return addresses


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False

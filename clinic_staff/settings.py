"""The staff page's settings, from the environment (operations config, like the servers' ports).

- ``CLINIC_STAFF_HOST`` / ``CLINIC_STAFF_PORT`` (``127.0.0.1`` / ``5006``): where it listens;
- ``CLINIC_STAFF_PASSWORD`` (none): the staff password (or its hash line);
- ``CLINIC_STAFF_PASSWORD_FILE`` (``var/staff-password``): the same, in a file (when the
  variable is unset);
- ``CLINIC_STAFF_SESSION_MINUTES`` (``30``): a login ends after this long without use (and
  after 12 h in any case);
- ``CLINIC_STAFF_ORIGIN`` (the page's own address): the address staff open, when it is behind a
  proxy (``https://staff.example.com``).

Without a password the page does not start (there is no page without a login).
"""

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional
from urllib.parse import urlsplit

from clinic_staff.passwords import PasswordError, PasswordHash, parse_password

PROJECT_DIR = Path(__file__).resolve().parents[1]
DEFAULT_PASSWORD_FILE = PROJECT_DIR / "var" / "staff-password"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5006
DEFAULT_SESSION_MINUTES = 30
MAX_SESSION_HOURS = 12


class StaffSettingsError(ValueError):
    """A setting is missing or malformed (the message says which and what to do)."""


@dataclass(frozen=True)
class StaffSettings:
    """Everything the staff server needs to start."""

    host: str
    port: int
    password: PasswordHash
    password_source: str  # for the start-up line: which variable or file
    session_idle_seconds: float
    session_max_seconds: float
    origin: Optional[str]  # scheme://host[:port] staff open, if set
    warning: Optional[str] = None  # e.g. a password file others can read


def password_configured(environ: Optional[Mapping[str, str]] = None) -> bool:
    """Whether a staff password is set (``make run`` starts the page only then)."""
    env = os.environ if environ is None else environ
    if env.get("CLINIC_STAFF_PASSWORD", "").strip():
        return True
    return _password_file(env).is_file()


def load_staff_settings(environ: Optional[Mapping[str, str]] = None) -> StaffSettings:
    """Read and check the settings.

    Raises:
        StaffSettingsError: No password, a password too short, a bad port or origin.
    """
    env = os.environ if environ is None else environ
    warning = None
    value = env.get("CLINIC_STAFF_PASSWORD", "").strip()
    source = "environment variable CLINIC_STAFF_PASSWORD"
    if not value:
        path = _password_file(env)
        source = f"file {path}"
        try:
            value = path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            raise StaffSettingsError(
                "no staff password: set CLINIC_STAFF_PASSWORD, or write it (or the line "
                f"printed by `python -m clinic_staff hash-password`) into {path}"
            ) from None
        except OSError as error:
            raise StaffSettingsError(f"cannot read {path}: {error}") from None
        if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            warning = f"{path} can be read by other users: chmod 600 {path}"
    try:
        password = parse_password(value)
    except PasswordError as error:
        raise StaffSettingsError(f"{source}: {error}") from None
    port_text = env.get("CLINIC_STAFF_PORT", "").strip() or str(DEFAULT_PORT)
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise StaffSettingsError(f"CLINIC_STAFF_PORT: expected a port number, got {port_text!r}")
    minutes_text = env.get("CLINIC_STAFF_SESSION_MINUTES", "").strip() or str(
        DEFAULT_SESSION_MINUTES
    )
    try:
        minutes = float(minutes_text)
    except ValueError:
        minutes = -1
    if not minutes > 0:
        raise StaffSettingsError(
            f"CLINIC_STAFF_SESSION_MINUTES: expected minutes greater than 0, got {minutes_text!r}"
        )
    origin = env.get("CLINIC_STAFF_ORIGIN", "").strip().rstrip("/") or None
    if origin is not None:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path:
            raise StaffSettingsError(
                "CLINIC_STAFF_ORIGIN: expected scheme://host[:port], e.g. "
                f"https://staff.example.com, got {origin!r}"
            )
    return StaffSettings(
        host=env.get("CLINIC_STAFF_HOST", "").strip() or DEFAULT_HOST,
        port=int(port_text),
        password=password,
        password_source=source,
        session_idle_seconds=minutes * 60,
        session_max_seconds=MAX_SESSION_HOURS * 3600,
        origin=origin,
        warning=warning,
    )


def _password_file(env: Mapping[str, str]) -> Path:
    value = env.get("CLINIC_STAFF_PASSWORD_FILE", "").strip()
    return Path(value).expanduser() if value else DEFAULT_PASSWORD_FILE

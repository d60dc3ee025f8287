"""Operations settings for the request outbox, its webhook delivery and data retention.

Everything an operator (not the clinic staff) sets lives here: where the outbox
database is and how requests reach the clinic's booking system. Delivery settings
are read from the top-level ``clinic_delivery:`` key of ``endpoints.yml`` (Rasa
ignores keys it does not know) and each one can be overridden by an environment
variable. Nothing is read at import time; call :func:`load_delivery_settings` and
:func:`outbox_path` when the values are needed.

The file itself is read by :mod:`clinic_requests.endpoints_file`. Storage and retention (same
file, same rule: the environment wins):

* :func:`database_url` -- ``CLINIC_DATABASE_URL`` or ``clinic_delivery.database_url``:
  unset keeps the outbox and the unanswered questions in SQLite files
  (``var/outbox.db``, ``var/unanswered.db``); a ``postgresql://`` URL puts both in
  that database (the scaled setup).
* :func:`retention_days` -- ``CLINIC_RETENTION_DAYS`` or ``clinic_retention.retention_days``
  (default 90; 0 keeps everything forever).
* :func:`tracker_store_url` -- Rasa's SQL tracker store of the same endpoints file, as a
  SQLAlchemy URL (for the retention purge).
"""

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Mapping, Optional
from urllib.parse import urlsplit

from clinic_common.settings_sources import settings_with_sources
from clinic_requests.email_settings import (
    EMAIL_KEYS,
    EmailSettings,
    EmailSettingsError,
    parse_email_settings,
)
from clinic_requests.endpoints_file import (
    ENDPOINTS_KEY,
    PROJECT_ROOT,
    ConfigError,
    endpoints_file,
    expand,
    read_mapping,
    read_section,
)

logger = logging.getLogger(__name__)

DEFAULT_OUTBOX_PATH = PROJECT_ROOT / "var" / "outbox.db"

ENV_OUTBOX_PATH = "CLINIC_OUTBOX_PATH"
ENV_DATABASE_URL = "CLINIC_DATABASE_URL"
DATABASE_URL_KEY = "database_url"  # under clinic_delivery: (storage, not delivery)
RETENTION_KEY = "clinic_retention"
ENV_RETENTION_DAYS = "CLINIC_RETENTION_DAYS"
DEFAULT_RETENTION_DAYS = 90
ENV_TRACKER_DB = "CLINIC_TRACKER_DB"
DEFAULT_TRACKER_DB = PROJECT_ROOT / "var" / "tracker.db"  # what scripts/serve.sh sets
# Sent as "Authorization: Bearer <token>"; env only, never a YAML file beside code.
ENV_WEBHOOK_TOKEN = "CLINIC_WEBHOOK_TOKEN"
# The SMTP login's password: env only, like the webhook token.
ENV_SMTP_PASSWORD = "CLINIC_SMTP_PASSWORD"

# setting name -> environment variable that overrides it
ENV_OVERRIDES = {
    "webhook_url": "CLINIC_WEBHOOK_URL",
    "timeout_seconds": "CLINIC_WEBHOOK_TIMEOUT_SECONDS",
    "max_attempts": "CLINIC_DELIVERY_MAX_ATTEMPTS",
    "backoff_base_seconds": "CLINIC_DELIVERY_BACKOFF_BASE_SECONDS",
    "backoff_max_seconds": "CLINIC_DELIVERY_BACKOFF_MAX_SECONDS",
    "poll_seconds": "CLINIC_DELIVERY_POLL_SECONDS",
    # E-mail delivery (clinic_requests/email_settings.py, docs/email.md)
    "smtp_host": "CLINIC_SMTP_HOST",
    "smtp_port": "CLINIC_SMTP_PORT",
    "smtp_security": "CLINIC_SMTP_SECURITY",
    "smtp_username": "CLINIC_SMTP_USERNAME",
    "smtp_timeout_seconds": "CLINIC_SMTP_TIMEOUT_SECONDS",
    "smtp_ca_file": "CLINIC_SMTP_CA_FILE",
    "email_from": "CLINIC_EMAIL_FROM",
    "email_to": "CLINIC_EMAIL_TO",
}


@dataclass(frozen=True)
class DeliverySettings:
    """How pending requests are delivered to the clinic's webhook and by e-mail.

    Attributes:
        webhook_url: ``http(s)`` URL the requests are POSTed to; ``None`` keeps
            every request pending in the outbox for staff.
        timeout_seconds: Connect/read timeout of one POST.
        max_attempts: Attempts before a request is marked ``failed``.
        backoff_base_seconds: Delay before the first retry; doubles per attempt.
        backoff_max_seconds: Upper bound of the retry delay.
        poll_seconds: How often the worker looks for due requests.
        webhook_token: Optional bearer token sent to the webhook (env only).
        email: How requests are e-mailed to the clinic; ``None`` = no e-mail.
    """

    webhook_url: Optional[str] = None
    timeout_seconds: float = 10.0
    max_attempts: int = 10
    backoff_base_seconds: float = 2.0
    backoff_max_seconds: float = 300.0
    poll_seconds: float = 2.0
    webhook_token: Optional[str] = None
    email: Optional[EmailSettings] = None

    @property
    def lease_seconds(self) -> float:
        """How long a claimed request is reserved for the worker delivering it.

        Longer than one delivery can take (the POST's connect + read timeout, plus the
        whole SMTP conversation when e-mail is on, with margin), so a second worker
        never starts on a request whose delivery is still running.
        """
        email_seconds = self.email.timeout_seconds if self.email else 0.0
        return max(60.0, 4 * (self.timeout_seconds + email_seconds))

    @property
    def webhook_host(self) -> Optional[str]:
        """Scheme and host of the webhook, safe to log (no path or token)."""
        if not self.webhook_url:
            return None
        parts = urlsplit(self.webhook_url)
        return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def outbox_path(environ: Optional[Mapping[str, str]] = None) -> Path:
    """Return the outbox database path (``CLINIC_OUTBOX_PATH`` or ``var/outbox.db``).

    Args:
        environ: Environment to read; defaults to ``os.environ``.
    """
    env = os.environ if environ is None else environ
    value = env.get(ENV_OUTBOX_PATH, "").strip()
    return Path(value).expanduser() if value else DEFAULT_OUTBOX_PATH


def load_delivery_settings(
    endpoints_path: Optional[Path] = None,
    environ: Optional[Mapping[str, str]] = None,
) -> DeliverySettings:
    """Read delivery settings from ``endpoints.yml`` plus environment overrides.

    A missing ``endpoints.yml`` or a missing ``clinic_delivery:`` key is fine
    (defaults: no webhook). An empty environment variable counts as unset.

    Args:
        endpoints_path: File to read; defaults to ``CLINIC_ENDPOINTS_PATH`` or the
            project's ``endpoints.yml``.
        environ: Environment to read; defaults to ``os.environ``.

    Returns:
        The validated settings.

    Raises:
        ConfigError: The file is not valid YAML or a value is malformed; the
            message names the file or variable and the problem.
    """
    env = os.environ if environ is None else environ
    endpoints_path = endpoints_file(endpoints_path, env)

    raw, sources = settings_with_sources(
        read_section(endpoints_path),
        str(endpoints_path),
        ENDPOINTS_KEY,
        ENV_OVERRIDES,
        env,
        ConfigError,
        read_elsewhere=(DATABASE_URL_KEY,),
    )  # database_url: read by database_url()

    values: Dict[str, Any] = {}
    for key, value in raw.items():
        if key not in EMAIL_KEYS:
            values[key] = _PARSERS[key](value, sources[key])
    token = env.get(ENV_WEBHOOK_TOKEN, "").strip()
    try:
        email = parse_email_settings(
            {key: value for key, value in raw.items() if key in EMAIL_KEYS},
            sources,
            env.get(ENV_SMTP_PASSWORD) or None,
        )
    except EmailSettingsError as error:
        raise ConfigError(str(error)) from None
    settings = DeliverySettings(**values, webhook_token=token or None, email=email)
    if settings.backoff_max_seconds < settings.backoff_base_seconds:
        raise ConfigError(
            f"backoff_max_seconds ({settings.backoff_max_seconds}) is smaller than "
            f"backoff_base_seconds ({settings.backoff_base_seconds})"
        )
    return settings


def database_url(
    endpoints_path: Optional[Path] = None,
    environ: Optional[Mapping[str, str]] = None,
) -> Optional[str]:
    """Return the database URL of the outbox and unanswered records, or ``None`` (SQLite files).

    ``CLINIC_DATABASE_URL`` wins over ``clinic_delivery.database_url`` in endpoints.yml;
    ``${VAR}`` in the file's value is filled from the environment, as Rasa does.

    Raises:
        ConfigError: The value is not a ``postgresql://`` or ``sqlite:///`` URL.
    """
    env = os.environ if environ is None else environ
    value = env.get(ENV_DATABASE_URL, "").strip()
    source = f"environment variable {ENV_DATABASE_URL}"
    if not value:
        path = endpoints_file(endpoints_path, env)
        raw = read_section(path).get(DATABASE_URL_KEY)
        value = (
            expand(str(raw), env, f"{path}: {ENDPOINTS_KEY}.{DATABASE_URL_KEY}").strip()
            if raw is not None
            else ""
        )
        source = f"{path}: {ENDPOINTS_KEY}.{DATABASE_URL_KEY}"
    if not value:
        return None
    scheme = value.split("://", 1)[0].split("+", 1)[0] if "://" in value else ""
    if scheme not in ("postgresql", "sqlite"):
        raise ConfigError(f"{source}: expected a postgresql:// or sqlite:/// URL")
    return value


def retention_days(
    endpoints_path: Optional[Path] = None,
    environ: Optional[Mapping[str, str]] = None,
) -> int:
    """Return how many days conversations, delivered requests and unanswered records are kept.

    ``CLINIC_RETENTION_DAYS`` wins over ``clinic_retention.retention_days`` in endpoints.yml;
    the default is :data:`DEFAULT_RETENTION_DAYS`. ``0`` means keep forever.

    Raises:
        ConfigError: Not a whole number of days, or negative.
    """
    env = os.environ if environ is None else environ
    value: Any = env.get(ENV_RETENTION_DAYS, "").strip()
    source = f"environment variable {ENV_RETENTION_DAYS}"
    if not value:
        path = endpoints_file(endpoints_path, env)
        section = read_mapping(path, RETENTION_KEY)
        unknown = sorted(set(section) - {"retention_days"})
        if unknown:
            raise ConfigError(
                f"{path}: unknown setting '{RETENTION_KEY}.{unknown[0]}' (known: retention_days)"
            )
        value = section.get("retention_days")
        source = f"{path}: {RETENTION_KEY}.retention_days"
        if value is None:
            return DEFAULT_RETENTION_DAYS
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ConfigError(f"{source}: expected a whole number of days, got {value!r}")
    try:
        days = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{source}: expected a whole number of days, got {value!r}") from None
    if days < 0:
        raise ConfigError(f"{source}: must be 0 (keep forever) or more, got {value!r}")
    return days


def tracker_store_url(
    endpoints_path: Optional[Path] = None,
    environ: Optional[Mapping[str, str]] = None,
) -> Optional[str]:
    """Return Rasa's SQL tracker store of the endpoints file as a SQLAlchemy URL.

    Recognised types: ``SQL`` and any ``...SQLTrackerStore`` class path (same settings,
    same ``events`` table).

    Mirrors how Rasa's ``SQLTrackerStore`` builds its URL from ``dialect``, ``url`` (host),
    ``port``, ``db``, ``username``, ``password`` and ``query``; ``${VAR}`` are filled from the
    environment. An unset ``CLINIC_TRACKER_DB`` means ``var/tracker.db``, as in
    ``scripts/serve.sh``. Returns ``None`` when the tracker store is not Rasa's SQL store.

    Raises:
        ConfigError: The section is malformed or uses an unset variable.
    """
    env = os.environ if environ is None else environ
    path = endpoints_file(endpoints_path, env)
    section = read_mapping(path, "tracker_store")
    kind = str(section.get("type", "")).strip()
    # Rasa's "SQL", or a subclass named by its module path that keeps Rasa's `events` table
    # (e.g. clinic_runtime.tracker_store.CachedSQLTrackerStore).
    if kind.lower() != "sql" and not kind.endswith("SQLTrackerStore"):
        return None
    env = {ENV_TRACKER_DB: str(DEFAULT_TRACKER_DB), **env}
    values = {
        key: expand(str(value), env, f"{path}: tracker_store.{key}").strip()
        for key, value in section.items()
        if value is not None and key != "query"
    }
    dialect = values.get("dialect", "sqlite") or "sqlite"
    database = values.get("db", "rasa.db") or "rasa.db"
    if dialect == "sqlite":
        return f"sqlite:///{Path(database).expanduser().resolve()}"
    from sqlalchemy.engine import URL  # only needed here

    host = values.get("url") or None
    if host and "://" in host:  # Rasa takes a complete URL in `url` as it is
        return host
    port = values.get("port")
    if host and ":" in host:  # Rasa also allows "host:port" in `url`
        host, _, host_port = host.partition(":")
        port = host_port or port
    query = section.get("query") or {}
    try:
        return URL.create(
            drivername=dialect,
            username=values.get("username") or None,
            password=values.get("password") or None,
            host=host,
            port=int(port) if port else None,
            database=database,
            query={str(k): str(v) for k, v in query.items()},
        ).render_as_string(hide_password=False)
    except ValueError as error:
        raise ConfigError(f"{path}: tracker_store: {error}") from None


def _parse_url(value: Any, source: str) -> Optional[str]:
    if value is None or str(value).strip() == "":
        return None
    url = str(value).strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{source}: webhook_url must be an http(s) URL")
    return url


def _positive(kind: Callable[[Any], Any]) -> Callable[[Any, str], Any]:
    def parse(value: Any, source: str) -> Any:
        if isinstance(value, bool):
            raise ConfigError(f"{source}: expected a number, got {value!r}")
        if kind is int and isinstance(value, float) and not value.is_integer():
            raise ConfigError(f"{source}: expected a whole number, got {value!r}")
        try:
            number = kind(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{source}: expected a number, got {value!r}") from None
        if number <= 0:
            raise ConfigError(f"{source}: must be greater than 0, got {value!r}")
        return number

    return parse


_PARSERS: Dict[str, Callable[[Any, str], Any]] = {
    "webhook_url": _parse_url,
    "timeout_seconds": _positive(float),
    "max_attempts": _positive(int),
    "backoff_base_seconds": _positive(float),
    "backoff_max_seconds": _positive(float),
    "poll_seconds": _positive(float),
}

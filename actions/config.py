"""Operations settings for the request outbox and its webhook delivery.

Everything an operator (not the clinic staff) sets lives here: where the outbox
database is and how requests reach the clinic's booking system. Delivery settings
are read from the top-level ``clinic_delivery:`` key of ``endpoints.yml`` (Rasa
ignores keys it does not know) and each one can be overridden by an environment
variable. Nothing is read at import time; call :func:`load_delivery_settings` and
:func:`outbox_path` when the values are needed.
"""

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Mapping, Optional
from urllib.parse import urlsplit

import yaml

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTBOX_PATH = PROJECT_ROOT / "var" / "outbox.db"
DEFAULT_ENDPOINTS_PATH = PROJECT_ROOT / "endpoints.yml"
ENDPOINTS_KEY = "clinic_delivery"

ENV_OUTBOX_PATH = "CLINIC_OUTBOX_PATH"
ENV_ENDPOINTS_PATH = "CLINIC_ENDPOINTS_PATH"
# Sent as "Authorization: Bearer <token>"; env only, never a YAML file beside code.
ENV_WEBHOOK_TOKEN = "CLINIC_WEBHOOK_TOKEN"

# setting name -> environment variable that overrides it
ENV_OVERRIDES = {
    "webhook_url": "CLINIC_WEBHOOK_URL",
    "timeout_seconds": "CLINIC_WEBHOOK_TIMEOUT_SECONDS",
    "max_attempts": "CLINIC_DELIVERY_MAX_ATTEMPTS",
    "backoff_base_seconds": "CLINIC_DELIVERY_BACKOFF_BASE_SECONDS",
    "backoff_max_seconds": "CLINIC_DELIVERY_BACKOFF_MAX_SECONDS",
    "poll_seconds": "CLINIC_DELIVERY_POLL_SECONDS",
}


class ConfigError(ValueError):
    """A delivery setting is missing its file, malformed or out of range."""


@dataclass(frozen=True)
class DeliverySettings:
    """How pending requests are delivered to the clinic's webhook.

    Attributes:
        webhook_url: ``http(s)`` URL the requests are POSTed to; ``None`` keeps
            every request pending in the outbox for staff.
        timeout_seconds: Connect/read timeout of one POST.
        max_attempts: Attempts before a request is marked ``failed``.
        backoff_base_seconds: Delay before the first retry; doubles per attempt.
        backoff_max_seconds: Upper bound of the retry delay.
        poll_seconds: How often the worker looks for due requests.
        webhook_token: Optional bearer token sent to the webhook (env only).
    """

    webhook_url: Optional[str] = None
    timeout_seconds: float = 10.0
    max_attempts: int = 10
    backoff_base_seconds: float = 2.0
    backoff_max_seconds: float = 300.0
    poll_seconds: float = 2.0
    webhook_token: Optional[str] = None

    @property
    def lease_seconds(self) -> float:
        """How long a claimed request is reserved for the worker delivering it.

        Longer than one POST can take (connect + read timeout, with margin), so
        a second worker never starts on a request whose POST is still running.
        """
        return max(60.0, 4 * self.timeout_seconds)

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
    if endpoints_path is None:
        env_path = env.get(ENV_ENDPOINTS_PATH, "").strip()
        endpoints_path = Path(env_path) if env_path else DEFAULT_ENDPOINTS_PATH

    raw: Dict[str, Any] = {}
    sources: Dict[str, str] = {}
    for key, value in _read_section(endpoints_path).items():
        if key not in ENV_OVERRIDES:
            raise ConfigError(
                f"{endpoints_path}: unknown setting '{ENDPOINTS_KEY}.{key}' "
                f"(known: {', '.join(sorted(ENV_OVERRIDES))})"
            )
        raw[key] = value
        sources[key] = f"{endpoints_path}: {ENDPOINTS_KEY}.{key}"
    for key, variable in ENV_OVERRIDES.items():
        value = env.get(variable, "").strip()
        if value:
            raw[key] = value
            sources[key] = f"environment variable {variable}"

    values: Dict[str, Any] = {}
    for key, value in raw.items():
        values[key] = _PARSERS[key](value, sources[key])
    token = env.get(ENV_WEBHOOK_TOKEN, "").strip()
    settings = DeliverySettings(**values, webhook_token=token or None)
    if settings.backoff_max_seconds < settings.backoff_base_seconds:
        raise ConfigError(
            f"backoff_max_seconds ({settings.backoff_max_seconds}) is smaller than "
            f"backoff_base_seconds ({settings.backoff_base_seconds})"
        )
    return settings


def _read_section(path: Path) -> Dict[str, Any]:
    """Return the ``clinic_delivery`` mapping of an endpoints file, or ``{}``."""
    try:
        with open(path, encoding="utf-8") as handle:
            content = yaml.safe_load(handle)
    except FileNotFoundError:
        return {}
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML ({error})") from error
    if content is None:
        return {}
    if not isinstance(content, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    section = content.get(ENDPOINTS_KEY)
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: '{ENDPOINTS_KEY}' must be a mapping of settings")
    return section


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

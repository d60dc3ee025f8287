"""Operations settings of the website channel: CORS origins, message and rate limits.

Rasa passes the mapping under ``clinic_channel.website.WebsiteInput:`` in
``credentials.yml`` to ``WebsiteInput.from_credentials``; each key can be overridden by
an environment variable (an empty variable counts as unset). A malformed value stops
Rasa at startup with a message naming the key or variable: a silently ignored CORS or
rate-limit setting would be a security problem, not a cosmetic one.
"""

import logging
import math
import os
from dataclasses import dataclass
from typing import Any, Callable, Dict, Mapping, Optional, Tuple
from urllib.parse import urlsplit

from clinic_common.settings_sources import settings_with_sources

logger = logging.getLogger(__name__)

CREDENTIALS_KEY = "clinic_channel.website.WebsiteInput"

DEFAULT_MAX_MESSAGE_CHARS = 1000
DEFAULT_RATE_LIMIT_MESSAGES = 20
DEFAULT_RATE_LIMIT_WINDOW_SECONDS = 60.0
# Several visitors can share one address (office Wi-Fi, mobile carrier NAT), so the
# per-address limit is a multiple of the per-conversation one.
DEFAULT_RATE_LIMIT_IP_MESSAGES = 60

# setting name -> environment variable that overrides it
ENV_OVERRIDES = {
    "cors_origins": "CLINIC_CORS_ORIGINS",
    "max_message_chars": "CLINIC_MAX_MESSAGE_CHARS",
    "rate_limit_messages": "CLINIC_RATE_LIMIT_MESSAGES",
    "rate_limit_window_seconds": "CLINIC_RATE_LIMIT_WINDOW_SECONDS",
    "rate_limit_ip_messages": "CLINIC_RATE_LIMIT_IP_MESSAGES",
    "rate_limit_redis_url": "CLINIC_RATE_LIMIT_REDIS_URL",
}


class SettingsError(ValueError):
    """A website channel setting is malformed or out of range."""


@dataclass(frozen=True)
class WebsiteSettings:
    """Limits and CORS policy of the website channel.

    Attributes:
        cors_origins: Exact origins (``https://host[:port]``) whose pages may call
            the webhook from the browser; empty = same-origin only.
        max_message_chars: Longest message passed to the assistant.
        rate_limit_messages: Messages per conversation (sender id) per window.
        rate_limit_window_seconds: Length of the sliding window.
        rate_limit_ip_messages: Requests per client address per window; 0 = off.
        rate_limit_redis_url: ``redis://host:port/db``: count the limits in Redis,
            shared by every Rasa process (scaled setup); None = in this process.
    """

    cors_origins: Tuple[str, ...] = ()
    max_message_chars: int = DEFAULT_MAX_MESSAGE_CHARS
    rate_limit_messages: int = DEFAULT_RATE_LIMIT_MESSAGES
    rate_limit_window_seconds: float = DEFAULT_RATE_LIMIT_WINDOW_SECONDS
    rate_limit_ip_messages: int = DEFAULT_RATE_LIMIT_IP_MESSAGES
    rate_limit_redis_url: Optional[str] = None


def load_settings(
    credentials: Optional[Mapping[str, Any]],
    environ: Optional[Mapping[str, str]] = None,
) -> WebsiteSettings:
    """Build the settings from the ``credentials.yml`` mapping plus the environment.

    Args:
        credentials: The channel's mapping from ``credentials.yml`` (``None`` when the
            key has no value).
        environ: Environment to read; defaults to ``os.environ``.

    Raises:
        SettingsError: Unknown key or malformed value; the message names its source.
    """
    env = os.environ if environ is None else environ
    if credentials is not None and not isinstance(credentials, Mapping):
        raise SettingsError(f"credentials.yml: '{CREDENTIALS_KEY}' must be a mapping")
    raw, sources = settings_with_sources(
        credentials or {},
        "credentials.yml",
        CREDENTIALS_KEY,
        ENV_OVERRIDES,
        env,
        SettingsError,
        skip_none=True,
    )
    settings = WebsiteSettings(
        **{key: _PARSERS[key](value, sources[key]) for key, value in raw.items()}
    )
    if not settings.cors_origins:
        logger.info("website channel: no cors_origins set, same-origin pages only")
    return settings


def normalize_origin(value: Any, source: str) -> str:
    """``https://Clinic.example/`` -> ``https://clinic.example``; refuse the rest."""
    text = str(value).strip().rstrip("/")
    parts = urlsplit(text)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.path
        or parts.query
        or parts.fragment
        or "@" in parts.netloc
        or "*" in text
    ):
        raise SettingsError(
            f"{source}: '{value}' is not an origin; write it as scheme://host[:port], "
            "e.g. https://www.example-clinic.com (no path, no wildcard)"
        )
    return f"{parts.scheme}://{parts.netloc.lower()}"


def _parse_origins(value: Any, source: str) -> Tuple[str, ...]:
    if isinstance(value, str):
        items = [item for item in value.split(",") if item.strip()]
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise SettingsError(f"{source}: expected a list of origins, got {value!r}")
    return tuple(dict.fromkeys(normalize_origin(item, source) for item in items))


def _number(kind: Callable[[Any], Any], minimum: float) -> Callable[[Any, str], Any]:
    def parse(value: Any, source: str) -> Any:
        if isinstance(value, bool):
            raise SettingsError(f"{source}: expected a number, got {value!r}")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise SettingsError(f"{source}: expected a number, got {value!r}") from None
        if not math.isfinite(number):
            raise SettingsError(f"{source}: expected a finite number, got {value!r}")
        if kind is int:
            if not number.is_integer():
                raise SettingsError(f"{source}: expected a whole number, got {value!r}")
            number = int(number)
        if number < minimum:
            raise SettingsError(f"{source}: must be at least {minimum}, got {value!r}")
        return number

    return parse


def _parse_redis_url(value: Any, source: str) -> Optional[str]:
    text = str(value).strip()
    if urlsplit(text).scheme not in ("redis", "rediss", "unix"):
        raise SettingsError(
            f"{source}: '{value}' is not a Redis URL; write it as redis://host:port/db, "
            "e.g. redis://127.0.0.1:6379/1"
        )
    return text


_PARSERS: Dict[str, Callable[[Any, str], Any]] = {
    "cors_origins": _parse_origins,
    "max_message_chars": _number(int, 1),
    "rate_limit_messages": _number(int, 1),
    "rate_limit_window_seconds": _number(float, 1),
    "rate_limit_ip_messages": _number(int, 0),
    "rate_limit_redis_url": _parse_redis_url,
}

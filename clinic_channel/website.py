"""The website chat channel: Rasa's REST webhook, hardened, plus the widget's files.

Routes (Rasa mounts them under ``/webhooks/website/``):

- ``POST webhook``: ``{"sender": "<id>", "message": "<text>"}`` -> list of bot messages,
  exactly like Rasa's ``rest`` channel, with message, rate and CORS limits in front.
- ``GET /``: the demo page for a browser, ``{"status": "ok"}`` for anything else
  (the ``RestInput`` health check keeps working); ``GET health`` is the readiness check:
  ``{"status": "ok"}`` once a model is loaded, ``{"status": "no_model"}`` with 503 before.
- ``GET widget.js`` / ``GET widget.css``: the chat widget, from the project's ``web/``.

Enable it in ``credentials.yml`` under ``clinic_channel.website.WebsiteInput:``; the
settings are described in ``clinic_channel/settings.py`` and ``docs/website.md``.
"""

import hashlib
import json
import logging
import re
import time
from asyncio import CancelledError
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Optional

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.shared.core.constants import (
    USER_INTENT_BACK,
    USER_INTENT_RESTART,
    USER_INTENT_SESSION_START,
)
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from clinic_channel.limits import SharedWindowLimiter, SlidingWindowLimiter, allow_in_process
from clinic_channel.reply_guard import guard_replies
from clinic_channel.settings import WebsiteSettings, load_settings
from clinic_channel.texts import ERROR_TRY_AGAIN, RATE_LIMITED, TOO_LONG, ChannelTexts

logger = logging.getLogger(__name__)

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
# route file name -> (file in WEB_DIR, content type); nothing else is ever served.
WEB_FILES = {
    "demo.html": ("demo.html", "text/html; charset=utf-8"),
    "widget.js": ("widget.js", "text/javascript; charset=utf-8"),
    "widget.css": ("widget.css", "text/css; charset=utf-8"),
}
# The demo page loads only this server's script and style (inline <style> allowed for
# the mock page itself); the widget needs no inline script and no eval.
DEMO_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
# Sender ids are opaque conversation keys (the widget sends a random UUID).
SENDER_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
# Messages starting with "/" are intent payloads to Rasa; buttons send only "/intent".
# Anything more ("/book{\"name\": ...}", "/greet@0.9") would let a visitor set entities
# or confidences directly, so the slash of such text is dropped and NLU reads it.
PLAIN_PAYLOAD = re.compile(r"/[A-Za-z0-9_-]+")
LEADING_SLASHES = re.compile(r"^[/\s]+")
# Bodies larger than this are refused before JSON parsing (a too-long message is far
# smaller and gets the polite reply instead).
MAX_BODY_BYTES = 1024 * 1024
PREFLIGHT_MAX_AGE_SECONDS = 600


def _error(status: int, code: str, detail: str, **extra: Any) -> HTTPResponse:
    """A JSON error body: ``{"error": code, "detail": human-readable explanation}``."""
    return response.json({"error": code, "detail": detail, **extra}, status=status)


def _origin_refused() -> HTTPResponse:
    return _error(403, "origin_not_allowed", "This page's origin may not use the chat.")


class WebsiteInput(RestInput):
    """Rasa's REST channel for the clinic website, with limits, CORS and the widget."""

    @classmethod
    def name(cls) -> str:
        """Routes live under ``/webhooks/website/``; trackers record ``website``."""
        return "website"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> "WebsiteInput":
        """Build the channel from its ``credentials.yml`` mapping plus env overrides."""
        return cls(load_settings(credentials))

    def __init__(
        self,
        settings: Optional[WebsiteSettings] = None,
        texts: Optional[ChannelTexts] = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Create the channel; ``texts`` and ``clock`` are replaceable for tests."""
        self.settings = settings or WebsiteSettings()
        self.texts = texts or ChannelTexts()
        window = self.settings.rate_limit_window_seconds
        self.sender_limiter = SlidingWindowLimiter(self.settings.rate_limit_messages, window, clock)
        self.ip_limiter = SlidingWindowLimiter(self.settings.rate_limit_ip_messages, window, clock)
        self.shared_limiters: Dict[str, SharedWindowLimiter] = {}
        if self.settings.rate_limit_redis_url:
            self.shared_limiters = self._shared_limiters(self.settings.rate_limit_redis_url)

    def _shared_limiters(self, url: str) -> Dict[str, SharedWindowLimiter]:
        """The sender and address limits counted in Redis (several Rasa processes)."""
        import redis.asyncio  # only needed by the scaled setup

        # Short timeouts: a Redis outage must fall back quickly, not hold the visitor.
        client = redis.asyncio.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
        window = self.settings.rate_limit_window_seconds
        return {
            "sender": SharedWindowLimiter(
                client, "sender", self.settings.rate_limit_messages, window, self.sender_limiter
            ),
            "address": SharedWindowLimiter(
                client, "address", self.settings.rate_limit_ip_messages, window, self.ip_limiter
            ),
        }

    async def _wait_needed(self, kind: str, key: str) -> Optional[int]:
        """None when ``key`` is within the ``kind`` ("sender"/"address") limit."""
        shared = self.shared_limiters.get(kind)
        if shared is not None:
            return await shared.allow(key)
        local = self.sender_limiter if kind == "sender" else self.ip_limiter
        return await allow_in_process(local, key)

    # --- RestInput hooks: read the body validated by the webhook route -------------

    async def _extract_sender(self, req: Request) -> str:
        return req.ctx.website_body["sender"]

    def _extract_message(self, req: Request) -> str:
        text = req.ctx.website_body["message"].strip()
        if text.startswith("/") and not PLAIN_PAYLOAD.fullmatch(text):
            # Every leading slash and blank: "/ /book{...}" must not become "/book{...}".
            return LEADING_SLASHES.sub("", text)
        return text

    def _extract_input_channel(self, req: Request) -> str:
        # Never the client's "input_channel" field: a visitor could claim another one.
        return self.name()

    def get_metadata(self, request: Request) -> Optional[Dict[str, Any]]:
        """Client-supplied metadata is not stored in the tracker (it is unchecked)."""
        return None

    # --- origin policy --------------------------------------------------------------

    def origin_allowed(self, request: Request) -> Optional[bool]:
        """None without an Origin header; else whether the page's origin may call us.

        Allowed: an exact entry of ``cors_origins``, or the server's own host
        (same-origin pages; browsers send Origin on every POST).
        """
        origin = request.headers.get("origin")
        if origin is None:
            return None
        origin = origin.strip().rstrip("/").lower()
        if origin in self.settings.cors_origins:
            return True
        _, _, host = origin.partition("://")
        return bool(host) and host == (request.host or "").lower()

    def _apply_cors(self, request: Request, resp: HTTPResponse) -> HTTPResponse:
        """Replace any CORS headers (e.g. from ``rasa run --cors``) with our policy."""
        stale = {h for h in resp.headers if h.lower().startswith("access-control-")}
        for header in stale:
            del resp.headers[header]
        if request.headers.get("origin") is not None:
            resp.headers["Vary"] = "Origin"
        if self.origin_allowed(request):
            resp.headers["Access-Control-Allow-Origin"] = request.headers["origin"]
            if request.method == "OPTIONS":
                resp.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
                resp.headers["Access-Control-Allow-Headers"] = "Content-Type"
                resp.headers["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE_SECONDS)
        return resp

    def _preflight(self, request: Request) -> HTTPResponse:
        """204 for an allowed origin, 403 otherwise; headers come from _apply_cors."""
        if not self.origin_allowed(request):
            return _origin_refused()
        return response.empty()

    # --- routes ---------------------------------------------------------------------

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """The webhook, the health check and the widget's files."""
        website = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @website.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            if "text/html" in request.headers.get("accept", ""):
                return self._web_file(request, "demo.html")
            return response.json({"status": "ok"})

        @website.route("/health", methods=["GET"])
        async def health_json(request: Request) -> HTTPResponse:
            # 503 until a model is loaded: a server that could not load its model answers
            # every visitor "please try again", so it must not count as ready.
            agent = getattr(request.app.ctx, "agent", None)
            if agent is None or not agent.is_ready():
                return response.json({"status": "no_model"}, status=503)
            return response.json({"status": "ok"})

        @website.route("/widget.js", methods=["GET"])
        async def widget_js(request: Request) -> HTTPResponse:
            return self._web_file(request, "widget.js")

        @website.route("/widget.css", methods=["GET"])
        async def widget_css(request: Request) -> HTTPResponse:
            return self._web_file(request, "widget.css")

        @website.route("/webhook", methods=["POST", "OPTIONS"])
        async def receive(request: Request) -> HTTPResponse:
            if request.method == "OPTIONS":
                return self._preflight(request)
            return await self._receive(request, on_new_message)

        @website.middleware("response")
        async def cors(request: Request, resp: HTTPResponse) -> Optional[HTTPResponse]:
            # Under `rasa run`, Sanic-CORS answers every OPTIONS request before our
            # route runs, with Rasa's --cors policy; the preflight is rebuilt here.
            if request.method == "OPTIONS":
                return self._apply_cors(request, self._preflight(request))
            self._apply_cors(request, resp)
            return None

        return website

    async def _receive(
        self,
        request: Request,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> HTTPResponse:
        if self.origin_allowed(request) is False:
            return _origin_refused()
        # Behind a proxy, remote_addr is the visitor's address when Sanic trusts the
        # proxy's X-Forwarded-For (SANIC_PROXIES_COUNT=1, docs/deploy.md).
        client = request.remote_addr or request.ip or "unknown"
        wait = await self._wait_needed("address", client)
        if wait is not None:
            logger.warning("website channel: rate limit for address %s", client)
            return response.json(
                {
                    "error": "rate_limited",
                    "detail": "Too many requests from this address.",
                    "message": self.texts.get(RATE_LIMITED),
                },
                status=429,
                headers={"Retry-After": str(wait)},
            )
        problem = self._parse_body(request)
        if problem is not None:
            return problem

        sender = await self._extract_sender(request)
        if not self._extract_message(request):
            return response.json([])  # nothing to answer (empty, blanks or a bare "/")
        if await self._wait_needed("sender", sender) is not None:
            logger.warning("website channel: rate limit for sender %s", sender)
            return response.json([self._bot_text(sender, self.texts.get(RATE_LIMITED))])
        limit = self.settings.max_message_chars
        if len(request.ctx.website_body["message"]) > limit:
            reply = self.texts.get(TOO_LONG, limit=limit)
            return response.json([self._bot_text(sender, reply)])
        return response.json(await self._ask_bot(request, sender, on_new_message))

    def _parse_body(self, request: Request) -> Optional[HTTPResponse]:
        """Store the valid body in ``request.ctx.website_body``, or return a 4xx."""
        shape = 'a JSON object like {"sender": "<id>", "message": "<text>"}'
        if len(request.body or b"") > MAX_BODY_BYTES:
            return _error(413, "body_too_large", f"The request body must be {shape}.")
        try:
            body = json.loads(request.body or b"")
        except (ValueError, RecursionError):  # bad JSON or bytes; "[[[[..." nesting
            return _error(400, "invalid_json", f"The request body must be {shape}.")
        if not isinstance(body, dict):
            return _error(400, "invalid_body", f"The request body must be {shape}.")
        sender = body.get("sender")
        if not isinstance(sender, str) or not SENDER_PATTERN.fullmatch(sender):
            return _error(
                400,
                "invalid_sender",
                "'sender' must be 1-64 characters: letters, digits, '-' or '_'.",
            )
        if not isinstance(body.get("message"), str):
            return _error(400, "invalid_message", "'message' must be a string.")
        request.ctx.website_body = body
        return None

    async def _ask_bot(
        self,
        request: Request,
        sender: str,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> List[Dict[str, Any]]:
        collector = CollectingOutputChannel()
        try:
            await on_new_message(
                UserMessage(
                    self._extract_message(request),
                    collector,
                    sender,
                    input_channel=self._extract_input_channel(request),
                    metadata=self.get_metadata(request),
                )
            )
        except CancelledError:
            logger.error("website channel: the assistant timed out for %s", sender)
        except Exception:
            logger.exception("website channel: the assistant failed for %s", sender)
        else:
            if not collector.messages and not self._expects_no_reply(request):
                # Rasa logs and swallows a failed custom action (e.g. the action
                # server is down) and answers nothing: the visitor must not get silence.
                logger.error(
                    "website channel: no reply for %s; the action server may be unreachable", sender
                )
            else:
                agent = getattr(request.app.ctx, "agent", None)
                return await guard_replies(agent, sender, collector.messages)
        # After a failure nothing of the turn was saved (e.g. the database went away while
        # saving), so replies already produced are dropped: the visitor sends the message
        # again, and it is handled, and saved, in full.
        return [self._bot_text(sender, self.texts.get(ERROR_TRY_AGAIN))]

    def _expects_no_reply(self, request: Request) -> bool:
        """Rasa's own commands ("/restart", "/session_start") may answer nothing."""
        text = self._extract_message(request)
        silent = (USER_INTENT_RESTART, USER_INTENT_BACK, USER_INTENT_SESSION_START)
        return text.startswith("/") and text[1:] in silent

    @staticmethod
    def _bot_text(sender: str, text: str) -> Dict[str, Any]:
        return {"recipient_id": sender, "text": text}

    @staticmethod
    def _web_file(request: Request, name: str) -> HTTPResponse:
        """Serve one file of ``WEB_FILES`` from ``web/``, with an ETag."""
        if name not in WEB_FILES:
            return _error(404, "not_found", "No such file.")
        filename, content_type = WEB_FILES[name]
        path = (WEB_DIR / filename).resolve()
        if path.parent != WEB_DIR:  # e.g. a symlink pointing out of web/
            return _error(404, "not_found", "No such file.")
        try:
            body = path.read_bytes()
        except OSError:
            logger.error("website channel: %s is missing", path)
            return _error(404, "not_found", "No such file.")
        etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
        headers = {
            "ETag": etag,
            "Cache-Control": "no-cache",
            "X-Content-Type-Options": "nosniff",
        }
        if name == "demo.html":
            headers["Content-Security-Policy"] = DEMO_CSP
            headers["Referrer-Policy"] = "no-referrer"
        if request.headers.get("if-none-match") == etag:
            return response.empty(status=304, headers=headers)
        return response.raw(body, content_type=content_type, headers=headers)

"""Tests for clinic_channel/: the website channel's limits, CORS and files.

The app is built as ``rasa run`` builds it (``rasa.core.run.configure_app`` without the
HTTP API, which also installs Rasa's Sanic-CORS), with an agent stub that echoes, and is
served on a real socket on 127.0.0.1 (sanic-testing is not a dependency of Rasa 3.6).
Async tests run through pytest-asyncio's auto mode (pytest.ini).
"""

import socket
import uuid
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable, Dict, List, Optional

import aiohttp
import pytest
import pytest_asyncio
from rasa.core.channels.channel import UserMessage
from rasa.core.run import configure_app
from sanic import Sanic

from clinic_channel.limits import SharedWindowLimiter, SlidingWindowLimiter
from clinic_channel.settings import (
    SettingsError,
    WebsiteSettings,
    load_settings,
)
from clinic_channel.texts import ChannelTexts
from clinic_channel.website import WEB_DIR, WebsiteInput

MESSAGES = """\
too_long: "Please shorten your message to {limit} characters."
rate_limited: "Slow down a little, please."
error_try_again: "Something went wrong."
"""
ALLOWED = "https://www.example-clinic.com"
SENDER = "3f1c2a9e-0b7d-4c55-9a51-1d2e3f4a5b6c"


class EchoAgent:
    """Stands in for rasa's Agent: answers every message with 'echo: <text>'."""

    def __init__(self) -> None:
        self.received: List[UserMessage] = []
        self.ready = True

    def is_ready(self) -> bool:
        return self.ready

    async def handle_message(self, message: UserMessage) -> None:
        self.received.append(message)
        if message.text == "boom":
            raise RuntimeError("the assistant broke")
        if message.text == "half":  # answered, then saving the conversation failed
            await message.output_channel.send_text_message(message.sender_id, "echo: half")
            raise RuntimeError("the database went away")
        if message.text in ("silent", "/restart"):  # e.g. the action server is down
            return
        await message.output_channel.send_text_message(message.sender_id, f"echo: {message.text}")


class Server:
    """A running channel app: its base URL, HTTP session and echo agent."""

    def __init__(self, base: str, session: aiohttp.ClientSession, agent: EchoAgent):
        self.base = base
        self.session = session
        self.agent = agent

    async def post(
        self, body: Any, raw: Optional[bytes] = None, **headers: str
    ) -> aiohttp.ClientResponse:
        kwargs: Dict[str, Any] = {"data": raw} if raw is not None else {"json": body}
        response = await self.session.post(f"{self.base}/webhook", headers=headers, **kwargs)
        await response.read()
        return response

    async def get(self, path: str, **headers: str) -> aiohttp.ClientResponse:
        response = await self.session.get(f"{self.base}{path}", headers=headers)
        await response.read()
        return response

    async def say(self, message: str, sender: str = SENDER) -> List[Dict[str, Any]]:
        response = await self.post({"sender": sender, "message": message})
        assert response.status == 200
        return await response.json()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def messages_file(tmp_path: Path) -> Path:
    path = tmp_path / "messages.yml"
    path.write_text(MESSAGES, encoding="utf-8")
    return path


@pytest_asyncio.fixture
async def start_server(
    messages_file: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Callable[..., Awaitable[Server]]]:
    """Factory: ``await start_server(cors_origins=(...), ...)`` -> a running Server."""
    monkeypatch.setattr(Sanic, "test_mode", True)  # configure_app reuses one app name
    running = []

    async def start(
        rasa_cors: Optional[str] = None, proxies_count: int = 0, **settings: Any
    ) -> Server:
        channel = WebsiteInput(WebsiteSettings(**settings), ChannelTexts(messages_file))
        monkeypatch.setenv("SANIC_PROXIES_COUNT", str(proxies_count))
        app = configure_app([channel], cors=rasa_cors, enable_api=False)
        agent = EchoAgent()
        app.ctx.agent = agent
        port = _free_port()
        server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True)
        await server.startup()
        await server.before_start()
        await server.after_start()
        session = aiohttp.ClientSession()
        running.append((server, session))
        return Server(f"http://127.0.0.1:{port}/webhooks/website", session, agent)

    yield start
    for server, session in running:
        await session.close()
        await server.before_stop()
        server.close()
        await server.wait_closed()
        await server.after_stop()


@pytest_asyncio.fixture
async def server(start_server: Callable[..., Awaitable[Server]]) -> Server:
    return await start_server(cors_origins=(ALLOWED,))


# --- messages ----------------------------------------------------------------------


async def test_message_reaches_the_assistant_as_website_channel(server: Server) -> None:
    body = {
        "sender": SENDER,
        "message": " hello ",
        "input_channel": "rest",
        "metadata": {"admin": True},
    }
    response = await server.post(body)
    assert response.status == 200
    assert await response.json() == [{"recipient_id": SENDER, "text": "echo: hello"}]
    (received,) = server.agent.received
    assert (received.sender_id, received.input_channel) == (SENDER, "website")
    assert received.metadata is None


@pytest.mark.parametrize("length, answered", [(1000, True), (1001, False), (5000, False)])
async def test_length_limit_gives_the_polite_text(
    server: Server, length: int, answered: bool
) -> None:
    replies = await server.say("a" * length)
    if answered:
        assert replies[0]["text"].startswith("echo: ")
    else:
        assert replies == [
            {"recipient_id": SENDER, "text": "Please shorten your message to 1000 characters."}
        ]
        assert server.agent.received == []


async def test_limit_comes_from_the_settings(start_server: Callable) -> None:
    server = await start_server(max_message_chars=10)
    assert (await server.say("x" * 11))[0]["text"].endswith("to 10 characters.")


@pytest.mark.parametrize("message", ["", "   ", "\n\t", "/"])
async def test_empty_message_is_ignored(server: Server, message: str) -> None:
    assert await server.say(message) == []
    assert server.agent.received == []


@pytest.mark.parametrize(
    "typed, seen",
    [
        ("/ask_price", "/ask_price"),
        ('/book{"name": "x"}', 'book{"name": "x"}'),
        ("/greet@0.99", "greet@0.99"),
    ],
)
async def test_only_plain_intent_payloads_pass(server: Server, typed: str, seen: str) -> None:
    await server.say(typed)
    assert server.agent.received[0].text == seen


async def test_assistant_failure_is_a_polite_reply_not_a_500(server: Server) -> None:
    assert await server.say("boom") == [{"recipient_id": SENDER, "text": "Something went wrong."}]


async def test_a_turn_that_failed_after_answering_asks_to_try_again(server: Server) -> None:
    # The turn was not saved: showing its answer would make the next message out of step.
    assert await server.say("half") == [{"recipient_id": SENDER, "text": "Something went wrong."}]


async def test_no_reply_at_all_becomes_the_try_again_text(server: Server) -> None:
    # Rasa swallows a failed custom action (action server down) and sends nothing.
    assert await server.say("silent") == [{"recipient_id": SENDER, "text": "Something went wrong."}]


async def test_rasa_commands_may_answer_nothing(server: Server) -> None:
    assert await server.say("/restart") == []


# --- malformed requests ------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, error",
    [
        (b"not json", "invalid_json"),
        (b"", "invalid_json"),
        (b"\xff\xfe", "invalid_json"),
        (b'{"sender": "a", "message": ', "invalid_json"),
        (b"[1, 2]", "invalid_body"),
        (b'"text"', "invalid_body"),
        (b"null", "invalid_body"),
        (b"[" * 100_000, "invalid_json"),
    ],
)
async def test_body_that_is_not_a_json_object_is_400(
    server: Server, raw: bytes, error: str
) -> None:
    response = await server.post(None, raw=raw, **{"Content-Type": "application/json"})
    assert response.status == 400
    body = await response.json()
    assert body["error"] == error and "sender" in body["detail"]


@pytest.mark.parametrize(
    "body, error",
    [
        ({"message": "hi"}, "invalid_sender"),
        ({"sender": 42, "message": "hi"}, "invalid_sender"),
        ({"sender": "", "message": "hi"}, "invalid_sender"),
        ({"sender": "a" * 65, "message": "hi"}, "invalid_sender"),
        ({"sender": "../../etc", "message": "hi"}, "invalid_sender"),
        ({"sender": "<script>", "message": "hi"}, "invalid_sender"),
        ({"sender": "abc\n", "message": "hi"}, "invalid_sender"),
        ({"sender": SENDER}, "invalid_message"),
        ({"sender": SENDER, "message": None}, "invalid_message"),
        ({"sender": SENDER, "message": 7}, "invalid_message"),
        ({"sender": SENDER, "message": ["hi"]}, "invalid_message"),
    ],
)
async def test_wrong_types_are_400(server: Server, body: Dict, error: str) -> None:
    response = await server.post(body)
    assert response.status == 400
    assert (await response.json())["error"] == error
    assert server.agent.received == []


async def test_huge_body_is_413(server: Server) -> None:
    response = await server.post(None, raw=b"x" * (1024 * 1024 + 1))
    assert response.status == 413
    assert (await response.json())["error"] == "body_too_large"


# --- CORS --------------------------------------------------------------------------


async def test_allowed_origin_gets_cors_headers(server: Server) -> None:
    response = await server.post({"sender": SENDER, "message": "hi"}, Origin=ALLOWED)
    assert response.status == 200
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert response.headers["Vary"] == "Origin"


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "https://www.example-clinic.com.evil.example",
        "http://www.example-clinic.com",
        "null",
    ],
)
async def test_other_origin_is_refused_and_not_processed(server: Server, origin: str) -> None:
    response = await server.post({"sender": SENDER, "message": "hi"}, Origin=origin)
    assert response.status == 403
    assert "Access-Control-Allow-Origin" not in response.headers
    assert server.agent.received == []


async def test_same_origin_page_may_post(server: Server) -> None:
    own_origin = server.base.split("/webhooks")[0]
    response = await server.post({"sender": SENDER, "message": "hi"}, Origin=own_origin)
    assert response.status == 200


async def test_no_origin_configured_means_same_origin_only(start_server: Callable) -> None:
    server = await start_server()
    refused = await server.post({"sender": SENDER, "message": "hi"}, Origin=ALLOWED)
    assert refused.status == 403
    assert (await server.post({"sender": SENDER, "message": "hi"})).status == 200


@pytest.mark.parametrize("rasa_cors", [None, "*"])
async def test_preflight(start_server: Callable, rasa_cors: Optional[str]) -> None:
    """Our policy wins over Rasa's own --cors, even `--cors "*"`."""
    server = await start_server(rasa_cors=rasa_cors, cors_origins=(ALLOWED,))
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    url = f"{server.base}/webhook"
    async with server.session.options(url, headers={"Origin": ALLOWED, **preflight}) as ok:
        assert ok.status == 204
        assert ok.headers["Access-Control-Allow-Origin"] == ALLOWED
        assert "POST" in ok.headers["Access-Control-Allow-Methods"]
        assert ok.headers["Access-Control-Allow-Headers"] == "Content-Type"
        assert int(ok.headers["Access-Control-Max-Age"]) > 0
    async with server.session.options(
        url, headers={"Origin": "https://evil.example", **preflight}
    ) as denied:
        assert denied.status == 403
        assert not any(h.lower().startswith("access-control-") for h in denied.headers)
    evil = await server.post({"sender": SENDER, "message": "hi"}, Origin="https://evil.example")
    assert "Access-Control-Allow-Origin" not in evil.headers


# --- rate limits -------------------------------------------------------------------


async def test_sender_rate_limit_is_a_polite_bot_message(start_server: Callable) -> None:
    server = await start_server(rate_limit_messages=3, rate_limit_window_seconds=60)
    for number in range(3):
        assert (await server.say(f"m{number}"))[0]["text"] == f"echo: m{number}"
    assert await server.say("one too many") == [
        {"recipient_id": SENDER, "text": "Slow down a little, please."}
    ]
    assert [m.text for m in server.agent.received] == ["m0", "m1", "m2"]
    assert (await server.say("other visitor", sender="visitor-2"))[0]["text"].startswith("echo")


async def test_address_rate_limit_is_429(start_server: Callable) -> None:
    server = await start_server(rate_limit_messages=100, rate_limit_ip_messages=4)
    for number in range(4):
        await server.say("hi", sender=f"visitor-{number}")  # new sender ids don't help
    response = await server.post({"sender": "visitor-new", "message": "hi"})
    assert response.status == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    body = await response.json()
    assert (body["error"], body["message"]) == ("rate_limited", "Slow down a little, please.")


async def test_behind_a_proxy_the_forwarded_address_counts(start_server: Callable) -> None:
    """With SANIC_PROXIES_COUNT=1 (docs/website.md) each visitor behind the proxy counts alone."""
    server = await start_server(rate_limit_ip_messages=2, proxies_count=1)
    for visitor in ("203.0.113.1", "203.0.113.2"):
        for _ in range(2):
            response = await server.post(
                {"sender": "v", "message": "hi"}, **{"X-Forwarded-For": visitor}
            )
            assert response.status == 200
    refused = await server.post(
        {"sender": "v", "message": "hi"}, **{"X-Forwarded-For": "203.0.113.1"}
    )
    assert refused.status == 429


def test_sliding_window_frees_up_as_time_passes() -> None:
    now = [0.0]
    limiter = SlidingWindowLimiter(2, 10, clock=lambda: now[0])
    assert limiter.hit("a")
    now[0] = 3.0
    assert limiter.hit("a")
    assert not limiter.hit("a")
    now[0] = 5.0
    assert not limiter.hit("a") and limiter.retry_after("a") == 5
    assert limiter.hit("b")  # keys are independent
    now[0] = 10.0  # the hit at t=0 leaves the window, the one at t=3 doesn't
    assert limiter.hit("a")
    assert not limiter.hit("a")
    now[0] = 13.0
    assert limiter.hit("a")


class FakeRedis:
    """Just enough of redis.asyncio.Redis for the shared limiter: INCR + EXPIRE."""

    def __init__(self, fail: bool = False) -> None:
        self.counts: Dict[str, int] = {}
        self.fail = fail

    def pipeline(self, transaction: bool = True) -> "FakeRedis._Pipe":
        return FakeRedis._Pipe(self)

    class _Pipe:
        def __init__(self, redis: "FakeRedis") -> None:
            self.redis = redis
            self.ops: List[Any] = []

        async def __aenter__(self) -> "FakeRedis._Pipe":
            return self

        async def __aexit__(self, *exc: Any) -> None:
            return None

        def incr(self, key: str) -> None:
            self.ops.append(key)

        def expire(self, key: str, seconds: int) -> None:
            self.ops.append(None)

        async def execute(self) -> List[Any]:
            if self.redis.fail:
                raise ConnectionError("Redis is down")
            key = self.ops[0]
            self.redis.counts[key] = self.redis.counts.get(key, 0) + 1
            return [self.redis.counts[key], True]


async def test_shared_limit_is_counted_once_for_every_process() -> None:
    redis = FakeRedis()
    now = [1000.0]

    def limiter() -> SharedWindowLimiter:  # one per Rasa process, one shared Redis
        return SharedWindowLimiter(
            redis, "sender", 3, 60, SlidingWindowLimiter(3, 60), clock=lambda: now[0]
        )

    first, second = limiter(), limiter()
    assert await first.allow("v") is None
    assert await second.allow("v") is None
    assert await first.allow("v") is None
    assert await second.allow("v") == 20  # 4th in the window 960-1020: wait until 1020
    assert await second.allow("other") is None
    now[0] = 1021.0
    assert await first.allow("v") is None


async def test_shared_limit_falls_back_to_the_process_when_redis_is_down() -> None:
    shared = SharedWindowLimiter(FakeRedis(fail=True), "sender", 1, 60, SlidingWindowLimiter(1, 60))
    assert await shared.allow("v") is None  # visitors are not refused by the outage
    assert await shared.allow("v") is not None  # the in-process limit still applies


def test_redis_url_setting_is_checked() -> None:
    assert (
        load_settings(
            {"rate_limit_redis_url": "redis://127.0.0.1:6379/1"}, environ={}
        ).rate_limit_redis_url
        == "redis://127.0.0.1:6379/1"
    )
    with pytest.raises(SettingsError, match="not a Redis URL"):
        load_settings({}, environ={"CLINIC_RATE_LIMIT_REDIS_URL": "127.0.0.1:6379"})


def test_limiter_keeps_a_bounded_number_of_keys() -> None:
    limiter = SlidingWindowLimiter(1, 60, max_keys=100)
    for number in range(1000):
        limiter.hit(f"sender-{number}")
    assert len(limiter) == 100


def test_zero_limit_means_off() -> None:
    limiter = SlidingWindowLimiter(0, 60)
    assert all(limiter.hit("a") for _ in range(1000))


# --- files -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path, content_type, start",
    [
        ("/widget.js", "text/javascript", WEB_DIR / "widget.js"),
        ("/widget.css", "text/css", WEB_DIR / "widget.css"),
    ],
)
async def test_widget_files_are_served(
    server: Server, path: str, content_type: str, start: Path
) -> None:
    response = await server.get(path)
    assert response.status == 200
    assert response.headers["Content-Type"] == f"{content_type}; charset=utf-8"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert await response.read() == start.read_bytes()
    again = await server.get(path, **{"If-None-Match": response.headers["ETag"]})
    assert again.status == 304


async def test_health_is_503_until_a_model_is_loaded(server: Server) -> None:
    server.agent.ready = False
    health = await server.get("/health")
    assert health.status == 503 and await health.json() == {"status": "no_model"}
    server.agent.ready = True
    assert (await server.get("/health")).status == 200


async def test_root_is_demo_page_for_browsers_and_health_for_scripts(server: Server) -> None:
    page = await server.get("/", Accept="text/html,application/xhtml+xml,*/*;q=0.8")
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert b"/webhooks/website/widget.js" in await page.read()
    for path in ("/", "/health"):
        health = await server.get(path)
        assert await health.json() == {"status": "ok"}


@pytest.mark.parametrize(
    "path",
    [
        "/../../credentials.yml",
        "/%2e%2e/%2e%2e/credentials.yml",
        "/..%2f..%2fcredentials.yml",
        "/widget.js/../../../credentials.yml",
        "/%2e%2e%2fwidget.js",
        "/demo.html",
        "/etc/passwd",
        "/web/widget.js",
        "/widget.js%00.css",
    ],
)
async def test_path_traversal_is_refused(server: Server, path: str) -> None:
    url = f"{server.base}{path}"
    async with server.session.get(url, headers={"Accept": "text/html"}) as response:
        body = await response.read()
    assert response.status == 404
    assert b"clinic_channel" not in body and b"root:" not in body


# --- settings and texts ------------------------------------------------------------


def test_settings_from_credentials_and_env() -> None:
    credentials = {
        "cors_origins": ["https://WWW.Example-Clinic.com/"],
        "max_message_chars": 500,
        "rate_limit_messages": 10,
        "rate_limit_window_seconds": 30,
    }
    assert load_settings(credentials, environ={}) == WebsiteSettings(
        cors_origins=(ALLOWED,),
        max_message_chars=500,
        rate_limit_messages=10,
        rate_limit_window_seconds=30.0,
    )
    env = {
        "CLINIC_CORS_ORIGINS": "https://a.example, https://b.example:8443",
        "CLINIC_MAX_MESSAGE_CHARS": "200",
        "CLINIC_RATE_LIMIT_MESSAGES": "",
        "CLINIC_RATE_LIMIT_WINDOW_SECONDS": "90",
        "CLINIC_RATE_LIMIT_IP_MESSAGES": "0",
    }
    settings = load_settings(credentials, environ=env)
    assert settings.cors_origins == ("https://a.example", "https://b.example:8443")
    assert (settings.max_message_chars, settings.rate_limit_messages) == (200, 10)
    assert (settings.rate_limit_window_seconds, settings.rate_limit_ip_messages) == (90.0, 0)
    assert load_settings(None, environ={}) == WebsiteSettings()


@pytest.mark.parametrize(
    "credentials, env, named",
    [
        ({"cors_origin": []}, {}, "unknown setting"),
        ({"cors_origins": ["*"]}, {}, "not an origin"),
        ({"cors_origins": ["https://clinic.example/chat"]}, {}, "not an origin"),
        ({"cors_origins": "https://clinic.example"}, {}, None),
        ({"max_message_chars": "lots"}, {}, "expected a number"),
        ({"max_message_chars": 0}, {}, "at least"),
        ({"rate_limit_messages": 2.5}, {}, "whole number"),
        ({"rate_limit_messages": True}, {}, "expected a number"),
        ({}, {"CLINIC_RATE_LIMIT_WINDOW_SECONDS": "nan"}, "CLINIC_RATE_LIMIT_WINDOW_SECONDS"),
        ({}, {"CLINIC_CORS_ORIGINS": "clinic.example"}, "CLINIC_CORS_ORIGINS"),
    ],
)
def test_bad_settings_fail_clearly(credentials: Dict, env: Dict, named: Optional[str]) -> None:
    if named is None:  # a single origin written without list brackets is accepted
        assert load_settings(credentials, environ=env).cors_origins == ("https://clinic.example",)
        return
    with pytest.raises(SettingsError, match=named):
        load_settings(credentials, environ=env)


def test_from_credentials_is_how_rasa_builds_the_channel(tmp_path: Path) -> None:
    from rasa.core.run import create_http_input_channels

    credentials = tmp_path / "credentials.yml"
    credentials.write_text(
        "clinic_channel.website.WebsiteInput:\n  max_message_chars: 321\n", encoding="utf-8"
    )
    (channel,) = create_http_input_channels(None, str(credentials))
    assert isinstance(channel, WebsiteInput) and channel.name() == "website"
    assert channel.settings.max_message_chars == 321


def test_project_credentials_enable_only_the_website_channel() -> None:
    import yaml

    with open(WEB_DIR.parent / "credentials.yml", encoding="utf-8") as handle:
        credentials = yaml.safe_load(handle)
    assert list(credentials) == ["clinic_channel.website.WebsiteInput"]
    load_settings(credentials["clinic_channel.website.WebsiteInput"], environ={})


def test_texts_reload_when_the_file_changes(messages_file: Path) -> None:
    texts = ChannelTexts(messages_file)
    assert texts.get("too_long", limit=5) == "Please shorten your message to 5 characters."
    messages_file.write_text('too_long: "Max {limit} {chars}, please."\n', encoding="utf-8")
    # An undeclared placeholder is left out (clinic_content.placeholders), never shown as written.
    assert texts.get("too_long", limit=5) == "Max 5, please."
    messages_file.write_text("too_long: [unclosed\n", encoding="utf-8")
    assert texts.get("too_long", limit=5) == "Max 5, please."  # last good wording


def test_unreadable_file_falls_back_to_a_code_and_logs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    texts = ChannelTexts(tmp_path / "missing.yml")
    assert texts.get("rate_limited") == "[rate_limited]"
    assert texts.get("rate_limited") == "[rate_limited]"
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 2  # "cannot read" and "no text for", each logged once
    assert all("missing.yml" in error for error in errors)


def test_project_messages_have_the_channel_texts() -> None:
    texts = ChannelTexts(WEB_DIR.parent / "data" / "content" / "messages.yml")
    assert "{limit}" not in texts.get("too_long", limit=1000)
    assert "1000" in texts.get("too_long", limit=1000)
    assert not texts.get("rate_limited").startswith("[")


def test_sender_ids_from_the_widget_are_valid() -> None:
    from clinic_channel.website import SENDER_PATTERN

    assert SENDER_PATTERN.fullmatch(str(uuid.uuid4()))

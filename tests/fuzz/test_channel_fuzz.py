"""Fuzzing the website channel in process: every bad request gets a clear answer, never a 5xx.

The app is built as in tests/unit/test_website_channel.py (``rasa.core.run.configure_app``,
served on 127.0.0.1 in this process, aiohttp as the client; sanic-testing is not a dependency
of Rasa 3.6), with a fake agent that echoes, fails, times out or stays silent as each example
asks. The tests are plain functions driving one event loop, so hypothesis can run them.
"""

import asyncio
import json
import re
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import aiohttp
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from rasa.core.channels.channel import UserMessage
from rasa.core.run import configure_app
from sanic import Sanic

from clinic_channel.settings import WebsiteSettings
from clinic_channel.texts import ChannelTexts
from clinic_channel.website import MAX_BODY_BYTES, SENDER_PATTERN, WebsiteInput
from tests.fuzz import strategies as S
from tests.fuzz.support import fuzz_settings, tried
from tests.servers import free_port

LIMIT = 1000
ALLOWED = "https://www.example-clinic.com"
MESSAGES = """\
too_long: "Please shorten your message to {limit} characters."
rate_limited: "Slow down a little, please."
error_try_again: "Something went wrong."
"""
PLAIN_PAYLOAD = re.compile(r"/[A-Za-z0-9_-]+")
SILENT_COMMANDS = ("/restart", "/back", "/session_start")
# Said by the fake agent in modes "two" and "disclosed"; the reply guard must drop it
# when the conversation has a condition on record (a phrase of contraindications.yml).
REASSURANCE = "Don't worry, it's safe for you."
MODES = ["echo", "echo", "echo", "two", "raise", "cancel", "timeout", "silent", "disclosed"]


class FakeTracker:
    """The slots the reply guard reads: a disclosed condition."""

    def get_slot(self, name: str) -> Any:
        return ["epilepsy"] if name == "conditions" else None


class FakeTrackerStore:
    def __init__(self, agent: "FuzzAgent") -> None:
        self.agent = agent

    async def retrieve(self, sender: str) -> Optional[FakeTracker]:
        return FakeTracker() if self.agent.mode == "disclosed" else None


class FuzzAgent:
    """Stands in for rasa's Agent; ``mode`` says how it answers the next messages."""

    def __init__(self) -> None:
        self.mode = "echo"
        self.received: List[UserMessage] = []
        self.tracker_store = FakeTrackerStore(self)

    async def handle_message(self, message: UserMessage) -> None:
        self.received.append(message)
        out = message.output_channel
        if self.mode == "raise":
            raise RuntimeError("the assistant broke")
        if self.mode == "cancel":
            raise asyncio.CancelledError()
        if self.mode == "timeout":
            raise asyncio.TimeoutError()
        if self.mode == "silent":
            return
        await out.send_text_message(message.sender_id, f"echo: {message.text}")
        if self.mode in ("two", "disclosed"):
            await out.send_text_message(message.sender_id, REASSURANCE)


class Channel:
    """One running channel app driven from synchronous tests through its own loop."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        port: int,
        agent: FuzzAgent,
        session: aiohttp.ClientSession,
    ) -> None:
        self.loop = loop
        self.port = port
        self.agent = agent
        self.session = session
        self.url = f"http://127.0.0.1:{port}/webhooks/website/webhook"

    def post(self, body: bytes, headers: Dict[str, str]) -> Tuple[int, Dict[str, str], bytes]:
        async def send() -> Tuple[int, Dict[str, str], bytes]:
            async with self.session.post(self.url, data=body, headers=headers) as response:
                return response.status, dict(response.headers), await response.read()

        return self.loop.run_until_complete(send())


def start_channel(tmp_path: Path, **settings: Any) -> Iterator[Channel]:
    messages = tmp_path / "messages.yml"
    messages.write_text(MESSAGES, encoding="utf-8")
    loop = asyncio.new_event_loop()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Sanic, "test_mode", True)  # configure_app reuses one app name
        patch.setenv("SANIC_PROXIES_COUNT", "0")
        channel = WebsiteInput(WebsiteSettings(**settings), ChannelTexts(messages))
        app = configure_app([channel], cors=None, enable_api=False)
        agent = FuzzAgent()
        app.ctx.agent = agent
        port = free_port()

        async def start() -> Any:
            server = await app.create_server(
                host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False
            )
            await server.startup()
            await server.before_start()
            await server.after_start()
            return server

        server = loop.run_until_complete(start())
        session = loop.run_until_complete(_session())
        try:
            yield Channel(loop, port, agent, session)
        finally:

            async def stop() -> None:
                await session.close()
                await server.before_stop()
                server.close()
                await server.wait_closed()
                await server.after_stop()

            loop.run_until_complete(stop())
            loop.close()


async def _session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession()


@pytest.fixture(scope="module")
def channel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Channel]:
    """Limits high enough that only the message and body limits are in play."""
    yield from start_channel(
        tmp_path_factory.mktemp("fuzz-channel"),
        cors_origins=(ALLOWED,),
        max_message_chars=LIMIT,
        rate_limit_messages=1_000_000,
        rate_limit_ip_messages=0,
    )


@pytest.fixture(scope="module")
def tight_channel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Channel]:
    """Small rate limits, so that the polite and the 429 answers both come up."""
    yield from start_channel(
        tmp_path_factory.mktemp("fuzz-tight"),
        cors_origins=(ALLOWED,),
        max_message_chars=LIMIT,
        rate_limit_messages=3,
        rate_limit_ip_messages=8,
        rate_limit_window_seconds=3600,
    )


# --- properties every answer must have --------------------------------------------


def visible_text(message: str) -> str:
    """What the channel passes on, as docs/website.md describes it (blank = nothing)."""
    text = message.strip()
    if text.startswith("/") and not PLAIN_PAYLOAD.fullmatch(text):
        text = re.sub(r"^[/\s]+", "", text)
    return text


def check_response(status: int, headers: Dict[str, str], raw: bytes) -> Any:
    """Never 5xx; always JSON; 4xx = {"error", "detail"}; 2xx = messages with text."""
    assert status < 500, (status, raw[:300])
    assert headers.get("Content-Type", "").startswith("application/json"), headers
    body = json.loads(raw)
    if 400 <= status < 500:
        assert isinstance(body, dict), body
        assert isinstance(body.get("error"), str) and re.fullmatch(r"[a-z_]+", body["error"])
        detail = body.get("detail")
        assert isinstance(detail, str) and re.search(r"[A-Za-z]{3,} [a-z]{2,}", detail), body
        if status == 429:
            assert int(headers["Retry-After"]) >= 1
            assert isinstance(body.get("message"), str) and body["message"].strip()
    else:
        assert status == 200, status
        assert isinstance(body, list), body
        for message in body:
            assert isinstance(message, dict), body
            assert isinstance(message.get("text"), str) and message["text"].strip(), body
    return body


def check_passed_on(agent: FuzzAgent) -> None:
    """What reached the assistant: within the limit, never an entity/confidence payload."""
    for message in agent.received:
        assert len(message.text) <= LIMIT
        assert message.text == message.text.strip()
        assert not message.text.startswith("/") or PLAIN_PAYLOAD.fullmatch(message.text), (
            message.text
        )
        assert message.input_channel == "website" and message.metadata is None
        assert SENDER_PATTERN.fullmatch(message.sender_id)


def expected_error(body: Any) -> Optional[str]:
    """The documented 4xx error code for a JSON body that arrived intact, else None."""
    if not isinstance(body, dict):
        return "invalid_body"
    sender = body.get("sender")
    if not isinstance(sender, str) or not SENDER_PATTERN.fullmatch(sender):
        return "invalid_sender"
    if not isinstance(body.get("message"), str):
        return "invalid_message"
    return None


origins = st.one_of(
    st.none(),
    st.none(),
    st.sampled_from(
        [
            ALLOWED,
            ALLOWED.upper() + "/",
            " " + ALLOWED,
            "null",
            "",
            "SAME",
            "https://evil.example",
            "http://www.example-clinic.com",
            "https://www.example-clinic.com.evil.example",
            "file://",
            "://",
            "http://127.0.0.1",
            "https://127.0.0.1:1",
        ]
    ),
    S.header_safe,
)


def origin_headers(origin: Optional[str], port: int) -> Dict[str, str]:
    if origin is None:
        return {}
    return {"Origin": f"http://127.0.0.1:{port}" if origin == "SAME" else origin}


# --- the fuzz tests ---------------------------------------------------------------


@fuzz_settings(max_examples=1500)
@given(
    body=S.json_bodies(),
    ensure_ascii=st.booleans(),
    mode=st.sampled_from(MODES),
    origin=origins,
    content_type=S.content_types,
)
@example(
    body={"sender": "a", "message": '/ /book{"name": "x"}'},
    ensure_ascii=True,
    mode="echo",
    origin=None,
    content_type="application/json",
)
@example(
    body={"sender": "a", "message": "\ud800"},
    ensure_ascii=True,
    mode="two",
    origin=ALLOWED,
    content_type=None,
)
@example(
    body={"sender": "0", "message": "\ud800\udc00"},
    ensure_ascii=True,
    mode="echo",
    origin=None,
    content_type=None,
)  # an escaped surrogate pair: one character arrives
def test_json_bodies_get_a_clear_answer(
    channel: Channel,
    body: Dict[str, Any],
    ensure_ascii: bool,
    mode: str,
    origin: Optional[str],
    content_type: Optional[str],
) -> None:
    tried("channel: JSON bodies")
    channel.agent.mode, channel.agent.received = mode, []
    raw = S.encode(body, ensure_ascii)
    headers = origin_headers(origin, channel.port)
    if content_type is not None:
        headers["Content-Type"] = content_type
    status, response_headers, response = channel.post(raw, headers)
    answer = check_response(status, response_headers, response)
    check_passed_on(channel.agent)

    if origin in (None, ALLOWED, "SAME"):
        assert status != 403
    if status == 403:
        assert answer["error"] == "origin_not_allowed"
        assert "Access-Control-Allow-Origin" not in response_headers
        assert channel.agent.received == []
        return
    if len(raw) > MAX_BODY_BYTES:
        assert (status, answer["error"]) == (413, "body_too_large")
        return
    # A lone surrogate sent raw (ensure_ascii=False) arrives like its \ud800 escape:
    # Python's json.loads decodes bytes with "surrogatepass".
    error = expected_error(body)
    if error:
        assert (status, answer["error"]) == (400, error)
        assert channel.agent.received == []
        return
    assert status == 200
    # The channel gets the JSON round trip of the body: an escaped surrogate pair
    # ("\ud800\udc00" from ensure_ascii) decodes to one character, as in any JSON parser.
    message = json.loads(raw)["message"]
    if not visible_text(message):
        assert answer == [] and channel.agent.received == []
    elif len(message) > LIMIT:
        assert [m["text"] for m in answer] == [
            f"Please shorten your message to {LIMIT} characters."
        ]
        assert channel.agent.received == []
    else:
        (received,) = channel.agent.received
        assert received.text == visible_text(message)
        assert all(m["recipient_id"] == body["sender"] for m in answer)
        if mode in ("raise", "cancel", "timeout") or (
            mode == "silent" and visible_text(message) not in SILENT_COMMANDS
        ):
            assert [m["text"] for m in answer] == ["Something went wrong."]
        elif mode == "silent":
            assert answer == []  # Rasa's own commands may answer nothing
        else:
            assert len(answer) == (1 if mode in ("echo",) else 2)
            if mode == "two":
                assert answer[1]["text"] == REASSURANCE
            if mode == "disclosed":
                assert all(REASSURANCE not in m["text"] for m in answer)


@fuzz_settings(max_examples=500)
@given(
    raw=S.raw_bodies(), content_type=S.content_types, origin=origins, mode=st.sampled_from(MODES)
)
def test_raw_bodies_get_a_clear_answer(
    channel: Channel, raw: bytes, content_type: Optional[str], origin: Optional[str], mode: str
) -> None:
    tried("channel: raw bodies")
    channel.agent.mode, channel.agent.received = mode, []
    headers = origin_headers(origin, channel.port)
    if content_type is not None:
        headers["Content-Type"] = content_type
    status, response_headers, response = channel.post(raw, headers)
    answer = check_response(status, response_headers, response)
    check_passed_on(channel.agent)
    if status != 403 and len(raw) > MAX_BODY_BYTES:
        assert (status, answer["error"]) == (413, "body_too_large")


@fuzz_settings(max_examples=60)
@given(
    requests=st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), S.texts), min_size=1, max_size=6)
)
def test_rate_limits_answer_clearly(
    tight_channel: Channel, requests: List[Tuple[str, str]]
) -> None:
    tight_channel.agent.mode = "echo"
    for sender, message in requests:
        tried("channel: rate-limited requests")
        tight_channel.agent.received = []
        raw = S.encode({"sender": sender, "message": message}, True)
        status, headers, response = tight_channel.post(raw, {"Content-Type": "application/json"})
        answer = check_response(status, headers, response)
        check_passed_on(tight_channel.agent)
        if status == 429:
            assert (
                answer["error"] == "rate_limited"
                and answer["message"] == "Slow down a little, please."
            )

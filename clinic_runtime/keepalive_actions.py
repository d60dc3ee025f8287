"""Calls to the action server over kept-alive connections instead of one new connection each.

Rasa 3.6's ``EndpointConfig.request`` opens ``async with self.session()``: a new
``aiohttp.ClientSession``, so a new TCP connection (connect, accept, close, TIME_WAIT) for every
custom action, two or three times per visitor message. Measured: the connection set-up and the
first write on a fresh socket were ~15% of the Rasa server's time per message under cProfile
(docs/benchmarks-levers.md).

Here ``EndpointConfig.session()`` returns a stand-in whose ``async with`` gives one shared
``ClientSession`` per event loop and per endpoint settings (headers, basic auth), built exactly
as Rasa builds its own (same headers, auth and total timeout), with a connection pool that keeps
idle connections for ``KEEPALIVE_SECONDS``. That is shorter than the idle timeout of the action
server (Sanic: 5 s) and of nginx in the scaled setup (``keepalive_timeout``, 75 s), so the
client never reuses a connection the server is about to close. A connection the server did close
(restart, crash) is noticed by aiohttp and replaced. No limit on connections, as before (each
request used its own). Requests, responses and errors are Rasa's own code (``request``).

The sessions are closed when the server stops: ``rasa.core.run.close_resources``, the listener
Rasa registers for Sanic's ``after_server_stop``, is wrapped to close them after Rasa's own
clean-up.
"""

import asyncio
import weakref
from typing import Any, Dict, Optional, Tuple

KEEPALIVE_SECONDS = 2.0

_sessions: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Dict[Tuple[Any, ...], Any]]" = (
    weakref.WeakKeyDictionary()
)


def _settings(endpoint: Any) -> Tuple[Any, ...]:
    auth = endpoint.basic_auth or {}
    return (
        tuple(sorted((endpoint.headers or {}).items())),
        auth.get("username"),
        auth.get("password"),
    )


def shared_session(endpoint: Any) -> Any:
    """The running loop's kept-open session for ``endpoint``'s settings (created if needed)."""
    import aiohttp
    from rasa.utils.endpoints import DEFAULT_REQUEST_TIMEOUT

    loop = asyncio.get_running_loop()
    by_settings = _sessions.setdefault(loop, {})
    key = _settings(endpoint)
    session = by_settings.get(key)
    if session is None or session.closed:
        auth = None
        if endpoint.basic_auth:  # as Rasa's EndpointConfig.session()
            auth = aiohttp.BasicAuth(
                endpoint.basic_auth["username"], endpoint.basic_auth["password"]
            )
        session = aiohttp.ClientSession(
            headers=endpoint.headers,
            auth=auth,
            timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
            connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=KEEPALIVE_SECONDS),
        )
        by_settings[key] = session
    return session


class _KeptSession:
    """Returned by ``EndpointConfig.session()``: ``async with`` yields the shared session and
    leaves it open."""

    def __init__(self, endpoint: Any) -> None:
        self._endpoint = endpoint

    async def __aenter__(self) -> Any:
        return shared_session(self._endpoint)

    async def __aexit__(self, *exc_info: Any) -> None:
        return None


def session(self: Any) -> _KeptSession:
    """Replacement for ``EndpointConfig.session`` (used as ``async with endpoint.session()``)."""
    return _KeptSession(self)


async def close_sessions(loop: Optional[asyncio.AbstractEventLoop] = None) -> int:
    """Close the sessions of ``loop`` (default: the running one); how many were open."""
    loop = loop or asyncio.get_running_loop()
    closed = 0
    for open_session in list(_sessions.pop(loop, {}).values()):
        if not open_session.closed:
            await open_session.close()
            closed += 1
    return closed


def install() -> None:
    """Point ``EndpointConfig.session`` at the shared sessions (idempotent)."""
    import rasa.core.run
    from rasa.utils.endpoints import EndpointConfig

    if EndpointConfig.session is session:
        return
    EndpointConfig.session = session
    original_close = rasa.core.run.close_resources

    async def close_resources(app: Any, loop: Any) -> None:
        try:
            await original_close(app, loop)
        finally:
            await close_sessions()

    close_resources.__doc__ = original_close.__doc__
    rasa.core.run.close_resources = close_resources

"""clinic_runtime.keepalive_actions: action-server calls reuse connections, nothing else changes.

A small aiohttp server on 127.0.0.1 stands in for the action server and counts the TCP
connections it accepts.
"""

import asyncio
from typing import Any, Dict, List, Optional, Set

import pytest
from aiohttp import web
from rasa.utils.endpoints import ClientResponseError, EndpointConfig

from clinic_runtime import keepalive_actions


class FakeActionServer:
    def __init__(self) -> None:
        self.connections: Set[Any] = set()
        self.seen_headers: List[Dict[str, str]] = []
        self.runner: Optional[web.AppRunner] = None
        self.port: Optional[int] = None

    async def start(self, port: int = 0) -> None:
        async def webhook(request: web.Request) -> web.Response:
            assert request.transport is not None
            self.connections.add(request.transport.get_extra_info("peername"))
            self.seen_headers.append(dict(request.headers))
            body = await request.json()
            if body.get("fail"):
                return web.Response(status=500, text="boom")
            return web.json_response({"events": [], "responses": [{"text": body["n"]}]})

        app = web.Application()
        app.router.add_post("/webhook", webhook)
        runner = self.runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", port)
        await site.start()
        self.port = runner.addresses[0][1]

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


@pytest.fixture
def installed(runtime_changes):
    runtime_changes("keepalive_actions")  # undone after the test


async def test_calls_share_one_connection_and_answer_as_before(installed):
    server = FakeActionServer()
    await server.start()
    endpoint = EndpointConfig(
        f"http://127.0.0.1:{server.port}/webhook",
        headers={"X-Clinic": "yes"},
        basic_auth={"username": "u", "password": "p"},
    )
    try:
        answers = [await endpoint.request(json={"n": str(n)}) for n in range(5)]
        assert [a["responses"][0]["text"] for a in answers] == ["0", "1", "2", "3", "4"]
        assert len(server.connections) == 1
        assert all(
            h.get("X-Clinic") == "yes" and h.get("Authorization", "").startswith("Basic ")
            for h in server.seen_headers
        )
        with pytest.raises(ClientResponseError):  # Rasa's own error handling is unchanged
            await endpoint.request(json={"fail": True})
    finally:
        assert await keepalive_actions.close_sessions() == 1
        await server.stop()


async def test_a_restarted_action_server_is_reached_on_a_new_connection(installed):
    server = FakeActionServer()
    await server.start()
    port = server.port
    endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook")
    try:
        assert (await endpoint.request(json={"n": "a"}))["responses"][0]["text"] == "a"
        await server.stop()
        server = FakeActionServer()
        await server.start(port)
        assert (await endpoint.request(json={"n": "b"}))["responses"][0]["text"] == "b"
    finally:
        await keepalive_actions.close_sessions()
        await server.stop()


async def test_idle_connections_are_dropped_before_the_servers_timeout(installed):
    assert keepalive_actions.KEEPALIVE_SECONDS < 5  # Sanic's keep-alive timeout (action server)


async def test_sessions_close_with_rasas_clean_up(installed):
    import rasa.core.run

    server = FakeActionServer()
    await server.start()
    endpoint = EndpointConfig(f"http://127.0.0.1:{server.port}/webhook")
    try:
        await endpoint.request(json={"n": "x"})
        session = keepalive_actions.shared_session(endpoint)
        assert not session.closed

        class App:  # what close_resources reads from Sanic's app: nothing to close
            class ctx:
                agent = None

        await rasa.core.run.close_resources(App(), asyncio.get_running_loop())
        assert session.closed
    finally:
        await server.stop()

"""The scaled setup's lock store: a dead server's ticket must not block a conversation forever.

Against a real redis-server on 127.0.0.1 (Debian's redis-server, installed by make setup-dev).
"""

import asyncio
import subprocess
import time
from typing import Iterator

import pytest
from rasa.core.lock import TicketLock
from rasa.core.lock_store import RedisLockStore

from clinic_runtime.lock_store import CrashSafeRedisLockStore
from clinic_scaled.packages import find_program
from clinic_scaled.processes import free_port, port_open

LIFETIME = 2.0  # seconds; the scaled setup uses TICKET_LOCK_LIFETIME=10


@pytest.fixture(scope="module")
def redis_port() -> Iterator[int]:
    program = find_program("redis-server")
    if program is None:
        pytest.fail("redis-server is missing: make setup-dev installs it")
    port = free_port()
    server = subprocess.Popen(
        [program, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not port_open(port) and time.monotonic() < deadline:
            time.sleep(0.05)
        yield port
    finally:
        server.terminate()
        server.wait(10)


def leave_dead_ticket(store: RedisLockStore, conversation: str) -> None:
    """What a Rasa server killed mid-message leaves behind: a ticket nobody will finish."""
    lock = TicketLock(conversation)
    lock.issue_ticket(LIFETIME)
    store.save_lock(lock)


async def take_lock(store: RedisLockStore, conversation: str) -> float:
    started = time.monotonic()
    async with store.lock(conversation, lock_lifetime=LIFETIME):
        return time.monotonic() - started


async def test_rasas_own_store_waits_forever_behind_a_dead_ticket(redis_port: int) -> None:
    # Documents the Rasa 3.6 behaviour the fix exists for.
    store = RedisLockStore(host="127.0.0.1", port=redis_port, key_prefix="rasa")
    leave_dead_ticket(store, "stuck")
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(take_lock(store, "stuck"), timeout=3 * LIFETIME)
    store.delete_lock("stuck")


async def test_our_store_serves_the_conversation_once_the_dead_ticket_expires(
    redis_port: int,
) -> None:
    store = CrashSafeRedisLockStore(host="127.0.0.1", port=redis_port, key_prefix="clinic")
    leave_dead_ticket(store, "crashed")
    # Not forever (Rasa's own store, above, times out here), and not before the ticket expired.
    # No upper bound beyond that: how soon after expiry it gets the lock depends on the machine.
    waited = await asyncio.wait_for(take_lock(store, "crashed"), timeout=3 * LIFETIME)
    assert waited >= LIFETIME - 0.5
    assert store.get_lock("crashed") is None  # our ticket was cleaned up, nothing left behind


async def test_messages_of_one_conversation_still_take_turns(redis_port: int) -> None:
    store = CrashSafeRedisLockStore(host="127.0.0.1", port=redis_port, key_prefix="clinic")
    inside = []

    async def message(number: int) -> None:
        async with store.lock("busy", lock_lifetime=LIFETIME, wait_time_in_seconds=0.05):
            inside.append(number)
            assert len(inside) == 1  # nobody else inside at the same time
            await asyncio.sleep(0.1)
            inside.remove(number)

    await asyncio.gather(*(message(n) for n in range(5)))


def test_rasa_builds_it_from_the_scaled_endpoints_file(redis_port: int, monkeypatch) -> None:
    from rasa.core.lock_store import LockStore
    from rasa.utils.endpoints import read_endpoint_config

    from clinic_scaled.stack import ENDPOINTS

    monkeypatch.setenv("CLINIC_REDIS_HOST", "127.0.0.1")
    monkeypatch.setenv("CLINIC_REDIS_PORT", str(redis_port))
    for name in [
        "ACTION_ENDPOINT_URL",
        "CLINIC_PG_HOST",
        "CLINIC_PG_PORT",
        "CLINIC_PG_DB",
        "CLINIC_PG_USER",
        "CLINIC_PG_PASSWORD",
    ]:
        monkeypatch.setenv(name, "x")
    store = LockStore.create(read_endpoint_config(str(ENDPOINTS), "lock_store"))
    assert isinstance(store, CrashSafeRedisLockStore)
    assert store.key_prefix.startswith("clinic:")

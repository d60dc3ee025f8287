"""Rasa's Redis lock store, fixed for a server that dies while it holds a conversation.

Referenced from endpoints-scaled.yml the Rasa way (``lock_store: type:
clinic_runtime.lock_store.CrashSafeRedisLockStore``); everything else is Rasa's own.

Why: Rasa 3.6 serves a conversation's messages one at a time with numbered tickets that
expire after ``TICKET_LOCK_LIFETIME`` seconds. When a Rasa server is killed while it holds
a ticket, the next message of that conversation (nginx sends it to another server) waits
behind the dead ticket. Both tickets have the same lifetime and were issued milliseconds
apart, so the waiter's own ticket usually expires in the same one-second polling gap as the
dead one; Rasa's loop then waits for a ticket that no longer exists, forever, and the
visitor gets a timeout (measured: 60 s, then "please try again"). Here a waiter whose
ticket expired takes a new one and goes on waiting in turn, so the message is answered as
soon as the dead ticket expires.
"""

import asyncio
import logging
from contextlib import asynccontextmanager
from typing import Any, AsyncGenerator, Optional

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

logger = logging.getLogger(__name__)


class CrashSafeRedisLockStore(RedisLockStore):
    """``RedisLockStore`` whose waiters survive the expiry of their own ticket."""

    def __init__(self, endpoint_config: Optional[EndpointConfig] = None, **kwargs: Any):
        """Built by Rasa from endpoints.yml (``endpoint_config``) or directly (tests)."""
        if endpoint_config is not None:
            kwargs = {"host": endpoint_config.url, **endpoint_config.kwargs, **kwargs}
        super().__init__(**kwargs)

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: str,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = 1,
    ) -> AsyncGenerator[TicketLock, None]:
        """Rasa's ``LockStore.lock``, re-queuing when our ticket expired while waiting."""
        ticket = self.issue_ticket(conversation_id, lock_lifetime)
        try:
            while True:
                lock = self.get_lock(conversation_id)
                if not lock:  # as Rasa: the lock was deleted under us
                    raise LockError(
                        f"Could not acquire lock for conversation_id '{conversation_id}'."
                    )
                if not lock.is_locked(ticket):  # also drops expired tickets
                    break
                if all(queued.number != ticket for queued in lock.tickets):
                    logger.warning(
                        "Lock ticket %s of conversation %s expired while waiting (a server "
                        "holding it may have died); queuing again.",
                        ticket,
                        conversation_id,
                    )
                    ticket = self.issue_ticket(conversation_id, lock_lifetime)
                    continue
                await asyncio.sleep(wait_time_in_seconds)
                self.update_lock(conversation_id)
            yield lock
        finally:
            self.cleanup(conversation_id, ticket)

"""Per-key rate limiting: in the Rasa server's memory, or shared in Redis.

One limiter counts messages per conversation (sender id), another requests per client
address. By default the counts live in the process: they reset on restart, which is
enough to stop a stuck script or a visitor holding down Enter. With several Rasa
processes behind a load balancer each would count alone, so the scaled setup sets
``rate_limit_redis_url`` and :class:`SharedWindowLimiter` counts in Redis instead.
"""

import logging
import time
from collections import OrderedDict, deque
from typing import Any, Callable, Deque, Optional

logger = logging.getLogger(__name__)

# Oldest keys are dropped beyond this, so a flood of random sender ids cannot grow
# memory without bound (each key costs at most `limit` floats).
MAX_TRACKED_KEYS = 10_000


class SlidingWindowLimiter:
    """Allows at most ``limit`` events per key within any ``window_seconds``."""

    def __init__(
        self,
        limit: int,
        window_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = MAX_TRACKED_KEYS,
    ) -> None:
        """Create a limiter; ``limit`` 0 disables it (every event is allowed)."""
        self.limit = limit
        self.window_seconds = window_seconds
        self._clock = clock
        self._max_keys = max_keys
        self._events: OrderedDict[str, Deque[float]] = OrderedDict()

    def hit(self, key: str) -> bool:
        """Record one event for ``key``; False (nothing recorded) if over the limit."""
        if self.limit <= 0:
            return True
        now = self._clock()
        events = self._events.get(key)
        if events is None:
            events = self._events[key] = deque()
            self._evict_oldest_keys()
        else:
            self._events.move_to_end(key)
        while events and events[0] <= now - self.window_seconds:
            events.popleft()
        if len(events) >= self.limit:
            return False
        events.append(now)
        return True

    def retry_after(self, key: str) -> int:
        """Whole seconds until ``key`` may send again (at least 1)."""
        events = self._events.get(key)
        if not events:
            return 1
        wait = events[0] + self.window_seconds - self._clock()
        return max(1, int(wait + 0.999))

    def __len__(self) -> int:
        return len(self._events)

    def _evict_oldest_keys(self) -> None:
        while len(self._events) > self._max_keys:
            self._events.popitem(last=False)


class SharedWindowLimiter:
    """The same limit counted in Redis, so that several Rasa processes share one count.

    Used when ``rate_limit_redis_url`` is set (the scaled setup, docs/deploy.md). Each key
    gets a counter per fixed window (``INCR`` + ``EXPIRE`` in one round trip), which is
    atomic across processes; a fixed window lets a burst of at most twice the limit
    through at a window edge, which is acceptable for a politeness limit. When Redis
    cannot be reached the in-process ``fallback`` limiter decides, so an outage of the
    lock store's Redis never refuses visitors because of the rate limit alone.
    """

    def __init__(
        self,
        client: Any,
        name: str,
        limit: int,
        window_seconds: float,
        fallback: SlidingWindowLimiter,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``client`` is a ``redis.asyncio.Redis``; ``name`` separates the limiters."""
        self.client = client
        self.name = name
        self.limit = limit
        self.window_seconds = max(1, int(window_seconds))
        self.fallback = fallback
        self._clock = clock
        self._redis_failing = False

    async def allow(self, key: str) -> Optional[int]:
        """None when ``key`` may go on, else the seconds to wait (at least 1)."""
        if self.limit <= 0:
            return None
        now = self._clock()
        window = int(now // self.window_seconds)
        redis_key = f"clinic:rate:{self.name}:{key}:{window}"
        try:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.incr(redis_key)
                pipe.expire(redis_key, self.window_seconds + 1)
                count, _ = await pipe.execute()
        except Exception as error:  # redis.ConnectionError, TimeoutError, ...
            if not self._redis_failing:
                logger.warning(
                    "website channel: rate limits counted per process, Redis is unreachable (%s)",
                    error,
                )
                self._redis_failing = True
            return await allow_in_process(self.fallback, key)
        if self._redis_failing:
            logger.info("website channel: rate limits shared in Redis again")
            self._redis_failing = False
        if int(count) > self.limit:
            return max(1, int((window + 1) * self.window_seconds - now + 0.999))
        return None


async def allow_in_process(limiter: SlidingWindowLimiter, key: str) -> Optional[int]:
    """The in-process limiter behind the same interface as :class:`SharedWindowLimiter`."""
    if limiter.hit(key):
        return None
    return limiter.retry_after(key)

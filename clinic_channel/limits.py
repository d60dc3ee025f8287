"""Per-key sliding-window rate limiting, kept in the Rasa server's memory.

One limiter counts messages per conversation (sender id), another requests per client
address. The counts live in the process: they reset on restart and are not shared
between several Rasa processes, which is enough to stop a stuck script or a visitor
holding down Enter; a public deployment behind a proxy can add a limit there too.
"""

import time
from collections import OrderedDict, deque
from typing import Callable, Deque

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
        self._events: "OrderedDict[str, Deque[float]]" = OrderedDict()

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

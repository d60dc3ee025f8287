"""Rate limit on failed logins: per address, and for everyone together.

After ``per_address`` failed attempts from one address within ``window_seconds``, that
address may not try again until the oldest failure leaves the window; after ``overall``
failures from all addresses together, nobody may (a guess spread over many addresses).
A successful login clears its address's failures. The password check itself is slow on
purpose (:mod:`clinic_staff.passwords`), which limits guessing further.
"""

import threading
import time
from collections import deque
from typing import Callable, Deque, Dict

PER_ADDRESS = 5
OVERALL = 50
WINDOW_SECONDS = 15 * 60


class LoginLimiter:
    """Counts failed logins in a sliding window."""

    def __init__(
        self,
        per_address: int = PER_ADDRESS,
        overall: int = OVERALL,
        window_seconds: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._per_address = per_address
        self._overall = overall
        self._window = window_seconds
        self._clock = clock
        self._failures: Dict[str, Deque[float]] = {}
        self._all: Deque[float] = deque()
        self._lock = threading.Lock()

    def wait_seconds(self, address: str) -> float:
        """How long ``address`` must wait before trying again (0: it may try now)."""
        now = self._clock()
        with self._lock:
            self._drop_old(now)
            waits = [0.0]
            mine = self._failures.get(address)
            if mine and len(mine) >= self._per_address:
                waits.append(mine[0] + self._window - now)
            if len(self._all) >= self._overall:
                waits.append(self._all[0] + self._window - now)
            return max(waits)

    def failed(self, address: str) -> None:
        """Count one failed login from ``address``."""
        now = self._clock()
        with self._lock:
            self._failures.setdefault(address, deque()).append(now)
            self._all.append(now)

    def succeeded(self, address: str) -> None:
        """Forget ``address``'s failures."""
        with self._lock:
            self._failures.pop(address, None)

    def _drop_old(self, now: float) -> None:
        limit = now - self._window
        while self._all and self._all[0] <= limit:
            self._all.popleft()
        for address in list(self._failures):
            times = self._failures[address]
            while times and times[0] <= limit:
                times.popleft()
            if not times:
                del self._failures[address]

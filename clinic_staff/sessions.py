"""Staff logins: random session tokens kept in this process's memory, that expire.

A session ends after ``idle_seconds`` without a request and after ``max_seconds`` in any
case; restarting the staff server ends every session (log in again). Each session has its
own CSRF token, which every form of the page sends back. Before login, a *login token*
(a cookie and the same value in the login form) protects the login form the same way.
"""

import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

TOKEN_BYTES = 32


@dataclass
class Session:
    """One logged-in person."""

    token: str
    name: str
    csrf: str
    created: float
    last_seen: float
    notices: List[str] = field(default_factory=list)  # shown once on the next page


class SessionStore:
    """Sessions by token, with idle and absolute expiry."""

    def __init__(
        self, idle_seconds: float, max_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._idle = idle_seconds
        self._max = max_seconds
        self._clock = clock
        self._sessions: Dict[str, Session] = {}
        self._lock = threading.Lock()

    def create(self, name: str) -> Session:
        """A new session for ``name`` (who is doing what on the page)."""
        now = self._clock()
        session = Session(
            token=secrets.token_urlsafe(TOKEN_BYTES),
            name=name,
            csrf=secrets.token_urlsafe(TOKEN_BYTES),
            created=now,
            last_seen=now,
        )
        with self._lock:
            self._forget_expired(now)
            self._sessions[session.token] = session
        return session

    def get(self, token: Optional[str]) -> Optional[Session]:
        """The live session with this token (its idle time restarts), or ``None``."""
        if not token:
            return None
        now = self._clock()
        with self._lock:
            session = self._sessions.get(token)
            if session is None or self._expired(session, now):
                self._sessions.pop(token, None)
                return None
            session.last_seen = now
            return session

    def end(self, token: Optional[str]) -> None:
        """Log out."""
        with self._lock:
            self._sessions.pop(token or "", None)

    def _expired(self, session: Session, now: float) -> bool:
        return now - session.last_seen > self._idle or now - session.created > self._max

    def _forget_expired(self, now: float) -> None:
        for token in [t for t, s in self._sessions.items() if self._expired(s, now)]:
            del self._sessions[token]


def new_login_token() -> str:
    """A random token for the login form (cookie + hidden field)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def same_token(expected: Optional[str], given: Optional[str]) -> bool:
    """Constant-time comparison; missing tokens never match."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))

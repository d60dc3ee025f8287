"""The headers every staff response carries, and the same-origin check on every POST.

No script runs on the page at all (the Content-Security-Policy allows none), styles come
from the page's own stylesheet only, the page cannot be framed, and nothing is cached.
"""

from typing import Dict, Optional
from urllib.parse import urlsplit

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "style-src 'self'",
        "img-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    )
)
HEADERS: Dict[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def same_origin(origin: Optional[str], referer: Optional[str], own_origin: str) -> bool:
    """Whether a POST comes from the page itself.

    Browsers send ``Origin`` with every POST; ``Referer`` is the fallback for the few that
    do not. Neither (or another site) means refuse.
    """
    if origin and origin != "null":
        return origin.rstrip("/") == own_origin
    if referer:
        parts = urlsplit(referer)
        return f"{parts.scheme}://{parts.netloc}" == own_origin
    return False

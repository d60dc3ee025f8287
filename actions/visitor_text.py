"""Visitor text made safe to store, echo and send: markup removed, blanks collapsed; and
whether it is a button payload.

Everything a visitor typed that the assistant repeats back or puts in a request goes through
:func:`plain_text` (names, contact, times, topics, transcripts), so a request whose fields hold
``<b>Jane</b><script>...</script>`` is stored and delivered as harmless text.
"""

import html
import re

MARKUP = re.compile(r"<\s*/?\s*[a-zA-Z!][^>]*>|&[a-zA-Z]+;|&#\d+;")
PAYLOAD = re.compile(r"^/[A-Za-z0-9_+-]+$")


def plain_text(text: object) -> str:
    """The text without markup (tags dropped, entities decoded, stray < > removed)."""
    unescaped = html.unescape(str(text or ""))
    without_tags = MARKUP.sub(" ", html.unescape(MARKUP.sub(" ", unescaped)))
    without_brackets = without_tags.replace("<", " ").replace(">", " ")
    return " ".join(without_brackets.split())


def has_markup(text: str) -> bool:
    """True when the visitor typed HTML-like markup (or angle brackets)."""
    return bool(MARKUP.search(text or "")) or "<" in (text or "") or ">" in (text or "")


def is_payload(text: str) -> bool:
    """A button payload such as "/deny" (typed or clicked)."""
    return bool(PAYLOAD.match((text or "").strip()))

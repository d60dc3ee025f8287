"""The one matcher for reassurance phrases ("it's safe", "you'll be fine").

Used by the reply guard (actions/safety.py, and through it the website channel) and by the
checks of the staff-editable replies (clinic_content/contraindications_check.py, `make check`), so
the two can never disagree: both see "It‘s  SAFE" and "its safe" as "it's safe". Pure text,
no spaCy.
"""

from __future__ import annotations

import functools
import re
from typing import List, Optional, Sequence, Tuple

# Apostrophes and quotes visitors' keyboards and staff editors produce, as a straight "'".
_APOSTROPHES = str.maketrans(
    {
        "\u2019": "'",
        "\u2018": "'",
        "\u02bc": "'",
        "\u2032": "'",
        "`": "'",
        "\u00b4": "'",
        "\u201b": "'",
    }
)


def normalise(text: str) -> str:
    """Lower case, no apostrophes of any style ("it’s" and "its" alike), one space between
    words (any kind of blank)."""
    straight = str(text or "").translate(_APOSTROPHES).lower().replace("'", "")
    return " ".join(straight.split())


@functools.lru_cache(maxsize=16)
def _pattern(phrases: Tuple[str, ...]) -> re.Pattern[str]:
    normalised = sorted({normalise(p) for p in phrases if normalise(p)}, key=len, reverse=True)
    if not normalised:
        return re.compile(r"(?!)")  # matches nothing
    alternatives = "|".join(re.escape(p).replace(r"\ ", r"\s+") for p in normalised)
    # Letters decide word edges, as the guard always did: "safe for you100%" holds "safe for you".
    return re.compile(r"(?<![^\W\d_])(?:" + alternatives + r")(?![^\W\d_])")


def find_all(text: str, phrases: Sequence[str]) -> List[str]:
    """Every phrase of ``phrases`` that occurs in ``text`` as whole words (any case, quotes,
    spacing), in the order of ``phrases``."""
    normalised = normalise(text)
    if not _pattern(tuple(phrases)).search(normalised):
        return []
    return [p for p in phrases if _pattern((p,)).search(normalised)]


def find_first(text: str, phrases: Sequence[str]) -> Optional[str]:
    """The first phrase of ``phrases`` found in ``text``, or None (see :func:`find_all`)."""
    normalised = normalise(text)
    if not _pattern(tuple(phrases)).search(normalised):
        return None
    return next((p for p in phrases if _pattern((p,)).search(normalised)), None)

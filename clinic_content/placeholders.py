"""Fills the ``{name}`` placeholders of a staff-written message: the one renderer.

Every place that fills a message from ``data/content/`` calls :func:`render`. Unlike
``str.format`` it cannot fail on what staff write:

- ``{name}`` is filled only when ``name`` is declared for that message
  (``clinic_content.placeholder_names``) and the code handed over a value;
- any other ``{word}`` is a typo: when it plainly means one declared name (``{condition}`` for
  ``{conditions}``, ``{ref}`` for ``{reference}``: the "Did you mean" of `make check`) it is
  filled as that name, so the visitor still gets their conditions or reference; otherwise it is
  left out and the spaces around it tidied. Either way an error in the log names the file and
  message, and the rest of the text, including all safety wording, is sent as written;
- any other curly bracket ("{see below}", a lone "}") is ordinary text.

`make check` refuses all three cases (``clinic_content.placeholder_check``), so in practice only a
file that skipped the check reaches the fallbacks.
"""

import difflib
import functools
import logging
import re
from typing import Any, Mapping, Optional, Tuple

from clinic_content.placeholder_names import declared

logger = logging.getLogger(__name__)

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
# After a left-out placeholder, no space is kept before these.
_CLOSING = (",", ".", ";", ":", "!", "?", ")")
Where = Tuple[str, str]  # (file name, key), e.g. ("messages.yml", "safety_reminder")


def render(template: str, values: Mapping[str, Any], *, where: Where) -> str:
    """``template`` with its declared placeholders filled from ``values``; never raises.

    ``where`` names the message: its file and key as declared in
    ``clinic_content.placeholder_names``. A value of None is shown as nothing (never the word
    "None").
    """
    template = str(template or "")
    if "{" not in template:
        return template
    allowed = declared(*where).may
    text = ""
    position = 0
    for match in PLACEHOLDER.finditer(template):
        text += template[position : match.start()]
        position = match.end()
        name = match.group(1)
        meant = name if name in allowed else closest(name, allowed)
        filled = meant is not None and meant in values
        if meant != name or not filled:
            _report(where, name, meant if filled else None)
        if filled and meant is not None:
            value = values[meant]
            text += "" if value is None else str(value)
            continue
        following = template[position : position + 1]
        if not following or following.isspace() or following in _CLOSING:
            text = text.rstrip()  # "mentioned {x}, please" -> "mentioned, please"
        if (not text.strip() or text.endswith("(")) and following.isspace():
            position += 1  # "{x} is ..." at the start -> "is ..."
    return text + template[position:]


def closest(name: str, names: Tuple[str, ...]) -> Optional[str]:
    """The declared name a typo plainly means: a close spelling ({condition}, {lable}), or the
    shortest name it begins ({ref} -> {reference}); None when there is no such name."""
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    if close:
        return close[0]
    longer = sorted(
        (n for n in names if len(name) >= 3 and n.lower().startswith(name.lower())), key=len
    )
    return longer[0] if longer else None


@functools.lru_cache(maxsize=256)
def _report(where: Where, name: str, filled_as: Optional[str]) -> None:
    """Log each broken placeholder once per process (a safety reminder repeats every turn)."""
    file_name, key = where
    may = declared(file_name, key).may
    if name in may:
        logger.error(
            "%s: %s uses {%s}, but the code gave no value for it; sent without it",
            file_name,
            key,
            name,
        )
        return
    allowed = ", ".join(f"{{{n}}}" for n in may) or "no placeholders"
    outcome = f"filled as {{{filled_as}}}" if filled_as else "sent without it"
    logger.error(
        "%s: %s uses {%s}, which it may not use (it may use %s); %s. Run `make check`.",
        file_name,
        key,
        name,
        allowed,
        outcome,
    )

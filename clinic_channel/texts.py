"""The channel's visitor-facing texts, read from ``data/content/messages.yml``.

Read with the file's loader (``clinic_content.messages.read_texts``, the same YAML reading the
actions and `make check` use), taking only the texts: a file that lacks an action's message or
has a mistyped placeholder still gives the channel its few texts (filled by the one renderer).
Clinic staff edit that file; the channel re-reads it when it changes on disk
(``clinic_common.file_watch``), so a wording change needs no restart. A broken edit keeps the last
good wording (and is logged); only when the file has never been readable does the channel
fall back to a neutral code such as ``[too_long]``, so no answer text lives in Python.
"""

import logging
import os
from pathlib import Path
from typing import Dict, Optional, Set

from clinic_common.file_watch import ValueFromFiles
from clinic_content.errors import ContentLoadError
from clinic_content.messages import read_texts
from clinic_content.paths import MESSAGES_FILE
from clinic_content.placeholders import render

logger = logging.getLogger(__name__)

PROJECT_DIR = Path(__file__).resolve().parent.parent
# The same variable the action server uses for the content folder.
ENV_CONTENT_DIR = "CLINIC_CONTENT_DIR"

TOO_LONG = "too_long"
RATE_LIMITED = "rate_limited"
ERROR_TRY_AGAIN = "error_try_again"


def default_messages_path() -> Path:
    """``$CLINIC_CONTENT_DIR/messages.yml``, else ``data/content/messages.yml``."""
    folder = os.environ.get(ENV_CONTENT_DIR, "").strip()
    return Path(folder or PROJECT_DIR / "data" / "content") / MESSAGES_FILE


class ChannelTexts:
    """Serves texts from ``messages.yml``, reloading it when it changes on disk."""

    def __init__(self, path: Optional[Path] = None) -> None:
        """Use ``path``, or :func:`default_messages_path` when not given."""
        self.path = Path(path) if path else default_messages_path()
        self._texts: ValueFromFiles[Dict[str, str]] = ValueFromFiles(
            self.path, lambda: read_texts(self.path), errors=(ContentLoadError,)
        )
        self._reported: Set[str] = set()

    def get(self, key: str, **values: object) -> str:
        """The text for ``key`` with ``{name}`` placeholders filled in.

        Filled by the one renderer (clinic_content.placeholders): a stray brace or an unknown
        placeholder written by staff cannot break the reply.
        """
        self._reload_if_changed()
        texts = self._texts.value if self._texts.loaded else {}
        text = texts.get(key)
        if text is None:
            self._report(f"{self.path}: no text for '{key}'; sending the code instead")
            return f"[{key}]"
        filled = render(text, values, where=(MESSAGES_FILE, key))
        if not filled.strip():  # nothing but a placeholder that could not be filled
            self._report(f"{self.path}: '{key}' is empty once filled; sending the code instead")
            return f"[{key}]"
        return filled

    def _reload_if_changed(self) -> None:
        reload = self._texts.refresh()
        if reload is None:
            return
        if reload.error is not None:
            problems = getattr(reload.error, "errors", ())
            problem = "; ".join(p.message for p in problems) or reload.error
            self._report(f"{self.path}: cannot read ({problem}); keeping the last good wording")
            return
        self._reported.clear()
        logger.info("website channel: %d texts from %s", len(self._texts.value), self.path)

    def _report(self, problem: str) -> None:
        """Log each problem once (until the file loads again), not on every message."""
        if problem not in self._reported:
            self._reported.add(problem)
            logger.error("website channel: %s", problem)

"""The words of the request e-mail (and the staff page's request labels): ``data/content/email.yml``.

Staff edit that file; this module reads and checks it. :func:`load_email_template` returns an
:class:`EmailTemplate` or raises :class:`EmailTemplateError` listing every problem as
``file:line: what``. :class:`EmailTemplateStore` reads the file again when it changed and
keeps the last correct version while it is broken (as :class:`actions.content.ContentStore`
does for the other content files).

Placeholders are ``{name}``-style words from :data:`PLACEHOLDERS` (declared with every other
message's in ``actions.placeholder_names``), filled by :meth:`EmailTemplate.fill` with the one
renderer (``actions.placeholders``): a typo is left out and logged (and ``make check`` names
it), so it never breaks an e-mail and no attribute of anything can be reached.
"""

import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

from actions.content import CONTENT_DIR, ContentError, check_placeholders, read_yaml
from actions.placeholder_names import declared
from actions.placeholders import render

logger = logging.getLogger(__name__)

EMAIL_FILE = "email.yml"
PLACEHOLDERS = declared(EMAIL_FILE, "subject").may
TEXT_KEYS = ("subject", "not_given", "transcript_heading", "reference_line")
LINE_LIST_KEYS = ("intro", "footer")
LABEL_KEYS = ("kinds", "fields", "speakers")
# Optional label lists: why a hand-off request was made.
OPTIONAL_LABEL_KEYS = ("reasons",)
KNOWN_KEYS = TEXT_KEYS + LINE_LIST_KEYS + LABEL_KEYS + OPTIONAL_LABEL_KEYS


class EmailTemplateError(ValueError):
    """``email.yml`` is missing or malformed; ``problems`` lists every ``file:line: what``."""

    def __init__(self, problems: List[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass(frozen=True)
class EmailTemplate:
    """The checked contents of ``email.yml``."""

    subject: str
    intro: Tuple[str, ...]
    kinds: Mapping[str, str]
    fields: Mapping[str, str]  # in the order staff listed them
    not_given: str
    transcript_heading: str
    speakers: Mapping[str, str]
    reference_line: str
    footer: Tuple[str, ...] = field(default_factory=tuple)
    reasons: Mapping[str, str] = field(default_factory=dict)

    def reason_label(self, reason: str) -> str:
        """Why a hand-off request was made, as staff read it (its name when not listed)."""
        return self.reasons.get(reason) or reason.replace("_", " ")

    def kind_label(self, kind: str) -> str:
        """What a kind of request is called (its name when ``kinds`` has no label)."""
        return self.kinds.get(kind) or kind.replace("_", " ").capitalize()

    def field_label(self, name: str) -> str:
        """What a detail is called (its name when ``fields`` has no label)."""
        return self.fields.get(name) or name

    def speaker(self, sender: str) -> str:
        """Who said a line of the transcript."""
        return self.speakers.get(sender) or sender

    @staticmethod
    def fill(text: str, values: Mapping[str, str], key: str) -> str:
        """``text`` (the line of ``key``: "subject", "intro[]"...) with its placeholders filled."""
        return render(text, values, where=(EMAIL_FILE, key))


def load_email_template(content_dir: Path = CONTENT_DIR) -> EmailTemplate:
    """Read and check ``email.yml`` in ``content_dir``.

    Raises:
        EmailTemplateError: The file is missing, not YAML, or a key is missing or malformed.
    """
    path = Path(content_dir) / EMAIL_FILE
    errors: List[ContentError] = []
    data = read_yaml(path, errors)
    if errors:
        raise EmailTemplateError([error.describe() for error in errors])
    problems: List[str] = []

    def problem(key: Optional[str], message: str) -> None:
        line = data.key_line(key) if key is not None and hasattr(data, "key_line") else None
        problems.append(ContentError(path, line, message).describe())

    if not isinstance(data, dict):
        raise EmailTemplateError([ContentError(path, None, "expected the e-mail settings "
                                               "(subject:, intro:, kinds:, fields:, ...)")
                                  .describe()])
    for key in sorted(set(map(str, data)) - set(KNOWN_KEYS)):
        problem(key, f"unknown key '{key}' (known: {', '.join(KNOWN_KEYS)})")
    values: Dict[str, Any] = {}
    for key in TEXT_KEYS:
        value = data.get(key)
        if not isinstance(value, str) or not value.strip():
            problem(key if key in data else None, f"'{key}' must be a text")
        else:
            values[key] = value.strip()
    for key in LINE_LIST_KEYS:
        value = data.get(key)
        if value is None:
            values[key] = ()
        elif not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            problem(key, f"'{key}' must be a list of lines, each in double quotes")
        else:
            values[key] = tuple(line.strip() for line in value if line.strip())
    for key in OPTIONAL_LABEL_KEYS:
        value = data.get(key)
        if value is not None and not (isinstance(value, dict) and all(
                isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in value.items())):
            problem(key, f"'{key}' must be a list of 'name: label' lines, each label a text")
        elif value is not None:
            values[key] = {k: v.strip() for k, v in value.items()}
    for key in LABEL_KEYS:
        value = data.get(key)
        if not isinstance(value, dict) or not all(
                isinstance(k, str) and isinstance(v, str) and v.strip()
                for k, v in value.items()):
            problem(key if key in data else None,
                    f"'{key}' must be a list of 'name: label' lines, each label a text")
        else:
            values[key] = {k: v.strip() for k, v in value.items()}
    placeholders: List[ContentError] = []
    check_placeholders(data, path, placeholders)
    problems += [error.describe() for error in placeholders]
    if problems:
        raise EmailTemplateError(problems)
    return EmailTemplate(**values)


class EmailTemplateStore:
    """The template, read again when the file changed; the last correct one while it is broken."""

    def __init__(self, content_dir: Path = CONTENT_DIR) -> None:
        self.content_dir = Path(content_dir)
        self._lock = threading.Lock()
        self._version: Optional[Tuple[int, int, int]] = None
        self._template: Optional[EmailTemplate] = None
        self._problem: Optional[str] = None

    def get(self) -> EmailTemplate:
        """The current template.

        Raises:
            EmailTemplateError: The file is broken and no correct version was read before.
        """
        path = self.content_dir / EMAIL_FILE
        try:
            status = os.stat(path)
            version: Optional[Tuple[int, int, int]] = (
                status.st_mtime_ns, status.st_size, status.st_ino)
        except OSError:
            version = None
        with self._lock:
            if version is None or version != self._version:
                try:
                    self._template = load_email_template(self.content_dir)
                    self._problem = None
                except EmailTemplateError as error:
                    if str(error) != self._problem:
                        logger.error("E-mail template broken (using the last correct one, "
                                     "if any): %s", error)
                    self._problem = str(error)
                    if self._template is None:
                        raise
                self._version = version
            assert self._template is not None
            return self._template

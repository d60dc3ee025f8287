"""The words of the request e-mail (and the staff page's request labels):
``data/content/email.yml``.

Staff edit that file; this module reads and checks it. :func:`load_email_template` returns an
:class:`EmailTemplate` or raises :class:`EmailTemplateError` listing every problem as
``file:line: what``. :class:`EmailTemplateStore` reads the file again when it changed and
keeps the last correct version while it is broken (as :class:`clinic_content.store.ContentStore`
does for the other content files).

Placeholders are ``{name}``-style words from :data:`PLACEHOLDERS` (declared with every other
message's in ``clinic_content.placeholder_names``), filled by :meth:`EmailTemplate.fill` with the
one renderer (``clinic_content.placeholders``): a typo is left out and logged (and ``make check``
names it), so it never breaks an e-mail and no attribute of anything can be reached.
"""

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

from clinic_common.file_watch import ValueFromFiles
from clinic_content.errors import ContentError, ContentLoadError
from clinic_content.fields import read_file
from clinic_content.paths import CONTENT_DIR, EMAIL_FILE
from clinic_content.placeholder_names import declared
from clinic_content.placeholders import render

logger = logging.getLogger(__name__)

PLACEHOLDERS = declared(EMAIL_FILE, "subject").may
TEXT_KEYS = ("subject", "not_given", "transcript_heading", "reference_line")
LINE_LIST_KEYS = ("intro", "footer")
LABEL_KEYS = ("kinds", "fields", "speakers")
# Optional label lists: why a hand-off request was made.
OPTIONAL_LABEL_KEYS = ("reasons",)
KNOWN_KEYS = TEXT_KEYS + LINE_LIST_KEYS + LABEL_KEYS + OPTIONAL_LABEL_KEYS


class EmailTemplateError(ContentLoadError):
    """``email.yml`` is missing or malformed; ``problems`` lists every ``file:line: what``."""

    @property
    def problems(self) -> List[str]:
        """Every problem, as ``file:line: what``."""
        return [error.describe() for error in self.errors]


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


def parse_email(data: Any, path: Path, errors: List[ContentError]) -> Optional[EmailTemplate]:
    """Check ``email.yml``; the template, or None when it has a problem (appended to ``errors``)."""
    if not isinstance(data, dict):
        errors.append(
            ContentError(
                path, None, "expected the e-mail settings (subject:, intro:, kinds:, fields:, ...)"
            )
        )
        return None
    before = len(errors)

    def problem(key: Optional[str], message: str) -> None:
        line = data.key_line(key) if key is not None and hasattr(data, "key_line") else None
        errors.append(ContentError(path, line, message))

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
    for key in OPTIONAL_LABEL_KEYS + LABEL_KEYS:
        value = data.get(key)
        if value is None and key in OPTIONAL_LABEL_KEYS:
            continue
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in value.items()
        ):
            problem(
                key if key in data else None,
                f"'{key}' must be a list of 'name: label' lines, each label a text",
            )
        else:
            values[key] = {k: v.strip() for k, v in value.items()}
    return EmailTemplate(**values) if len(errors) == before else None


def load_email_template(content_dir: Path = CONTENT_DIR) -> EmailTemplate:
    """Read and check ``email.yml`` in ``content_dir``.

    Raises:
        EmailTemplateError: The file is missing, not YAML, or a key is missing or malformed.
    """
    errors: List[ContentError] = []
    template = read_file(Path(content_dir) / EMAIL_FILE, parse_email, errors)
    if errors or template is None:
        raise EmailTemplateError(errors)
    return template


class EmailTemplateStore:
    """The template, read again when the file changed; the last correct one while it is broken."""

    def __init__(self, content_dir: Path = CONTENT_DIR) -> None:
        self.content_dir = Path(content_dir)
        self._template: ValueFromFiles[EmailTemplate] = ValueFromFiles(
            self.content_dir / EMAIL_FILE,
            lambda: load_email_template(self.content_dir),
            errors=(EmailTemplateError,),
        )

    def get(self) -> EmailTemplate:
        """The current template.

        Raises:
            EmailTemplateError: The file is broken and no correct version was read before.
        """
        reload = self._template.refresh()
        if reload is not None and reload.error is not None:
            logger.error(
                "E-mail template broken (using the last correct one, if any): %s",
                "; ".join(getattr(reload.error, "problems", [str(reload.error)])),
            )
        return self._template.value

"""Build the e-mail for one request: plain text plus a simple HTML part, the same on every attempt.

The words come from ``data/content/email.yml`` (:mod:`clinic_content.email`), the layout
from ``clinic_requests/templates/request_email.{txt,html}`` (Jinja2; the HTML one escapes every
value, so a visitor's ``<script>`` arrives as text). The ``Message-ID`` is made from the
request's id, so a repeat of the same request (sent again after a lost answer) is
recognisable as a duplicate by any mail program, and by people.
"""

import functools
import re
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Optional

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from clinic_content.email import EmailTemplate
from clinic_content.paths import CONTENT_DIR
from clinic_requests.email_settings import ADDRESS, EmailSettings
from clinic_requests.outbox import OutboxRequest
from clinic_requests.request_view import RequestView, view_request

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
TEXT_TEMPLATE = "request_email.txt"
HTML_TEMPLATE = "request_email.html"
MAX_SUBJECT_CHARS = 200
REQUEST_ID_HEADER = "X-Clinic-Request-Id"
REQUEST_KIND_HEADER = "X-Clinic-Request-Kind"


@functools.lru_cache(maxsize=1)
def _environment() -> Environment:
    """The Jinja2 environment of the two layouts (made on first use, not at import)."""
    return Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def message_id(request_id: str, from_address: str) -> str:
    """``<request id@sender's domain>``: the same for every e-mail of one request."""
    return f"<{request_id}@{from_address.rpartition('@')[2]}>"


def build_email(
    request: OutboxRequest,
    template: EmailTemplate,
    settings: EmailSettings,
    content_dir: Path = CONTENT_DIR,
) -> EmailMessage:
    """The e-mail for ``request``, addressed as ``settings`` say.

    Args:
        request: The stored request (any kind, any payload fields).
        template: The words (subject, intro, labels).
        settings: From and to addresses.
        content_dir: Where ``contact.yml`` and ``contraindications.yml`` are (labels).
    """
    view = view_request(
        request.id, request.kind, request.created_at, request.payload, template, content_dir
    )
    subject = _header_text(template.fill(template.subject, view.placeholders, "subject"))
    parts = _render_parts(view, template, subject)
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = settings.from_address
    message["To"] = ", ".join(settings.to_addresses)
    message["Date"] = format_datetime(request.created_at)
    message["Message-ID"] = message_id(request.id, settings.from_address)
    reply_to = _visitor_address(request.payload.get("contact"))
    if reply_to:
        message["Reply-To"] = reply_to
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies back
    message[REQUEST_ID_HEADER] = request.id
    message[REQUEST_KIND_HEADER] = _header_text(request.kind)
    message.set_content(parts["text"], cte="quoted-printable")
    message.add_alternative(parts["html"], subtype="html", cte="quoted-printable")
    return message


def _render_parts(view: RequestView, template: EmailTemplate, subject: str) -> dict:
    values = {
        "view": view,
        "subject": subject,
        "intro": [template.fill(line, view.placeholders, "intro[]") for line in template.intro],
        "transcript_heading": template.transcript_heading,
        "reference_line": template.fill(
            template.reference_line, view.placeholders, "reference_line"
        ),
        "footer": [template.fill(line, view.placeholders, "footer[]") for line in template.footer],
    }
    return {
        "text": _environment().get_template(TEXT_TEMPLATE).render(**values),
        "html": _environment().get_template(HTML_TEMPLATE).render(**values),
    }


def _header_text(text: str) -> str:
    """One line, no control characters, not too long (a header cannot carry a line break)."""
    line = " ".join(str(text).split())
    return line if len(line) <= MAX_SUBJECT_CHARS else line[: MAX_SUBJECT_CHARS - 1] + "…"


def _visitor_address(contact: Optional[str]) -> Optional[str]:
    """The visitor's e-mail address for Reply-To: the contact itself, or the one address in
    "jo@example.com or 917 555 0142" (a visitor may leave both)."""
    if not isinstance(contact, str):
        return None
    candidates = [c.strip(" ,;") for c in re.split(r"\s+(?:or|/|and)\s+|[,;]\s*", contact.strip())]
    addresses = [c for c in candidates if ADDRESS.match(c)]
    return addresses[0] if len(addresses) == 1 else None

"""``contact.yml``: the clinic's name, phone, e-mail, website, booking link and reply time, as
the mapping of its two blocks (``clinic``, ``handoff``)."""

import re
from pathlib import Path
from typing import Any, Dict, List

from clinic_content.errors import ContentError
from clinic_content.fields import VALID_LINK, key_line, require_keys

Contact = Dict[str, Any]


def parse_contact(data: Any, path: Path, errors: List[ContentError]) -> Contact:
    """Check ``contact.yml``: clinic name and hand-off settings; links well-formed."""
    require_keys(data, path, ("clinic", "handoff"), errors, "contact.yml")
    if not isinstance(data, dict):
        return {}
    clinic = data.get("clinic") or {}
    require_keys(clinic, path, ("name",), errors, "'clinic' in contact.yml")
    if isinstance(clinic, dict):
        for key in ("email", "website", "booking_url_template"):
            # Never str() a list or block here: a YAML alias bomb would take minutes.
            if clinic.get(key) and not isinstance(clinic[key], str):
                errors.append(
                    ContentError(
                        path, key_line(clinic, key), f"'{key}' in contact.yml should be text"
                    )
                )
        email = clinic.get("email")
        if (
            isinstance(email, str)
            and email
            and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}", email)
        ):
            errors.append(
                ContentError(
                    path, key_line(clinic, "email"), f"the email '{email}' does not look right"
                )
            )
        website = clinic.get("website")
        if isinstance(website, str) and website and not VALID_LINK.match(website):
            errors.append(
                ContentError(
                    path,
                    key_line(clinic, "website"),
                    f"the website '{website}' should start with https://",
                )
            )
        template = clinic.get("booking_url_template")
        if (
            isinstance(template, str)
            and template
            and not template.startswith(("https://", "http://"))
        ):
            errors.append(
                ContentError(
                    path,
                    key_line(clinic, "booking_url_template"),
                    "'booking_url_template' should start with https://",
                )
            )
    return dict(data)


def clinic_name(contact: Contact) -> str:
    """The clinic's name as visitors and staff see it (empty when not set)."""
    clinic = contact.get("clinic") if isinstance(contact, dict) else None
    name = clinic.get("name") if isinstance(clinic, dict) else None
    return str(name).strip() if name else ""

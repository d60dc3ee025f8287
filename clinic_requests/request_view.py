"""What a person reads about a request: its title, its details as labelled rows, the transcript.

Shared by the e-mail (:mod:`clinic_requests.email_message`) and the staff page (``clinic_staff``),
so both show a request the same way. Labels come from ``data/content/email.yml``
(:class:`clinic_content.email.EmailTemplate`); condition category ids are shown by their
label from ``contraindications.yml``. Any kind of request and any payload field is shown:
a kind or field the labels do not know is shown by its name, so a request kind or field
added later reaches the clinic without a change here.
"""

import json
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Dict, Mapping, Optional, Tuple, TypeVar

from clinic_common.file_watch import ValueFromFiles
from clinic_content import contact
from clinic_content.contraindications_check import load_rules
from clinic_content.email import EmailTemplate
from clinic_content.fields import load_file
from clinic_content.paths import CONTACT_FILE, CONTENT_DIR, CONTRAINDICATIONS_FILE

TRANSCRIPT_FIELD = "transcript"
ALWAYS_SHOWN = ("name", "contact")  # shown as "not given" when missing
CONDITION_FIELD = "conditions"
SHORT_REFERENCE_CHARS = 8

Model = TypeVar("Model")
_files: Dict[Path, ValueFromFiles[Any]] = {}
_files_lock = threading.Lock()


@dataclass(frozen=True)
class DetailRow:
    """One labelled detail of a request (``value`` is plain text, never markup)."""

    field: str
    label: str
    value: str
    given: bool


@dataclass(frozen=True)
class TranscriptLine:
    """One message of the conversation."""

    sender: str
    speaker: str
    text: str


@dataclass(frozen=True)
class RequestView:
    """A request as people read it."""

    id: str
    reference: str
    kind: str
    kind_label: str
    created_at: datetime
    details: Tuple[DetailRow, ...]
    transcript: Tuple[TranscriptLine, ...]
    placeholders: Mapping[str, str]


def view_request(
    request_id: str,
    kind: str,
    created_at: datetime,
    payload: Mapping[str, Any],
    template: EmailTemplate,
    content_dir: Path = CONTENT_DIR,
) -> RequestView:
    """Build the readable form of one request.

    Args:
        request_id: The request's id (its reference).
        kind: ``booking``, ``handoff``, or any other kind.
        created_at: When it was stored (aware UTC).
        payload: The stored payload; unknown fields are shown by their name.
        template: Labels and the "not given" word.
        content_dir: Where ``contraindications.yml`` and ``contact.yml`` are.
    """
    labels = condition_labels(content_dir)
    details = []
    order = [name for name in template.fields if name in payload or name in ALWAYS_SHOWN]
    order += [name for name in payload if name not in template.fields]
    for name in order:
        if name == TRANSCRIPT_FIELD:
            continue
        value = payload.get(name)
        if name == "reason" and isinstance(value, str):
            value = template.reason_label(value)
        text = _as_text(value, labels if name == CONDITION_FIELD else {})
        if text or name in ALWAYS_SHOWN:
            details.append(
                DetailRow(name, template.field_label(name), text or template.not_given, bool(text))
            )
    transcript = tuple(
        TranscriptLine(
            str(turn.get("sender")),
            template.speaker(str(turn.get("sender"))),
            str(turn.get("text", "")),
        )
        for turn in payload.get(TRANSCRIPT_FIELD) or []
        if isinstance(turn, Mapping)
    )
    kind_label = template.kind_label(kind)
    placeholders = {
        "kind": kind_label,
        "name": _one_line(payload.get("name")) or template.not_given,
        "service": _one_line(payload.get("service")) or template.not_given,
        "reference": request_id[:SHORT_REFERENCE_CHARS],
        "reference_full": request_id,
        "received": created_at.strftime("%Y-%m-%d %H:%M"),
        "clinic": clinic_name(content_dir),
    }
    return RequestView(
        id=request_id,
        reference=request_id[:SHORT_REFERENCE_CHARS],
        kind=kind,
        kind_label=kind_label,
        created_at=created_at,
        details=tuple(details),
        transcript=transcript,
        placeholders=placeholders,
    )


def condition_labels(content_dir: Path = CONTENT_DIR) -> Dict[str, str]:
    """Condition category id -> label (``pregnancy`` -> ``pregnancy``), for every condition and
    symptom id a request may hold; ``{}`` while the file has never loaded."""
    rules = _current(Path(content_dir) / CONTRAINDICATIONS_FILE, load_rules)
    labels: Dict[str, str] = {}
    for rule in rules.conditions if rules else ():
        labels.setdefault(rule.id, rule.label)
    return labels


def clinic_name(content_dir: Path = CONTENT_DIR) -> str:
    """The clinic's name from ``contact.yml`` (empty while the file has never loaded)."""
    data = _current(
        Path(content_dir) / CONTACT_FILE,
        lambda path: load_file(path, contact.parse_contact, CONTACT_FILE),
    )
    return contact.clinic_name(data) if data else ""


def _as_text(value: Any, labels: Mapping[str, str]) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(
            filter(
                None,
                (
                    labels.get(item, "")
                    if isinstance(item, str) and item in labels
                    else _as_text(item, {})
                    for item in value
                ),
            )
        )
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _one_line(value: Any) -> str:
    return " ".join(str(value).split()) if value else ""


def _current(path: Path, load: Callable[[Path], Model]) -> Optional[Model]:
    """The file as its loader reads it, read again only when it changed; the last good version
    while it is broken; ``None`` while no version has loaded."""
    with _files_lock:
        watched = _files.get(path)
        if watched is None:
            watched = _files[path] = ValueFromFiles(path, lambda: load(path), errors=(ValueError,))
    watched.refresh()
    return watched.value if watched.loaded else None

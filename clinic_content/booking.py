"""``booking.yml``: the services visitors can book (``Service``), the booking and hand-off
prompts, the screening and confirm buttons, and the time wishes without a date (``Booking``).

Read by the booking form (``actions``) and by the NLU's service entities
(``clinic_nlu.booking_entities``) alike.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

from clinic_content.errors import ContentError
from clinic_content.fields import (
    FieldSpec,
    check_fields,
    entries,
    key_line,
    line_of,
    load_file,
    require_keys,
    suggest,
)
from clinic_content.paths import BOOKING_FILE

PROMPT_KEYS = (
    "booking_intro",
    "booking_intro_consultation",
    "booking_intro_after_reaction",
    "ask_service",
    "service_not_understood",
    "ask_name",
    "name_not_understood",
    "ask_contact",
    "contact_not_understood",
    "ask_preferred_time",
    "preferred_time_not_understood",
    "ask_screening",
    "ask_screening_group",
    "screening_not_understood",
    "ask_confirm",
    "ask_confirm_consultation",
    "confirm_what_to_change",
    "confirm_not_understood",
    "field_service",
    "field_name",
    "field_contact",
    "field_time",
    "field_people",
    "changed",
    "noted",
    "booking_received",
    "group_note",
    "booking_link",
    "consultation_received",
    "handoff_intro",
    "ask_topic",
    "topic_not_understood",
    "handoff_next_steps",
    "handoff_needs_details",
    "handoff_received",
    "change_received",
    "condition_noted",
    "your_reference",
    "request_status",
    "reply_time_unknown",
    "cancelled",
    "not_saved",
)
SERVICE_FIELDS: FieldSpec = {
    "id": ((str,), True),
    "title": ((str,), True),
    "words": ((list,), False),
}
BUTTONS = (
    ("screening_buttons", ("none", "applies", "not_sure")),
    ("confirm_buttons", ("send", "change")),
)


@dataclass(frozen=True)
class Service:
    """A bookable service: its id (stored in requests), its title and other ways to type it."""

    id: str
    title: str
    words: Tuple[str, ...] = ()


@dataclass(frozen=True)
class Booking:
    """Everything ``booking.yml`` holds."""

    services: Tuple[Service, ...] = ()
    prompts: Mapping[str, Any] = field(default_factory=dict)
    screening_buttons: Mapping[str, Any] = field(default_factory=dict)
    confirm_buttons: Mapping[str, Any] = field(default_factory=dict)
    flexible_times: Tuple[str, ...] = ()

    def service(self, service_id: Any) -> Optional[Service]:
        """The service with this id, if any."""
        return next((s for s in self.services if s.id == service_id), None)


def parse_booking(data: Any, path: Path, errors: List[ContentError]) -> Booking:
    """Check ``booking.yml``: services (unique ids), every prompt, the screening buttons."""
    require_keys(
        data,
        path,
        ("services", "prompts", "screening_buttons", "confirm_buttons"),
        errors,
        "booking.yml",
    )
    if not isinstance(data, dict):
        return Booking()
    seen: Dict[str, int] = {}
    services = []
    for entry in entries(data, "services", path, errors, "a list of services ('- id:' blocks)"):
        what = (
            f"service '{entry['id']}'"
            if isinstance(entry, dict) and isinstance(entry.get("id"), str)
            else "a service"
        )
        if not check_fields(entry, SERVICE_FIELDS, path, what, errors, key_line(data, "services")):
            continue
        if entry["id"] in seen:
            errors.append(
                ContentError(
                    path,
                    entry.key_line("id"),
                    f"the service id '{entry['id']}'"
                    f" is used twice (first at line {seen[entry['id']]})",
                )
            )
        seen.setdefault(entry["id"], entry.line)
        services.append(
            Service(
                entry["id"], entry["title"], tuple(str(word) for word in entry.get("words") or [])
            )
        )
    prompts = data.get("prompts")
    if isinstance(prompts, dict):
        for key in PROMPT_KEYS:
            if not prompts.get(key):
                errors.append(
                    ContentError(path, line_of(prompts), f"the prompt '{key}' is missing")
                )
        for key in prompts:
            if key not in PROMPT_KEYS:
                errors.append(
                    ContentError(
                        path,
                        key_line(prompts, key),
                        f"unknown prompt '{key}'.{suggest(key, PROMPT_KEYS)}",
                    )
                )
    for section, keys in BUTTONS:
        buttons = data.get(section)
        if isinstance(buttons, dict):
            for key in keys:
                if not buttons.get(key):
                    errors.append(
                        ContentError(
                            path,
                            line_of(buttons),
                            f"the button '{key}' is missing under '{section}'",
                        )
                    )
    flexible = data.get("flexible_times")
    if flexible is not None and not isinstance(flexible, list):
        errors.append(
            ContentError(
                path,
                key_line(data, "flexible_times"),
                "'flexible_times' should be a list of words in square brackets",
            )
        )
    return Booking(
        services=tuple(services),
        prompts=_block(prompts),
        screening_buttons=_block(data.get("screening_buttons")),
        confirm_buttons=_block(data.get("confirm_buttons")),
        flexible_times=tuple(str(w) for w in flexible) if isinstance(flexible, list) else (),
    )


def _block(value: Any) -> Dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def load_booking(path: Path) -> Booking:
    """``booking.yml`` on its own, checked as `make check` does (raises ``ContentLoadError``)."""
    return load_file(path, parse_booking, BOOKING_FILE)

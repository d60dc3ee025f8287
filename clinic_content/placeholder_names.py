"""Which ``{placeholders}`` each staff-editable message may use, and the few it must use.

The one declaration read by the renderer (``clinic_content.placeholders.render`` fills only these),
by `make check` (``clinic_content.placeholder_check`` refuses any other name) and by the staff guide
(``docs/staff-guide.md``, "Placeholders"; a test checks it lists every key here).

Kept in Python next to the loader, not in ``data/content/``: it states which values the *code*
hands over at each place it fills a message, so it must change in the same commit as that code,
and staff must not be able to widen it (a name the code does not hand over could only be left
out). A message not listed here takes no placeholders at all.

Keys are the message's place in its file: ``prompts.booking_received`` is ``booking_received``
under ``prompts:``; ``[]`` stands for every item of a list (``intro[]``: each intro line).
"""

from dataclasses import dataclass
from typing import Dict, Tuple


@dataclass(frozen=True)
class Names:
    """The placeholders one message may use; ``must``: those it cannot do without, and ``why``."""

    may: Tuple[str, ...]
    must: Tuple[str, ...] = ()
    why: str = ""


NONE = Names(())

# Why a message must keep a placeholder. Only where the message is pointless or misleading
# without the value: the code sends it regardless, so check-time is the only safeguard.
_REFERENCE = (
    "the visitor quotes this reference to the clinic, and this message is where they get it"
)
_REQUEST = ("reference",)

# Values handed to every note said before a form question is asked again
# (actions.booking.prompt_values, used by actions.form_questions).
_NOTE = Names(("reply_time", "phone", "clinic"))
_PHONE_SENTENCE = Names(("phone_sentence",))
_EMAIL = Names(("kind", "name", "service", "reference", "reference_full", "received", "clinic"))

DECLARED: Dict[str, Dict[str, Names]] = {
    "messages.yml": {
        "too_long": Names(
            ("limit",), must=("limit",), why="the visitor needs the number to shorten their message"
        ),
        "contact_phone": Names(
            ("phone",),
            must=("phone",),
            why="the message is there to give the clinic's number (it is also"
            " added to urgent and after-treatment replies)",
        ),
        "contact_email": Names(
            ("email",),
            must=("email",),
            why="the message is there to give the clinic's e-mail address",
        ),
        "not_covered": Names(("topic",)),
        "not_covered_age": Names(("age", "min", "max")),
        "safety_reminder": Names(("conditions",)),
        "follow_up_noted": Names(("reference", "contact"), must=_REQUEST, why=_REFERENCE),
        "follow_up_noted_no_contact": Names(("reference",), must=_REQUEST, why=_REFERENCE),
    },
    "booking.yml": {
        "prompts.booking_intro": _NOTE,
        "prompts.booking_intro_after_reaction": _NOTE,
        "prompts.booking_intro_consultation": Names(("conditions",)),
        "prompts.service_not_understood": _NOTE,
        "prompts.name_not_understood": _NOTE,
        "prompts.contact_not_understood": _NOTE,
        "prompts.preferred_time_not_understood": _NOTE,
        "prompts.screening_not_understood": _NOTE,
        "prompts.confirm_not_understood": _NOTE,
        "prompts.confirm_what_to_change": _NOTE,
        "prompts.topic_not_understood": _NOTE,
        "prompts.handoff_next_steps": _NOTE,
        "prompts.handoff_needs_details": _NOTE,
        "prompts.ask_confirm": Names(
            ("summary",),
            must=("summary",),
            why="the visitor must see what will be sent before saying 'Send it'",
        ),
        "prompts.ask_confirm_consultation": Names(
            ("summary",),
            must=("summary",),
            why="the visitor must see what will be sent before saying 'Send it'",
        ),
        "prompts.field_people": Names(("people",)),
        "prompts.changed": Names(("details",)),
        "prompts.noted": Names(("details",)),
        "prompts.booking_received": Names(
            ("name", "service", "reference", "contact", "time_part"), must=_REQUEST, why=_REFERENCE
        ),
        "prompts.group_note": Names(("people",)),
        "prompts.booking_link": Names(
            ("link",), must=("link",), why="the message is there to give the booking link"
        ),
        "prompts.consultation_received": Names(
            ("name", "reference", "contact", "reply_time"), must=_REQUEST, why=_REFERENCE
        ),
        "prompts.handoff_intro": Names(("reply_time",)),
        "prompts.handoff_received": Names(
            ("name", "reference", "contact", "reply_time"), must=_REQUEST, why=_REFERENCE
        ),
        "prompts.change_received": Names(
            ("reference", "earlier", "contact", "reply_time"), must=_REQUEST, why=_REFERENCE
        ),
        "prompts.condition_noted": Names(
            ("reference", "earlier", "contact", "reply_time"), must=_REQUEST, why=_REFERENCE
        ),
        "prompts.your_reference": Names(("reference",), must=_REQUEST, why=_REFERENCE),
        "prompts.request_status": Names(
            ("reference", "contact", "reply_time"), must=_REQUEST, why=_REFERENCE
        ),
    },
    "contact.yml": {
        "clinic.booking_url_template": Names(("service", "name", "contact")),
    },
    "contraindications.yml": {
        "uncovered.reply": Names(("label",)),
        "uncovered.conditions[].reply": Names(("label",)),
        "urgent.follow_up_reply": _PHONE_SENTENCE,
        "urgent.booking_refused_reply": _PHONE_SENTENCE,
        "urgent.contact_reply": _PHONE_SENTENCE,
        "urgent.reminder": _PHONE_SENTENCE,
        "after_treatment.reply": _PHONE_SENTENCE,
        "after_treatment.follow_up_reply": _PHONE_SENTENCE,
        "pushback_reply": Names(("conditions", "phone_sentence")),
        "pushback_reply_uncovered": Names(("conditions", "phone_sentence")),
        "correction_reply": _PHONE_SENTENCE,
    },
    "email.yml": {
        "subject": _EMAIL,
        "intro[]": _EMAIL,
        "reference_line": _EMAIL,
        "footer[]": _EMAIL,
    },
}

# Keys whose text is never a message: Rasa's button payloads ('/ask_price{"x": "y"}').
NOT_MESSAGES = frozenset({"payload"})


def declared(file_name: str, key: str) -> Names:
    """What the message at ``key`` of ``file_name`` may use (nothing when it is not listed)."""
    return DECLARED.get(file_name, {}).get(key, NONE)

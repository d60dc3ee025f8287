"""Reads what a visitor typed while a booking or hand-off form is waiting for an answer.

The field being asked decides first: "Helen Price" at the name step is a name, even though the
intent classifier, which knows nothing of the form, calls it a price question; "None of these
apply" typed at the health question is that button, not a request to cancel. Only when the
message does not fit the field is it read as something else: a stop, a request for a person, a
correction of a field given earlier, a question (answered, then the field is asked again) or
something that fits nothing (asked again, saying why).

Pure functions over the message and the form's state: no Rasa objects, so every rule is tested on
its own (tests/unit/test_form_reading.py). Disclosures and urgent symptoms are not read here: the
validators hand those to the safety planner first, whatever the step.
"""

import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence

from actions import booking
from actions.name_reading import name_in_sentence, read_name, reads_as_name
from actions.visitor_text import has_markup, is_payload, plain_text
from clinic_content.store import Content

# What the reader decided the message is.
FIELD = "field"  # fits the field asked for (values: that field, maybe more)
CORRECTION = "correction"  # changes a field given earlier ("actually make it Friday")
STOP = "stop"  # leave the form, nothing is sent
PERSON = "person"  # the visitor wants a person instead
QUESTION = "question"  # a question: answer it, then ask the field again
PROCESS = "process"  # "what happens now?": say what the form is for, ask again
JUNK = "junk"  # fits nothing: ask again, saying what is needed
BOOK = "book"  # during the hand-off: "I don't want a person, I want to book"

CONFIRM_SEND = "send"
CONFIRM_CHANGE = "change"

MAX_TOPIC_CHARS = 300
STOP_PATTERNS = re.compile(
    r"^\W*(?:please\s+)?cancel\W*$|\bcancel\s+(?:it|that|this(?:\s+booking)?|the\s+booking|"
    r"this\s+request|the\s+request|my\s+request)\b|"
    r"\b(?:stop|never\s*mind|nevermind|"
    r"forget\s+(?:it|that|about\s+it)|quit|abort|exit|i\s+changed\s+my\s+mind|changed\s+my\s+mind|"
    r"(?:don't|dont|do\s+not)\s+(?:want|wanna)\s+to\s+(?:book|continue|do\s+this)|not\s+interested|"
    r"no\s+longer\s+(?:want|need)|leave\s+it)\b",
    re.IGNORECASE,
)
# "nah nvm i dont need a person", "no thanks": the visitor declines the form, at any length.
DECLINE_PATTERNS = re.compile(
    r"^\W*(?:no|nah|nope)\W*(?:thanks|thank\s+you|ty)\W*$|\bnvm\b|"
    r"\bi'?m\s+(?:good|fine|ok|okay)\s*(?:thanks?|thank\s+you)?\W*$",
    re.IGNORECASE,
)
# ...and in the hand-off only: "I don't need a person" (in a booking it says nothing of the booking)
DECLINE_PERSON = re.compile(
    r"\b(?:don'?t|dont|do\s+not|no\s+need\s+to)\s+(?:need|want)\s+(?:a\s+person|anyone|"
    r"someone|somebody|a\s+human|to\s+talk|to\s+speak|a\s+call)\b",
    re.IGNORECASE,
)
PERSON_PATTERNS = re.compile(
    r"\b(?:real\s+person|a\s+person|a\s+human|human\s+being|(?:speak|talk|chat)\s+(?:to|with)\s+"
    r"(?:someone|somebody|a\s+(?:person|human|real|member)|staff|the\s+clinic|an?\s+agent|"
    r"reception|a\s+receptionist)|live\s+(?:agent|person|chat)|customer\s+service|"
    r"(?:call|phone)\s+me(?:\s+back)?|get\s+me\s+(?:a|someone|somebody)|"
    r"(?:useless|stupid|pointless)\s+bot|not\s+a\s+bot)\b",
    re.IGNORECASE,
)
# An e-mail address or phone number written out in words ("helen dot price at outlook").
CONTACT_ATTEMPT = re.compile(
    r"@|\bdot\s*(?:com|co|net|org|uk)\b|\b(?:gmail|outlook|hotmail|yahoo|icloud|aol|proton\w*)\b"
    r"|\w\s+(?:at|@)\s+\w+\s+dot\b|\b\w+\s+dot\s+\w+\s+at\b|\d{3,}",
    re.IGNORECASE,
)
QUESTION_START = re.compile(
    r"^(?:what|whats|what's|how|why|when|where|who|which|is|are|am|can|could|do|does|did|will|"
    r"would|should|shall|may|might|have|has|isn't|aren't|don't|doesn't|won't|tell\s+me|explain)\b",
    re.IGNORECASE,
)
PROCESS_QUESTION = re.compile(
    r"\b(?:what\s+(?:happens|will\s+happen|is\s+this|now|next)|what\s+do\s+(?:you|i)\s+need|"
    r"why\s+do\s+you\s+need|what\s+(?:is\s+it|'s\s+it|are\s+you\s+asking)\s+for|"
    r"what\s+do\s+i\s+(?:do|say|type)|how\s+does\s+this\s+work|what\s+are\s+you\s+asking)\b",
    re.IGNORECASE,
)
# A correction names a field already given and a new value ("actually make it Friday",
# "my email is wrong, it's ...", "can you move it to next Monday?", "change the time to 3pm").
CORRECTION_CUES = re.compile(
    r"\b(?:actually|instead|rather|change|changed|correct(?:ion)?|wrong|mistake|typo|sorry|"
    r"oops|i\s+meant|meant\s+to|make\s+it|move\s+it|switch|update|not\s+.+\s+but|scratch\s+that|"
    r"reschedule|can\s+we\s+do|could\s+we\s+do|how\s+about|what\s+about)\b",
    re.IGNORECASE,
)
TIME_FIELD_WORDS = re.compile(r"\b(?:time|day|date|slot|appointment|it)\b", re.IGNORECASE)
CONTACT_FIELD_WORDS = re.compile(
    r"\b(?:e-?mail|phone|number|contact|address|mobile|cell)\b", re.IGNORECASE
)
NAME_FIELD_WORDS = re.compile(r"\b(?:name|spelled|spelt|spelling)\b", re.IGNORECASE)
SERVICE_FIELD_WORDS = re.compile(
    r"\b(?:service|membership|single|facial|instead\s+of\s+the)\b", re.IGNORECASE
)
# Two or more people in one booking ("me and my sister", "for two", "the three of us").
GROUP_PATTERNS = re.compile(
    r"\b(?:(?:me|myself|i)\s+(?:and|&|\+)\s+(?:my|a|her|his|our)\s+\w+|(?:my|a)\s+\w+\s+(?:and|&)\s+"
    r"(?:me|myself|i)\b|(?:both|two|three|four|five|2|3|4|5)\s+of\s+us|for\s+(?:two|three|four|"
    r"five|2|3|4|5)\b(?!\s*(?:pm|am|o'?clock|:|weeks?|days?|months?|hours?|hrs?|mins?|minutes|"
    r"years?|nights?|more|sessions?|treatments?))|(?:two|three|four|five|2|3|4|5)\s+(?:people|"
    r"persons|ladies|friends|of\s+them|appointments|facials|bookings)|couples?|group|"
    r"(?:my|our)\s+(?:sister|mum|mom|mother|daughter|friend|husband|wife|partner)\s+(?:too|as\s+"
    r"well|also)|bring\s+(?:my|a)\s+\w+)\b",
    re.IGNORECASE,
)
# "just me", "only one person", "not 2 people": a booking for one after all.
SOLO_PATTERNS = re.compile(
    r"\b(?:just|only)\s+(?:me|myself|for\s+me)\b|\b(?:one|1)\s+(?:person|people)\b|"
    r"\bfor\s+(?:one|1)\b(?!\s*(?:pm|am|o'?clock|:|weeks?|days?|months?|hours?))|"
    r"\bnot\s+(?:two|three|four|2|3|4)\s+(?:people|persons)\b|\bno(?:body|\s+one)\s+else\b|"
    r"\bby\s+myself\b|\bjust\s+the\s+one\s+person\b",
    re.IGNORECASE,
)
NUMBER_WORDS = {"two": 2, "three": 3, "four": 4, "five": 5, "both": 2, "couple": 2, "couples": 2}
CONFIRM_YES = re.compile(
    r"^(?:yes|yeah|yep|yup|ya|y|sure|ok|okay|correct|right|perfect|great|good|fine|"
    r"looks?\s+(?:good|great|right|fine|correct)|all\s+(?:good|correct)|that'?s\s+(?:right|"
    r"correct|it|fine|good)|send(?:\s+it)?|please\s+send|go\s+ahead|confirm(?:ed)?|submit|"
    r"book\s+it|do\s+it|yes\s+please|sounds\s+good|alright|yea|yeh|yess+|k|kk|whatever|"
    r"just\s+send|oui|si|sí|sim|ja|da|claro|vale|d'accord|mandalo|mándalo|envíalo|envialo|"
    r"envoie|envoyez|envia|envie)\b",
    re.IGNORECASE,
)
CONFIRM_CHANGE_WORDS = re.compile(
    r"^(?:no|nope|not\s+quite|change|edit|wrong|wait|hold\s+on)\b", re.IGNORECASE
)
SKIP_TOPIC = re.compile(
    r"^(?:skip|nothing|no|none|n/?a|just\s+call\s+me|anything|general|idk|"
    r"dunno|not\s+sure|it'?s\s+private|private)\W*$",
    re.IGNORECASE,
)


@dataclass
class FormTurn:
    """What the reader needs to know about the message and the form."""

    text: str
    intent: Optional[str] = None
    confidence: float = 0.0
    entities: Sequence[Mapping[str, Any]] = ()
    requested_slot: Optional[str] = None
    form: str = "booking_form"
    filled: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Reading:
    """The reader's decision and the field values it found."""

    kind: str
    values: Dict[str, Any] = field(default_factory=dict)
    # Fields given earlier that the message changes, in the order found.
    changed: List[str] = field(default_factory=list)
    # Fields the message gives that were not asked for, while the field asked for is missing.
    noted: List[str] = field(default_factory=list)


def looks_like_question(text: str) -> bool:
    """A question by its form: a question mark, or a question word first."""
    stripped = (text or "").strip()
    return stripped.endswith("?") or bool(QUESTION_START.match(stripped))


def party_size(text: str) -> Optional[int]:
    """How many people a booking is for, when the message says so (1 only for "just me")."""
    if SOLO_PATTERNS.search(text or ""):
        return 1
    match = GROUP_PATTERNS.search(text or "")
    if not match:
        return None
    for word in re.findall(r"[a-z0-9]+", match.group(0).lower()):
        if word.isdigit() and 2 <= int(word) <= 9:
            return int(word)
        if word in NUMBER_WORDS:
            return NUMBER_WORDS[word]
    return 2


def entity_value(entities: Sequence[Mapping[str, Any]], kind: str) -> Optional[str]:
    """The value of the first entity of a kind."""
    for entity in entities or ():
        if entity.get("entity") == kind and entity.get("value"):
            return str(entity["value"])
    return None


def typed_button(text: str, titles: Sequence[str]) -> Optional[str]:
    """The button title the visitor typed (any case, punctuation or a few extra words)."""
    lowered = _squash(text)
    if not lowered:
        return None
    for title in titles:
        squashed = _squash(title)
        if squashed and (
            lowered == squashed
            or (lowered.startswith(squashed) and len(lowered) <= len(squashed) + 12)
        ):
            return title
    return None


ORDINALS = {
    "first": 0,
    "1st": 0,
    "one": 0,
    "1": 0,
    "second": 1,
    "2nd": 1,
    "two": 1,
    "2": 1,
    "third": 2,
    "3rd": 2,
    "three": 2,
    "3": 2,
    "last": -1,
}
ORDINAL_CHOICE = re.compile(
    r"^(?:the\s+)?(?:(?:option|number|no\.?|#)\s*)?(first|1st|second|2nd|third|3rd|last|one|two|"
    r"three|[123])(?:\s+(?:one|option|choice|button))?(?:\s+please)?$",
    re.IGNORECASE,
)


def ordinal_choice(text: str, titles: Sequence[str]) -> Optional[str]:
    """ "the second one", "option 2", "last": that button of the ones just shown."""
    match = ORDINAL_CHOICE.match(_squash(text).replace("#", "# ").strip())
    if not match or not titles:
        return None
    index = ORDINALS[match.group(1).lower()]
    return titles[index] if index < len(titles) else None


def _squash(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s-]", " ", str(text or "").lower()).split())


def screening_answer(text: str, intent: Optional[str], content: Content) -> Optional[str]:
    """'none', 'applies' or 'not_sure' from a button, its label typed, or the visitor's words."""
    labels = content.booking.screening_buttons
    clicked = {"/deny": "none", "/affirm": "applies"}.get((text or "").strip().lower())
    if clicked:
        return clicked
    typed = typed_button(text, [str(v) for v in labels.values()])
    if typed:
        return next(key for key, value in labels.items() if str(value) == typed)
    return booking.screening_answer(text, intent, content)


def button_titles(content: Content) -> List[str]:
    """Every quick-reply label the assistant shows outside the form's own buttons."""
    titles = [str(t) for t in (content.messages.get("topic_titles") or {}).values()]
    titles.append(str(content.messages.get("talk_to_person_button") or ""))
    titles += [b.title for answer in content.answers.values() for b in answer.buttons]
    return [t for t in titles if t]


def find_fields(turn: FormTurn, content: Content) -> Dict[str, Any]:
    """Every field the message gives besides the one asked for, so none is asked again."""
    text = turn.text
    found: Dict[str, Any] = {}
    contact = booking.normalise_contact(text)
    if contact:
        found["contact"] = contact
    name = name_in_sentence(text)
    if name:
        found["visitor_name"] = name
    if turn.form == "booking_form":
        day = entity_value(turn.entities, "day")
        if day:
            found["preferred_time"] = day
        service = entity_value(turn.entities, "service")
        if service and content.booking.service(service) is not None:
            found["booking_service"] = service
        people = party_size(text)
        if people:
            found["party_size"] = float(people)
    return found


def _fits_requested(turn: FormTurn, content: Content) -> Optional[Dict[str, Any]]:
    """The requested field's value when the message is an answer to it, else None."""
    slot, text = turn.requested_slot, turn.text
    if slot == "booking_service":
        titles = [s.title for s in booking.services(content)]
        typed = typed_button(text, titles) or ordinal_choice(text, titles)
        if not typed and len(booking.services_named(content, text)) > 1:
            return None  # "what's the difference between Clear Skin and Forever Young?"
        service = booking.match_service(content, typed or text)
        return {slot: service.id} if service else None
    if slot == "visitor_name":
        name = read_name(text) or read_name(_without_other_fields(turn)) or _name_in_a_part(text)
        if (
            name
            and " " not in name
            and name.islower()
            and (
                (turn.confidence >= 0.5 and turn.intent not in (None, "nlu_fallback"))
                or entity_value(turn.entities, "service")
                or entity_value(turn.entities, "day")
            )
        ):
            return None  # one lowercase word that means something else ("single", "price")
        return {slot: name} if name else None
    if slot == "contact":
        contact = booking.normalise_contact(text)
        return {slot: contact} if contact else None
    if slot == "preferred_time":
        day = entity_value(turn.entities, "day")
        cleaned = plain_text(text)
        if looks_like_question(cleaned) and not day:
            return None
        if day and (CORRECTION_CUES.search(cleaned) or len(cleaned) > 60):
            return {slot: day}  # "actually make it Friday": the day, not the chatter
        if day or (cleaned and booking.parse_preferred_time(cleaned)):
            return {slot: cleaned}
        if cleaned and booking.is_flexible_time(content, cleaned):
            return {slot: cleaned}  # "asap", "sometime in March, weekends": kept as typed
        return None
    if slot == "screening":
        answer = screening_answer(text, turn.intent, content)
        return {slot: answer} if answer else None
    if slot == "booking_confirmed":
        return _confirmation(text, content)
    if slot == "handoff_topic":
        cleaned = plain_text(text)
        if not cleaned or is_payload(text):
            return None
        if SKIP_TOPIC.match(cleaned):
            return {slot: "-"}
        return {slot: cleaned[:MAX_TOPIC_CHARS]}
    return None


def _name_in_a_part(text: str) -> Optional[str]:
    """ "Helen Price. I already said that" / "I literally just told you. Jordan Lee": one
    sentence of the message is a name (the others say something else)."""
    if booking.EMAIL.search(text or ""):
        return None  # "olga_k@mail.ru" is not the sentences "olga_k@mail" and "ru"
    parts = [p.strip() for p in re.split(r"[.!;\n]+", text or "") if p.strip()]
    if len(parts) < 2:
        return None
    names = [name for name in (read_name(p) for p in parts) if name]
    capitalised = [n for n in names if all(w[:1].isupper() for w in n.split())]
    return (capitalised or names)[0] if len(names) == 1 or capitalised else None


def _screening_said(text: str) -> Optional[str]:
    """A screening answer stated inside a longer message ("oops, none of them apply to me")."""
    lowered = (text or "").lower()
    if re.search(r"\bnone of (?:them|these|those)\b|\bnone apply\b|\bno conditions\b", lowered):
        return "none"
    if re.search(r"\b(?:one|some) of (?:them|these|those) (?:apply|applies|does)\b", lowered):
        return "applies"
    return None


def _without_other_fields(turn: FormTurn) -> str:
    """The message without its e-mail, phone number and day ("Mark Faith, mark@example.com"
    -> "Mark Faith"), so the name step can read the name given with them."""
    text = booking.EMAIL.sub(" ", turn.text or "")
    text = booking.PHONE_CHARS.sub(" ", text)
    day = entity_value(turn.entities, "day")
    if day:
        text = re.sub(re.escape(day), " ", text, flags=re.IGNORECASE)
    return " ".join(re.sub(r"[,;:|/\-]+\s", " ", text + " ").split()).strip(" ,.-")


def _confirmation(text: str, content: Content) -> Optional[Dict[str, Any]]:
    labels = content.booking.confirm_buttons
    stripped = (text or "").strip()
    if stripped.lower() == "/affirm":
        return {"booking_confirmed": CONFIRM_SEND}
    if stripped.lower() == "/deny":
        return {"booking_confirmed": CONFIRM_CHANGE}
    typed = typed_button(stripped, [str(v) for v in labels.values()])
    if typed:
        key = next(k for k, v in labels.items() if str(v) == typed)
        return {"booking_confirmed": CONFIRM_SEND if key == "send" else CONFIRM_CHANGE}
    if CONFIRM_YES.match(stripped) and not CORRECTION_CUES.search(stripped):
        return {"booking_confirmed": CONFIRM_SEND}
    if CONFIRM_CHANGE_WORDS.match(stripped) and len(stripped.split()) <= 4:
        return {"booking_confirmed": CONFIRM_CHANGE}
    return None


def _mostly(value: Optional[str], text: str) -> bool:
    """True when a value found in the message is most of it ("Friday at 3pm" alone)."""
    return bool(value) and len(str(value)) >= 0.6 * len(plain_text(text))


def _correction(turn: FormTurn, content: Content) -> Dict[str, Any]:
    """Fields given earlier that the message changes, with their new values."""
    text = turn.text
    bare_value = _mostly(entity_value(turn.entities, "day"), text) or _mostly(
        booking.normalise_contact(text), text
    )
    if not (
        CORRECTION_CUES.search(text) or bare_value or turn.requested_slot == "booking_confirmed"
    ):
        return {}
    changes: Dict[str, Any] = {}
    filled = turn.filled
    contact = booking.normalise_contact(text)
    if contact and filled.get("contact") and contact != filled.get("contact"):
        changes["contact"] = contact
    name = name_in_sentence(text) or (
        read_name(_after_cue(text)) if NAME_FIELD_WORDS.search(text) else None
    )
    if name and filled.get("visitor_name") and name != filled.get("visitor_name"):
        changes["visitor_name"] = name
    if turn.form == "booking_form":
        screening = _screening_said(text)
        if screening and filled.get("screening") and screening != filled.get("screening"):
            changes["screening"] = screening  # "oops I clicked the wrong one, none apply"
        day = entity_value(turn.entities, "day")
        if day and filled.get("preferred_time") and day != filled.get("preferred_time"):
            changes["preferred_time"] = day
        service = entity_value(turn.entities, "service")
        if (
            service
            and filled.get("booking_service")
            and service != filled.get("booking_service")
            and content.booking.service(service) is not None
        ):
            changes["booking_service"] = service
    return changes


def _after_cue(text: str) -> str:
    """The words after the last "is" / "it's" / "to" of a correction ("... name is Dana")."""
    parts = re.split(r"\b(?:is|it's|its|to|be)\b", text, flags=re.IGNORECASE)
    return parts[-1] if len(parts) > 1 else text


def read(turn: FormTurn, content: Content) -> Reading:
    """Decide what a message sent during a form is (see the module docstring)."""
    stripped = (turn.text or "").strip()
    slot = turn.requested_slot
    payload = stripped.lower() if is_payload(stripped) else None
    service_typed = typed_button(stripped, [s.title for s in booking.services(content)]) or next(
        # "Forever Young" typed for the name: one of a service's own multi-word names, exactly
        (
            s.title
            for s in booking.services(content)
            if any(" " in w and _squash(w) == _squash(stripped) for w in s.words)
        ),
        None,
    )
    if slot == "visitor_name" and service_typed and turn.form == "booking_form":
        service = booking.match_service(content, service_typed)
        assert service is not None  # a service's own title always matches it
        changed = (
            [] if turn.filled.get("booking_service") in (None, service.id) else ["booking_service"]
        )
        return Reading(
            FIELD,
            values={"booking_service": service.id},
            changed=changed,
            noted=[] if changed else ["booking_service"],
        )
    if slot == "visitor_name" and (
        typed_button(stripped, button_titles(content))
        or (service_typed and turn.form != "booking_form")
    ):
        # a button's label typed ("TALK TO A PERSON", "Prices"): what the button means
        person = str(content.messages.get("talk_to_person_button") or "")
        if typed_button(stripped, [person]):
            return Reading(PERSON)
        return Reading(QUESTION)
    short = len(stripped.split()) <= (4 if slot == "handoff_topic" else 12)
    as_name = slot == "visitor_name" and reads_as_name(stripped)
    words = booking.EMAIL.sub(" ", stripped)  # "stop.smith@gmail.com" says no "stop"
    if not as_name and (
        (STOP_PATTERNS.search(words) and short)
        or (slot not in ("booking_confirmed", "screening") and DECLINE_PATTERNS.search(words))
        or (turn.form == "handoff_form" and DECLINE_PERSON.search(words))
    ):
        return Reading(STOP)
    fits = (
        None
        if (payload and slot not in ("screening", "booking_confirmed"))
        else _fits_requested(turn, content)
    )
    found = {} if payload else find_fields(turn, content)
    if not fits and slot in found:
        fits = {slot: found[slot]}  # "I'm Dana White, dana@example.com, Friday at 3pm"
    if fits and slot is not None:
        found.pop(slot, None)
    changes = {
        k: v
        for k, v in {**found, **_correction(turn, content)}.items()
        if turn.filled.get(k) not in (None, v) and k != slot
    }
    new = {
        k: v
        for k, v in found.items()
        if turn.filled.get(k) is None and k != slot and not (k == "party_size" and v == 1)
    }  # "just me" when nobody said otherwise
    if fits:
        if slot == "booking_confirmed" and changes:
            return Reading(CORRECTION, values=changes, changed=list(changes))
        return Reading(FIELD, values={**fits, **new, **changes}, changed=list(changes))
    if changes:
        return Reading(CORRECTION, values={**new, **changes}, changed=list(changes))
    if (
        payload == "/cancel"
        or (
            turn.intent in ("cancel", "goodbye")
            and turn.confidence >= 0.6
            and not looks_like_question(stripped)
            and not as_name
        )
        or re.fullmatch(r"(?:no\W*)?(?:bye|goodbye|bye bye|see you|cya)\W*", stripped.lower())
    ):
        return Reading(STOP)
    if (
        payload == "/request_human"
        or PERSON_PATTERNS.search(stripped)
        or (turn.intent in ("request_human", "change_appointment") and turn.confidence >= 0.5)
    ):
        return Reading(PERSON)
    if turn.form == "handoff_form" and (
        payload == "/book" or (turn.intent == "book" and turn.confidence >= 0.6)
    ):
        return Reading(BOOK)
    if new:
        return Reading(FIELD, values=new, noted=list(new))
    if PROCESS_QUESTION.search(stripped):
        return Reading(PROCESS)
    if payload or has_markup(stripped):
        return Reading(JUNK)
    if slot == "contact" and CONTACT_ATTEMPT.search(stripped) and not looks_like_question(stripped):
        return Reading(JUNK)  # "helen dot price at outlook": a contact spelled out, not "price"
    if looks_like_question(stripped) or (turn.intent or "").startswith("ask_"):
        return Reading(QUESTION)
    return Reading(JUNK)

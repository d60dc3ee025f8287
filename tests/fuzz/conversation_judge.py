"""The conversation fuzzer's judge: what a visitor would notice in one reply.

Independent of the code under test on purpose: nothing here imports ``actions``,
``clinic_nlu``, ``clinic_channel`` or ``clinic_runtime``. The fixed texts come from the staff
content files, read with ``yaml.safe_load`` (``messages.yml`` and ``booking.yml``); every check
is written here from the visitor's point of view.

``CLINIC_CONVFUZZ_CONTENT_DIR`` points the judge at another content folder (for example the
one of an assistant under development in another checkout); by default it reads this
checkout's ``data/content``, which is what the assistant under test reads in CI.

A reply is the JSON list the website channel returns: ``[{"text": ..., "buttons": [...]}]``.
"""

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import yaml

PROJECT_DIR = Path(__file__).resolve().parents[2]
CONTENT_DIR = Path(
    os.environ.get("CLINIC_CONVFUZZ_CONTENT_DIR") or PROJECT_DIR / "data" / "content"
)

MAX_MESSAGES = 10
REFERENCE = re.compile(r"\breference\W{1,3}([0-9a-f]{8})\b", re.IGNORECASE)
PLACEHOLDER = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")
# "None" as Python prints it; "None of these apply" (a screening button) is English.
PYTHON_NONE = re.compile(r"(?<![A-Za-z])None(?![A-Za-z]| of\b)")
TRACEBACK = re.compile(
    r"Traceback \(most recent call last\)|File \"[^\"]+\.py\", line \d+|"
    r"\b[A-Z][A-Za-z]+(Error|Exception): "
)
GENERIC_ERRORS = ("something went wrong", "an error occurred", "internal server error")
# Markup a visitor may type that a reply must never carry back unescaped.
MARKUP = ("<script", "<b>", "<img", "<svg", "<iframe", "<a ", "onerror=", "onload=", "</")

Reply = List[Dict[str, Any]]


def _read(name: str, content_dir: Path) -> Dict[str, Any]:
    with (content_dir / name).open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    if not isinstance(data, dict):
        raise ValueError(f"{content_dir / name}: expected a mapping at the top")
    return data


def template_pattern(template: str) -> "re.Pattern[str]":
    """A regex for a filled-in template: ``{reference}`` is 8 hex digits, any other ``{x}`` text."""
    parts = re.split(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", template.strip())
    regex = ""
    for index, part in enumerate(parts):
        if index % 2 == 0:
            regex += re.escape(part)
        elif part == "reference":
            regex += r"(?P<reference>[0-9a-f]{8})"
        else:
            regex += rf"(?P<{part}>.*?)" if f"(?P<{part}>" not in regex else ".*?"
    return re.compile(regex, re.DOTALL)


def first_sentence(text: str) -> str:
    """The opening sentence of a fixed text, the part that survives small edits around it."""
    match = re.match(r"(.+?[.?!])(\s|$)", text.strip())
    return (match.group(1) if match else text.strip()).lower()


@dataclass
class Texts:
    """The fixed texts the judge looks for."""

    error_try_again: str
    rate_limited: str
    too_long: str
    fallbacks: Tuple[str, ...]
    offer_person: str
    prompts: Dict[str, str]
    services: List[str]
    screening_buttons: Dict[str, str]
    confirm_buttons: Dict[str, str] = field(default_factory=dict)
    confirmations: Dict[str, "re.Pattern[str]"] = field(default_factory=dict)
    # booking.yml prompt key -> pattern over normalised text (lower case, single spaces)
    patterns: Dict[str, "re.Pattern[str]"] = field(default_factory=dict)

    def says(self, key: str, text: str) -> bool:
        """Whether ``text`` contains the (filled-in) booking.yml prompt ``key``."""
        pattern = self.patterns.get(key)
        return bool(pattern and pattern.search(norm(text)))

    @property
    def not_understood(self) -> Tuple[str, ...]:
        """Opening sentences of every "I didn't understand" message."""
        fixed = list(self.fallbacks)
        fixed += [text for key, text in self.prompts.items() if key.endswith("_not_understood")]
        return tuple(first_sentence(text) for text in fixed)


def load_texts(content_dir: Path = CONTENT_DIR) -> Texts:
    """Read the fixed texts from ``messages.yml`` and ``booking.yml`` (``yaml.safe_load``)."""
    messages = _read("messages.yml", content_dir)
    booking = _read("booking.yml", content_dir)
    prompts = {str(key): str(value) for key, value in (booking.get("prompts") or {}).items()}
    texts = Texts(
        error_try_again=str(messages["error_try_again"]),
        rate_limited=str(messages["rate_limited"]),
        too_long=str(messages["too_long"]),
        fallbacks=tuple(
            str(messages[key])
            for key in ("fallback_did_you_mean", "fallback_second_miss", "fallback_nothing_matched")
        ),
        offer_person=str(messages.get("offer_person") or ""),
        prompts=prompts,
        services=[str(service["title"]) for service in booking.get("services") or []],
        screening_buttons={
            str(k): str(v) for k, v in (booking.get("screening_buttons") or {}).items()
        },
        confirm_buttons={str(k): str(v) for k, v in (booking.get("confirm_buttons") or {}).items()},
    )
    for key, prompt in prompts.items():
        texts.patterns[key] = template_pattern(norm(prompt))
        # booking_received, consultation_received, handoff_received, and any later "*_received"
        if key.endswith("_received") and "{reference}" in prompt:
            texts.confirmations[key[: -len("_received")]] = template_pattern(prompt)
    return texts


# --- reading a reply ----------------------------------------------------------------------


def message_texts(reply: Reply) -> List[str]:
    return [m["text"] for m in reply if isinstance(m, dict) and isinstance(m.get("text"), str)]


def buttons_of(reply: Reply) -> List[Dict[str, str]]:
    """The buttons of the reply's last message that has any (the ones a visitor can click)."""
    for message in reversed(reply):
        buttons = message.get("buttons") if isinstance(message, dict) else None
        if buttons:
            return [
                b
                for b in buttons
                if isinstance(b, dict)
                and isinstance(b.get("payload"), str)
                and isinstance(b.get("title"), str)
            ]
    return []


def norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def prompt_field(key: str) -> Optional[str]:
    """The form field a booking.yml prompt asks for: ``ask_name`` and ``name_not_understood``
    ask for ``name``; ``ask_preferred_time`` for ``time``; ``ask_screening_group`` for
    ``screening``; prompts that ask nothing give None."""
    match = re.fullmatch(r"ask_([a-z_]+?)(_group)?", key) or re.fullmatch(
        r"([a-z_]+)_not_understood", key
    )
    if not match:
        return None
    return {"preferred_time": "time"}.get(match.group(1), match.group(1))


def asked_field(reply: Reply, texts: Texts, previous: Optional[str] = None) -> Optional[str]:
    """The form field the reply asks for (its last message that asks one), or None.

    Within a message, the prompt that comes last wins ("Sorry, I didn't catch that. Which would
    you like?" asks for the service); when two fields share a text, ``previous`` (the field
    asked before) wins.
    """
    for text in reversed(message_texts(reply)):
        lowered = norm(text)
        found: List[Tuple[int, int, str]] = []
        for key, pattern in texts.patterns.items():
            name = prompt_field(key)
            if name is None:
                continue
            for match in pattern.finditer(lowered):
                found.append((match.end(), int(name == previous), name))
        if found:
            return max(found)[2]
    return None


def asks_yes_no(reply: Reply, texts: Texts) -> bool:
    """The reply ends on an offer to pass the question to a person (a yes/no question)."""
    messages = message_texts(reply)
    return (
        bool(messages)
        and bool(texts.offer_person)
        and norm(texts.offer_person) in norm(messages[-1])
    )


@dataclass(frozen=True)
class Confirmation:
    kind: str  # booking, consultation, handoff, or "unknown" (a reference in another text)
    reference: str
    text: str
    name: Optional[str] = None  # the name the request went out under, when the text says it


def confirmations_in(reply: Reply, texts: Texts) -> List[Confirmation]:
    """Every request confirmation in the reply, with its 8-hex-digit reference."""
    found = []
    for text in message_texts(reply):
        kind, name = None, None
        for key, pattern in texts.confirmations.items():
            matched = pattern.search(text.strip())
            if matched:
                kind, name = key, matched.groupdict().get("name")
                break
        match = REFERENCE.search(text)
        if match:
            found.append(Confirmation(kind or "unknown", match.group(1).lower(), text, name))
    return found


def simplified(text: str) -> str:
    """Lower-case words only: how a message compares with the name a request carries."""
    return re.sub(r"[\W_]+", " ", text.lower()).strip()


def offers_person(reply: Reply, texts: Texts) -> bool:
    """A "Talk to a person" button, the person offer, or a hand-off under way."""
    if any(b["payload"].startswith("/request_human") for b in buttons_of(reply)):
        return True
    joined = norm(" ".join(message_texts(reply)))
    return (
        (bool(texts.offer_person) and norm(texts.offer_person) in joined)
        or texts.says("handoff_intro", joined)
        or bool(re.search(r"\b(person|someone|staff|team member|911|emergency)\b", joined))
    )


def starts_handoff(reply: Reply, texts: Texts) -> bool:
    """The reply starts (or completes) a hand-off to a person."""
    joined = norm(" ".join(message_texts(reply)))
    if texts.says("handoff_intro", joined):
        return True
    if any(c.kind == "handoff" for c in confirmations_in(reply, texts)):
        return True
    return asked_field(reply, texts) in ("name", "contact", "topic") and bool(
        re.search(r"\b(person|someone|staff|team)\b", joined)
    )


# --- the per-turn checks --------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    kind: str
    detail: str


def is_blank(text: str) -> bool:
    """Nothing visible: the channel answers such a message with an empty list by design."""
    return not re.sub(
        r"[\s\u200b-\u200f\u2028-\u202f\u2060-\u206f\ufeff\x00-\x1f\x7f-\x9f]", "", text
    )


def check_reply(
    visitor_text: str, reply: Any, texts: Texts, typed_so_far: Sequence[str] = ()
) -> List[Finding]:
    """What a visitor would notice in this one reply. ``typed_so_far``: the visitor's messages
    of the conversation, this one included (a placeholder or markup they typed themselves may
    come back as their own words)."""
    typed = list(typed_so_far) or [visitor_text]
    if not isinstance(reply, list) or not all(isinstance(m, dict) for m in reply):
        return [Finding("http_error", f"not a list of messages: {str(reply)[:300]}")]
    messages = message_texts(reply)
    findings: List[Finding] = []
    if not any(t.strip() for t in messages) and not is_blank(visitor_text):
        findings.append(Finding("no_reply", "no message with text"))
    if any(isinstance(m.get("text"), str) and not m["text"].strip() for m in reply):
        findings.append(Finding("no_reply", "a message with blank text"))
    joined = "\n".join(messages)
    lowered = joined.lower()
    titles = " ".join(b["title"] for b in buttons_of(reply))

    if norm(texts.error_try_again) in norm(joined) or any(e in lowered for e in GENERIC_ERRORS):
        findings.append(Finding("error_text", "the clinic's error message"))
    if TRACEBACK.search(joined) or TRACEBACK.search(titles):
        findings.append(Finding("traceback", "a Python error in the reply"))
    if (PYTHON_NONE.search(joined) or PYTHON_NONE.search(titles)) and not any(
        PYTHON_NONE.search(t) for t in typed
    ):
        findings.append(Finding("none_text", "'None' shown to the visitor"))
    own = {p for t in typed for p in PLACEHOLDER.findall(t)}
    unfilled = sorted({p for p in PLACEHOLDER.findall(joined + " " + titles)} - own)
    if unfilled:
        findings.append(Finding("unfilled_placeholder", ", ".join(unfilled)))
    if norm(texts.rate_limited) in norm(joined):
        findings.append(
            Finding(
                "rate_limited",
                "the per-conversation rate limit answered "
                "(test setup: raise CLINIC_RATE_LIMIT_MESSAGES)",
            )
        )

    misses = [t for t in messages if any(norm(t).startswith(s) for s in texts.not_understood)]
    if len(misses) > 1:
        findings.append(
            Finding(
                "repeated_not_understood",
                f'{len(misses)} "didn\'t understand" messages in one reply',
            )
        )
    if len(reply) > MAX_MESSAGES:
        findings.append(Finding("too_many_messages", f"{len(reply)} messages in one reply"))
    repeated = sorted({t for t in messages if t.strip() and messages.count(t) > 1})
    if repeated and len(misses) <= 1:
        findings.append(
            Finding("duplicate_message", f"said twice in one reply: {repeated[0][:80]!r}")
        )

    typed_lower = " ".join(typed).lower()
    echoed = [
        tag for tag in MARKUP if tag in typed_lower and (tag in lowered or tag in titles.lower())
    ]
    if echoed or "<script" in lowered:
        findings.append(Finding("markup_echoed", f"visitor markup back unescaped: {echoed}"))
    return findings

"""What the conversation fuzzer's visitors say: pools of messages and the stateful strategy.

About 40% of the time the next message answers what the assistant just showed (clicks one of
its buttons, types a button's label, gives a name / contact / time when asked); otherwise it
comes from the pools below: questions, health disclosures, names, contact details, times,
emoji, punctuation, button payloads, typed labels, other languages, changes of mind and junk.

Each message carries a ``category`` (printed in the transcripts) and what the next reply
must do when that is clear to any visitor (see ``Move``): a valid name, contact or time given
when asked must not be asked for again; junk must not be taken as a name; "get me a person"
must start a hand-off; "I need to reschedule" must not start a new booking.
"""

import random
import re
import string
from dataclasses import dataclass
from typing import Dict, FrozenSet, List, Optional, Sequence, Tuple

from hypothesis import strategies as st

QUESTIONS = [
    "what is a 4-D facial?",
    "how does microcurrent work",
    "does it hurt?",
    "is it painful",
    "how long do results last",
    "how much does it cost?",
    "how much is it",
    "price?",
    "how many sessions will I need",
    "how long is a session",
    "where are you located",
    "what are your opening hours",
    "is it safe?",
    "who is it for",
    "can men get it too",
    "is it better than a facelift",
    "which celebrities use it",
    "when was microcurrent invented",
    "what results can I expect",
    "what does it feel like",
    "tell me about the memberships",
    "what's the difference between clear skin and forever young",
    "do you do it at your clinic",
    "can I get it done on my lunch break",
    "is there any downtime",
    "what else is microcurrent used for",
    "is it ok in my twenties",
    "what happens now?",
    "ok but what exactly do you do",
    "hi",
    "hello there",
    "thanks!",
    "thank you so much",
    "bye",
    "are you a robot?",
    "what is it and how much is it",
    "does it hurt and how long does it take",
]
DISCLOSURES = [
    "I'm pregnant",
    "I have epilepsy",
    "I have a pacemaker",
    "I had a facelift last month",
    "I have high blood pressure",
    "I'm diabetic",
    "I have MS",
    "i have asthma",
    "oh wait, I should say I'm 5 months pregnant",
    "I had a blood clot last year",
    "I have eczema on my cheeks",
    "I have a heart condition, is that a problem?",
]
URGENT = [
    "I'm having chest pain right now",
    "my face is swelling up after my facial, help",
    "I can't breathe",
    "I think I'm having an allergic reaction right now",
]
# Real names that are also English words, plus the usual ones (issue 17: refused as names).
NAMES = [
    "Helen Price",
    "Pete Long",
    "Dana White",
    "Mohammed Al-Rashid",
    "my name is Dana White",
    "Sam",
    "Maria",
    "Jane Doe",
    "José García",
    "Zoë O'Neill",
    "Li Wei",
    "Anne-Marie Dubois",
    "Grace Hope",
    "Will Baker",
    "Bill Booker",
    "Joy Day",
    "Rose Summer",
    "Mark Faith",
    "I'm Helen",
    "it's Pete Long",
    "call me Dana",
    "Nguyen Van An",
    "Siobhán Ní Bhriain",
    "Kim",
    "Olu Adeyemi",
    "Christina Ng",
    "Ruby Stone",
]
# Texts that are not a name: a form must not take them as one.
NOT_NAMES = [
    "/deny",
    "/book",
    "what happens now?",
    "<b>Hi</b>",
    "<script>alert(1)</script>",
    "👍",
    "?",
    "how much is it?",
    "12345",
    "hello@example.com",
    "Friday at 3pm",
    "...",
    "/affirm",
    "'; DROP TABLE requests; --",
    "why do you need that",
]
# Clear days and times: asked for a time, the assistant must take them.
CLEAR_TIMES = [
    "Friday at 3pm",
    "next Tuesday afternoon",
    "tomorrow morning",
    "Monday 10am",
    "saturday morning",
    "Wednesday at 11:30",
    "this Thursday evening",
    "Friday 3pm",
]
# Vague ones: taking them or asking again are both fine.
VAGUE_TIMES = ["any weekday after 5", "the 14th at noon", "next week sometime", "asap", "whenever"]
TIMES = CLEAR_TIMES + VAGUE_TIMES
# What a visitor wants to talk to a person about (asked at the start of a hand-off).
TOPICS = [
    "prices",
    "I have a question about the memberships",
    "is it safe for me",
    "skip",
    "I'd like to know your opening hours",
    "booking for my mum",
]
CORRECTIONS = [
    "actually make it Friday",
    "sorry, I meant Monday",
    "wait, can we do Thursday instead",
    "actually I'd prefer the Clear Skin membership",
    "sorry my email is wrong",
    "change my name please",
    "oops, wrong number",
]
MIND_CHANGES = [
    "I need to reschedule",
    "can I move my appointment",
    "cancel",
    "never mind",
    "stop",
    "forget it",
    "start over",
    "no wait",
    "I changed my mind",
    "I want to book",
    "book me in",
    "can I book a 4-D facial for Friday at 3pm",
    "this bot is useless, get me a real person NOW",
    "I want to talk to a person",
    "can someone call me",
    "human please",
    "I'd like to cancel my booking",
]
EMOJI = ["👍", "😀", "🙏", "❤️", "👍🏽", "😂😂", "🤔", "👌", "😍", "🙂", "💆‍♀️", "✨✨✨", "👎"]
PUNCTUATION = ["?", "??", "...", "!!!", "?!", ".", ",", "¿", "…", "-", ":)", ";)", ":(", "!?!?"]
PAYLOADS = [
    "/book",
    "/request_human",
    "/affirm",
    "/deny",
    "/ask_price",
    "/greet",
    "/cancel",
    "/ask_what_is",
    "/ask_suitability",
    "/thank",
    "/goodbye",
    "/ask_unknown_other",
]
LABELS = [
    "What is it?",
    "Is it right for me?",
    "Book a 4-D Facial",
    "Talk to a person",
    "None of these apply",
    "One of these applies",
    "I'm not sure",
    "Prices",
    "4-D Facial (single session)",
    "Clear Skin membership",
    "Forever Young membership",
    "Something else",
    "Hours and location",
]
LANGUAGES = [
    "¿Cuánto cuesta el tratamiento?",
    "Hola, quiero reservar una cita",
    "¿Duele?",
    "Bonjour, combien ça coûte ?",
    "Je voudrais prendre rendez-vous",
    "Est-ce que ça fait mal ?",
    "微电流面部护理多少钱？",
    "我想预约",
    "你好",
    "Сколько стоит процедура?",
    "Здравствуйте, я хочу записаться",
    "Это больно?",
    "gracias",
    "merci beaucoup",
]
JUNK = [
    "<script>alert(1)</script>",
    "<b>bold</b> question",
    "<img src=x onerror=alert(1)>",
    '"><svg onload=alert(1)>',
    "[click](javascript:alert(1))",
    "{{7*7}}",
    "${jndi:ldap://x}",
    "'; DROP TABLE requests; --",
    "1' OR '1'='1",
    "SELECT * FROM requests",
    "%s%s%n",
    "a" * 300,
    "Supercalifragilisticexpialidocious" * 8,
    "!@#$%^&*()",
    "?!.,;:",
    "ｆｕｌｌｗｉｄｔｈ ｔｅｘｔ",
    "z̴̛̖a̷l̸g̵o̶",
    "\u202eevil",
    "te\u200bst",
    "hi\u0000there",
    "\U0001f9d1\u200d\u2695\ufe0f",
    "ÅÄÖ åäö",
    "null",
    "undefined",
    "NaN",
    "[]",
    "{}",
    "   hello   ",
    "\n\n\nhello\n",
    "\t",
    "lorem ipsum dolor sit amet " * 10,
]
# Characters of the "gibberish" messages: keyboard mashing, accents, symbols, emoji, controls.
GIBBERISH_CHARS = (
    string.ascii_letters
    + string.digits
    + string.punctuation
    + "      "
    + "éüñçøßåœ€£¥©®™°±µ¶§"
    + "αβγдлжשלוםع"
    + "\u200b\u00a0\t"
    + "😀👍🔥"
)


def gibberish(rng: random.Random) -> str:
    return "".join(rng.choice(GIBBERISH_CHARS) for _ in range(rng.randint(1, 40)))


PLAIN_NAMES = [n for n in NAMES if not n.lower().startswith(("my ", "i'm", "it's", "call"))]
YES = ["yes", "yes please", "sure", "ok", "yeah go ahead"]
NO = ["no", "no thanks", "nope", "not now", "no thank you"]
SERVICE_WORDS = ["the {} please", "{} please", "I'd like the {}", "{}!", "umm {} I think"]
LABEL_WORDS = ["{} please", "{}!", "ok {}", "{} thanks"]
NAME_WRAPS = ["{}", "{}", "{}", "my name is {}", "I'm {}", "it's {}"]
CONTACT_WRAPS = {
    "email": ["{}", "{}", "{}", "my email is {}", "you can reach me at {}", "{} thanks"],
    "phone": ["{}", "{}", "{}", "my number is {}", "call me on {}", "{} thanks"],
}
# Categories whose messages may carry the visitor's name; any other message is no name.
NAME_BEARING = ("name", "answer: name", "several fields", "script: name", "end: name", "gibberish")
PHONES = [
    "+1 212 555 0100",
    "(212) 555-0143",
    "212-555-0199",
    "2125550123",
    "+44 20 7946 0958",
    "+1 (646) 555-0111",
]
# A message that names a service or a time: it supersedes an earlier correction of that field.
MENTIONS = {
    "service": re.compile(r"facial|membership|clear skin|forever young|single session", re.I),
    "time": re.compile(
        r"monday|tuesday|wednesday|thursday|friday|saturday|sunday|tomorrow|"
        r"today|tonight|morning|afternoon|evening|noon|week|asap|whenever|"
        r"\d\s*(am|pm)\b|\d:\d\d",
        re.I,
    ),
}
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]


@dataclass
class Move:
    """One visitor message: its text, where it came from, and what the next reply must do.

    ``given``: form fields this message answers validly; the next reply must not ask for any
    of them again (``refused_kind`` names the failure). ``must``: ``"handoff"`` (start a
    hand-off), ``"no_handoff"`` (a "no" to the offer of a person: start none),
    ``"no_new_booking"`` (not start a new booking), ``"stop"`` (said while a form
    asks something: the form must not go on asking). ``not_a_name``: said when the name is
    asked, the text is not a name, so the form must not take it as one and move on.
    """

    text: str
    category: str
    given: FrozenSet[str] = frozenset()
    refused_kind: str = ""
    must: Optional[str] = None
    not_a_name: bool = False
    health: bool = False
    urgent: bool = False
    correction: Optional[Tuple[str, str]] = None  # (field, value the confirmation must show)


@dataclass
class Shown:
    """What the assistant showed last: its question (booking.yml field) and buttons."""

    field: Optional[str]
    buttons: Sequence[Dict[str, str]]
    yes_no: bool = False


def email_for(tag: str, name: str = "visitor") -> str:
    local = "".join(c for c in name.lower() if c.isascii() and c.isalnum())[:12] or "visitor"
    return f"{local}.{tag}@example.com"


def _typed_label(rng: random.Random, title: str, service: bool = False) -> Tuple[str, str]:
    """A button title typed as text, and the style: exact, lower, upper, words (extra words)."""
    style = rng.choice(["exact", "lower", "words", "words", "upper"])
    if style == "exact":
        return title, style
    if style == "lower":
        return title.lower(), style
    if style == "upper":
        return title.upper().strip(" ?!."), style
    wraps = SERVICE_WORDS if service else LABEL_WORDS
    return rng.choice(wraps).format(title.lower().strip(" ?!.")), style


def _is_person_button(button: Dict[str, str]) -> bool:
    return button["payload"].startswith("/request_human")


def answer_move(rng: random.Random, shown: Shown, tag: str) -> Optional[Move]:
    """An answer to what was shown, or None when nothing was asked."""
    field, buttons = shown.field, list(shown.buttons)
    if shown.yes_no and field is None and rng.randint(0, 1):
        # "Would you like me to pass your question to a person?" answered in words.
        if rng.randint(0, 1):
            return Move(rng.choice(YES), "answer: yes to a person", must="handoff")
        return Move(rng.choice(NO), "answer: no to a person", must="no_handoff")
    if field == "name":
        kind = rng.choice(["name", "name", "name", "name", "junk", "multi"])
        if kind == "junk":
            return Move(rng.choice(NOT_NAMES), "answer: not a name", not_a_name=True)
        name = rng.choice(PLAIN_NAMES)
        if kind == "multi":
            contact = email_for(tag, name)
            text = rng.choice(["{}, {}", "I'm {} and my email is {}", "{} - {}"]).format(
                name, contact
            )
            return Move(
                text,
                "answer: name + email",
                given=frozenset({"name", "contact"}),
                refused_kind="field_asked_again",
            )
        return Move(
            rng.choice(NAME_WRAPS).format(name),
            "answer: name",
            given=frozenset({"name"}),
            refused_kind="name_refused",
        )
    if field == "contact":
        kind = rng.choice(["email", "phone", "email", "bad"])
        if kind == "bad":
            return Move(rng.choice(["not sure", "john@", "555", "why?"]), "answer: not a contact")
        value = (
            email_for(tag, rng.choice(["dana", "pete", "helen", "sam"]))
            if kind == "email"
            else rng.choice(PHONES)
        )
        return Move(
            rng.choice(CONTACT_WRAPS[kind]).format(value),
            f"answer: {kind}",
            given=frozenset({"contact"}),
            refused_kind="contact_refused",
        )
    if field == "topic":
        return Move(
            rng.choice(TOPICS),
            "answer: topic",
            given=frozenset({"topic"}),
            refused_kind="topic_refused",
        )
    if field == "time":
        if rng.randint(0, 3):
            return Move(
                rng.choice(CLEAR_TIMES),
                "answer: time",
                given=frozenset({"time"}),
                refused_kind="time_refused",
            )
        return Move(rng.choice(VAGUE_TIMES), "answer: vague time")
    if buttons:
        button = rng.choice(buttons)
        # Service and screening buttons answer the question; typed, the label must too.
        # Service and screening buttons answer their question, and so does "Send it" under the
        # summary ("Change something" rightly shows the summary again).
        sends = button["payload"] == "/affirm" or "send" in button["title"].lower()
        given = (
            frozenset({field})
            if field in ("service", "screening") or (field == "confirm" and sends)
            else frozenset()
        )
        health = (
            field == "screening"
            and button["payload"] != "/deny"
            and "none" not in button["title"].lower()
        )
        must = "handoff" if _is_person_button(button) else None
        if rng.randint(0, 9) < 6:
            return Move(
                button["payload"],
                f"click: {button['title']}",
                given=given,
                refused_kind="button_click_refused",
                must=must,
                health=health,
            )
        text, style = _typed_label(rng, button["title"], service=field == "service")
        return Move(
            text,
            f"typed label ({style}): {button['title']}",
            given=given,
            refused_kind="typed_label_refused",
            must=must,
            health=health,
        )
    if field in ("service", "screening") or shown.yes_no:
        return Move(rng.choice(YES + NO), "answer: yes/no", health=field == "screening")
    return None


# Pool messages that are no name: said when the name is asked, the form must not take them.
NOT_A_NAME_CATEGORIES = {
    "question",
    "disclosure",
    "urgent",
    "contact",
    "time",
    "emoji",
    "punctuation",
    "payload",
    "label",
    "language",
    "junk",
    "correction",
    "mind",
}
STOP_WORDS = {"cancel", "stop", "never mind", "forget it"}
FORM_FIELDS = {"service", "name", "contact", "time", "screening", "confirm", "topic"}


def pool_move(rng: random.Random, shown: Shown, tag: str) -> Move:
    """A message from the pools, whatever was asked."""
    move = _pool_move(rng, shown, tag)
    if shown.field == "name" and move.category.split(" ")[0] in NOT_A_NAME_CATEGORIES:
        move.not_a_name = True
    if move.text in STOP_WORDS and shown.field in FORM_FIELDS:
        move.must = "stop"
    return move


def _pool_move(rng: random.Random, shown: Shown, tag: str) -> Move:
    category = rng.choice(
        ["question"] * 6
        + ["disclosure"] * 2
        + ["urgent"]
        + ["name"] * 2
        + ["contact"] * 2
        + ["time"] * 2
        + ["emoji"] * 3
        + ["punctuation"] * 2
        + ["payload"] * 3
        + ["label"] * 2
        + ["language"] * 2
        + ["junk"] * 3
        + ["gibberish"]
        + ["correction"] * 2
        + ["mind"] * 3
        + ["multi"]
    )
    if category == "question":
        return Move(rng.choice(QUESTIONS), category)
    if category == "disclosure":
        return Move(rng.choice(DISCLOSURES), category, health=True)
    if category == "urgent":
        return Move(rng.choice(URGENT), category, health=True, urgent=True)
    if category == "name":
        return Move(rng.choice(NAMES), category)
    if category == "contact":
        value = rng.choice([email_for(tag, "fuzz"), *PHONES])
        return Move(value, category)
    if category == "time":
        return Move(rng.choice(TIMES), category)
    if category == "emoji":
        return Move("".join(rng.choice(EMOJI) for _ in range(rng.randint(1, 3))), category)
    if category == "punctuation":
        return Move(rng.choice(PUNCTUATION), category)
    if category == "payload":
        payload = rng.choice(PAYLOADS + [b["payload"] for b in shown.buttons])
        return Move(
            payload, category, must="handoff" if payload.startswith("/request_human") else None
        )
    if category == "label":
        titles = [b["title"] for b in shown.buttons] or LABELS
        text, style = _typed_label(rng, rng.choice(titles))
        return Move(
            text, f"{category} ({style})", must="handoff" if "person" in text.lower() else None
        )
    if category == "language":
        return Move(rng.choice(LANGUAGES), category)
    if category == "junk":
        return Move(rng.choice(JUNK), category)
    if category == "gibberish":
        return Move(gibberish(rng), category)
    if category == "correction":
        text = rng.choice(CORRECTIONS)
        day = next((d for d in DAYS if d.lower() in text.lower()), None)
        correction = (
            ("time", day)
            if day
            else ("service", "Clear Skin membership")
            if "clear skin" in text.lower()
            else None
        )
        return Move(text, category, correction=correction)
    if category == "mind":
        text = rng.choice(MIND_CHANGES)
        lowered = text.lower()
        must = None
        if any(w in lowered for w in ("person", "human", "someone call")):
            must = "handoff"
        elif "reschedule" in lowered or "move my appointment" in lowered:
            must = "no_new_booking"
        return Move(text, category, must=must)
    # several fields in one message
    name = rng.choice(["Dana White", "Pete Long", "Maria Lopez", "Helen Price"])
    values = dict(n=name, e=email_for(tag, name), p=rng.choice(PHONES), t=rng.choice(CLEAR_TIMES))
    template, fields = rng.choice(
        [
            ("I'm {n}, {e}, {t}", {"name", "contact", "time"}),
            ("{n} {e}", {"name", "contact"}),
            ("my name is {n} and my number is {p}", {"name", "contact"}),
            ("book the 4-D facial for {n}, {e}, {t}", {"service", "name", "contact", "time"}),
        ]
    )
    # Said while a form asks one of these fields (or as a booking request), none of them may
    # be asked again.
    if not template.startswith("book") and shown.field not in fields:
        fields = set()
    return Move(
        template.format(**values),
        "several fields",
        given=frozenset(fields),
        refused_kind="field_asked_again",
    )


def next_move(rng: random.Random, shown: Shown, tag: str) -> Move:
    """~40%: answer what was shown (when anything was); otherwise a message from the pools."""
    if rng.randint(0, 9) < 4:
        move = answer_move(rng, shown, tag)
        if move is not None:
            return move
    return pool_move(rng, shown, tag)


@dataclass(frozen=True)
class Plan:
    """A conversation as hypothesis draws it: every choice comes from ``seed``.

    The choices of turn n come from ``random.Random(f"{seed}-{n}")`` applied to what the
    assistant showed last, so hypothesis draws the same shape of data whatever the assistant
    answered (a strategy drawing on the live replies is "flaky" to hypothesis), each
    conversation differs from the others as a whole, a plan replays exactly against the same
    assistant, and shrinking ``turns`` keeps the same beginning of the conversation.
    """

    seed: int
    turns: int
    book_opener: str

    def rng(self, turn: int) -> random.Random:
        return random.Random(f"{self.seed}-{turn}")


BOOK_OPENERS = ["I want to book", "/book", "can I book a 4-D facial"]
conversation_plans = st.builds(
    Plan,
    seed=st.integers(0, 2**64 - 1),
    turns=st.integers(5, 15),
    book_opener=st.sampled_from(BOOK_OPENERS),
)


def unique_name(number: int) -> str:
    """A realistic name, letters only, different for each number below 80,000 ("Nora Belkavi")."""
    firsts = ["Nora", "Priya", "Tomas", "Greta", "Amara", "Lena", "Oscar", "Ines", "Ravi", "Yuki"]
    syllables = [
        "ba",
        "ke",
        "lo",
        "mi",
        "nu",
        "ra",
        "si",
        "to",
        "va",
        "ze",
        "do",
        "fi",
        "ga",
        "ho",
        "ju",
        "li",
        "mo",
        "ne",
        "pa",
        "ru",
    ]
    first, rest = firsts[number % len(firsts)], (number // len(firsts) * 2_731 + 1_234) % 8_000
    parts = []
    for _ in range(3):
        parts.append(syllables[rest % len(syllables)])
        rest //= len(syllables)
    return f"{first} {''.join(parts).capitalize()}n"


def all_pools() -> Dict[str, List[str]]:
    """Every fixed pool, by name (for the unit tests)."""
    return {
        "questions": QUESTIONS,
        "disclosures": DISCLOSURES,
        "urgent": URGENT,
        "names": NAMES,
        "not_names": NOT_NAMES,
        "times": TIMES,
        "corrections": CORRECTIONS,
        "mind_changes": MIND_CHANGES,
        "emoji": EMOJI,
        "punctuation": PUNCTUATION,
        "payloads": PAYLOADS,
        "labels": LABELS,
        "languages": LANGUAGES,
        "junk": JUNK,
    }

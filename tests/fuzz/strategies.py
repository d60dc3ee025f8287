"""Hypothesis strategies for bad input: nasty texts, JSON of every type, raw bodies."""

import json
import string
from typing import Any, Dict

from hypothesis import strategies as st

# Pieces a visitor (or a script) may type, alone or glued together.
EMOJI = ["😀", "👍🏽", "👨‍👩‍👧‍👦", "🇺🇸", "💉", "❤️", "\U0001f9d1\u200d\u2695\ufe0f"]
RTL = ["هل العلاج مؤلم؟", "אני בהריון", "کیا یہ محفوظ ہے", "ܫܠܡܐ"]
BIDI = [
    "\u202e",
    "\u202d",
    "\u2066",
    "\u2067",
    "\u2068",
    "\u2069",
    "\u200f",
    "\u200e",
    "\u061c",
    "\u202a",
    "\u202b",
    "\u202c",
]
INVISIBLE = [
    "\u200b",
    "\u200c",
    "\u200d",
    "\ufeff",
    "\u2060",
    "\u00ad",
    "\x00",
    "\x07",
    "\x1b[31m",
    "\r\n",
    "\u2028",
    "\u2029",
    "\x85",
    "\u3000",
    "\xa0",
    "\t",
    "\x0b",
]
MARKUP = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "javascript:alert(1)",
    '"><svg onload=alert(1)>',
    "<b>bold</b>",
    "&lt;&amp;&#x27;",
    "{{7*7}}",
    "${jndi:ldap://x}",
    "data:text/html;base64,PHNjcmlwdD4=",
    "[link](javascript:alert(1))",
]
SQL = [
    "'; DROP TABLE events; --",
    "1' OR '1'='1",
    '" OR 1=1 --',
    "admin'--",
    "UNION SELECT * FROM sqlite_master",
    "%00",
    "%s%s%n",
    "{limit}",
    "{0}",
    "{}",
    "%(x)s",
]
PAYLOADS = [
    "/",
    "//",
    "/ ",
    "/ask_price",
    "/book",
    "/restart",
    "/session_start",
    "/back",
    '/book{"name": "x"}',
    '/book{"x":1}',
    "/greet@0.99",
    "/ask_price@1.0",
    '/ /book{"contact": "a@b.co"}',
    '//book{"x":1}',
    '/\u2003/inform{"x":1}',
    '/inform{"conditions": []}',
    "/EXTERNAL_x",
    "/nlu_fallback",
    "/ask_price{}",
]
WORDS = [
    "does it hurt?",
    "is it safe if I'm pregnant",
    "how much",
    "book",
    "I have epilepsy",
    "hi",
    "no",
    "yes",
    "I want to talk to a person",
    "microcurrent",
    "pacemaker",
]
SPECIALS = EMOJI + RTL + BIDI + INVISIBLE + MARKUP + SQL + PAYLOADS + WORDS

lone_surrogates = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
any_text = st.text(max_size=80)
pieces = st.one_of(
    st.sampled_from(SPECIALS),
    any_text,
    lone_surrogates,
    st.text(alphabet=string.whitespace, max_size=5),
)
nasty_text = st.lists(pieces, max_size=6).map("".join)


@st.composite
def long_text(draw: Any, low: int = 900, high: int = 50_000) -> str:
    """A long message: around the character limit up to 50 kB, with a nasty piece inside."""
    size = draw(st.integers(low, high))
    filler = draw(st.sampled_from(["a", "é", "😀", " ", "word ", "<b>", "\u202e"]))
    body = (filler * (size // len(filler) + 1))[:size]
    return draw(st.sampled_from(["", "/", " "])) + body + draw(nasty_text)


texts = st.one_of(nasty_text, nasty_text, nasty_text, long_text())

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=10**30), st.floats(), any_text
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)

valid_senders = st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True)
senders = st.one_of(
    valid_senders,
    valid_senders,
    valid_senders,
    st.sampled_from(
        ["", "a" * 65, "../../etc/passwd", "<script>", "abc\n", "a b", "é", "0", "default", "😀"]
    ),
    nasty_text,
    json_values,
)
messages = st.one_of(texts, texts, texts, json_values)
UNKNOWN_FIELDS = [
    "metadata",
    "input_channel",
    "stream",
    "intent",
    "entities",
    "token",
    "__proto__",
    "constructor",
    "sender_id",
    "text",
    "customData",
]
unknown_fields = st.dictionaries(
    st.one_of(st.sampled_from(UNKNOWN_FIELDS), st.text(max_size=8)), json_values, max_size=3
).map(lambda d: {k: v for k, v in d.items() if k not in ("sender", "message")})


@st.composite
def json_bodies(draw: Any) -> Dict[str, Any]:
    """A JSON object body: sender and message of any type (or missing), extra fields."""
    body: Dict[str, Any] = dict(draw(unknown_fields))
    if draw(st.integers(0, 9)):
        body["sender"] = draw(senders)
    if draw(st.integers(0, 9)):
        body["message"] = draw(messages)
    return body


def encode(body: Any, ensure_ascii: bool) -> bytes:
    """JSON bytes; a lone surrogate with ensure_ascii=False makes the bytes invalid UTF-8."""
    return json.dumps(body, ensure_ascii=ensure_ascii).encode("utf-8", "surrogatepass")


@st.composite
def raw_bodies(draw: Any) -> bytes:
    """Request bodies that are mostly not a valid chat request."""
    kind = draw(
        st.sampled_from(
            [
                "bytes",
                "invalid_utf8",
                "truncated",
                "nested",
                "huge",
                "numbers",
                "encodings",
                "near_limit",
                "text",
            ]
        )
    )
    if kind == "bytes":
        return draw(st.binary(max_size=2_000))
    if kind == "invalid_utf8":
        bad = draw(
            st.sampled_from(
                [
                    b"\xff",
                    b"\xfe\xff",
                    b"\xc3\x28",
                    b"\xed\xa0\x80",
                    b"\xf4\x90\x80\x80",
                    b"\xc0\xaf",
                    b"\x80",
                    b"\xe2\x82",
                ]
            )
        )
        return b'{"sender": "fuzz", "message": "' + bad + b'"}'
    if kind == "truncated":
        full = encode(draw(json_bodies()), draw(st.booleans()))
        return full[: draw(st.integers(0, max(0, len(full) - 1)))]
    if kind == "nested":
        depth = draw(st.sampled_from([10, 500, 990, 1_000, 5_000, 100_000]))
        opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
        inner = opener * depth + "1" + closer * depth * draw(st.integers(0, 1))
        return ('{"sender": "fuzz", "message": "hi", "x": ' + inner + "}").encode()
    if kind == "huge":
        size = draw(st.integers(1024 * 1024 - 100, 1024 * 1024 + 200_000))
        head = b'{"sender": "fuzz", "message": "'
        return head + b"a" * max(0, size - len(head) - 2) + b'"}'
    if kind == "numbers":
        value = draw(
            st.sampled_from(
                ["1" * 5_000, "1e999999", "-0", "NaN", "Infinity", "0x10", "1_000", "01"]
            )
        )
        return ('{"sender": "fuzz", "message": ' + value + "}").encode()
    if kind == "encodings":
        text = json.dumps({"sender": "fuzz", "message": draw(nasty_text)})
        codec = draw(
            st.sampled_from(["utf-16", "utf-16-be", "utf-32", "utf-8-sig", "latin-1", "cp1252"])
        )
        return text.encode(codec, "replace")
    if kind == "near_limit":
        size = draw(st.integers(1024 * 1024 - 300, 1024 * 1024 + 300))
        return b" " * size + b"{}"
    return draw(
        st.sampled_from(
            [
                "",
                " ",
                "null",
                "true",
                "[]",
                "{}",
                '"text"',
                "[1,2]",
                "{,}",
                "{'sender': 'a'}",
                '{"sender": "a", "message": "hi",}',
                "sender=a&message=hi",
            ]
        )
    ).encode()


content_types = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "application/json",
            "application/json; charset=utf-8",
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "multipart/form-data",
            "application/xml",
            "text/html",
            "",
            "application/json; charset=latin-1",
            "*/*",
            "application/octet-stream",
        ]
    ),
)
header_safe = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60)

"""Fuzzing the content loaders with broken staff edits of data/content/*.yml.

Each example breaks one file of a copy of the content (random bytes, invalid UTF-8, YAML
bombs and anchors, deep nesting, wrong types and unknown keys anywhere, huge strings,
emoji/RTL text, stray characters) and loads it through the real loaders: the action server's
``load_content`` / ``ContentStore``, the NLU rules loader (``load_rules``), the channel's
``ChannelTexts`` and ``make check``'s functions. Only the documented error may come out, and
it must name the file; a live store keeps serving the last good content.

The seed is the project's content with every list cut to its first entries: the same shape,
a tenth of the size, so that pure-Python YAML parsing allows hundreds of examples.
"""

import contextlib
import datetime
import importlib.util
import io
import os
from pathlib import Path
from typing import Any, Dict, List

import pytest
import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from clinic_channel.texts import ChannelTexts
from clinic_content.answerability import parse_answerability
from clinic_content.answers import parse_answers
from clinic_content.booking import parse_booking
from clinic_content.contact import parse_contact
from clinic_content.contraindications_check import load_rules, parse_contraindications
from clinic_content.errors import ContentError, ContentLoadError
from clinic_content.fields import read_yaml
from clinic_content.messages import parse_messages
from clinic_content.store import ContentStore, domain_intents, load_content
from tests.fuzz import strategies as S
from tests.fuzz.support import fuzz_settings, tried

PROJECT_DIR = Path(__file__).resolve().parents[2]
CONTENT_DIR = PROJECT_DIR / "data" / "content"
FILES = [
    "answers.yml",
    "messages.yml",
    "contact.yml",
    "booking.yml",
    "contraindications.yml",
    "answerability.yml",
]
KNOWN_INTENTS = domain_intents()


def trim(value: Any) -> Any:
    """The same structure with every list cut to its first three entries."""
    if isinstance(value, dict):
        return {key: trim(item) for key, item in value.items()}
    if isinstance(value, list):
        return [trim(item) for item in value[:3]]
    return value


SEED_DATA: Dict[str, Any] = {
    name: trim(yaml.safe_load((CONTENT_DIR / name).read_text(encoding="utf-8"))) for name in FILES
}
# The trimmed answers.yml keeps three answers: the hinges may only name those.
SEED_ANSWER_IDS = {answer["id"] for answer in SEED_DATA["answers.yml"]["answers"]}
for _hinge in SEED_DATA["answerability.yml"]["hinges"]:
    _hinge["covered_by"] = [i for i in _hinge.get("covered_by") or [] if i in SEED_ANSWER_IDS]
# ...and so may the topic words
SEED_DATA["answerability.yml"]["topic_words"] = {
    answer_id: words
    for answer_id, words in (SEED_DATA["answerability.yml"].get("topic_words") or {}).items()
    if answer_id in SEED_ANSWER_IDS
}


def dump(data: Any) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)


SEED_TEXT = {name: dump(data) for name, data in SEED_DATA.items()}


def write_seed(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in SEED_TEXT.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


# --- broken edits -----------------------------------------------------------------

# Values YAML can hold that the files never expect.
odd_values = st.one_of(
    S.json_values,
    st.sampled_from(
        [
            None,
            True,
            False,
            0,
            -1,
            10**40,
            float("nan"),
            float("-inf"),
            1.5,
            datetime.date(2001, 1, 1),
            datetime.datetime(2001, 1, 1, 10, 0),
            b"\x00\xff",
            [],
            {},
            "",
            " ",
            "no",
            "yes",
            "~",
            "{limit",
            "{0}{x}",
            "http://",
            "mailto:",
            "tel:",
            "javascript:alert(1)",
        ]
    ),
    S.nasty_text.map(lambda text: text.encode("utf-8", "replace").decode("utf-8")),
    st.integers(1_000, 30_000).map(lambda n: "é😀 " * n),  # up to 120 000 characters
)
odd_keys = st.one_of(
    st.sampled_from(
        [
            None,
            True,
            1,
            1.5,
            "",
            "txet",
            "id ",
            "ID",
            "<<",
            "answers",
            "reply",
            "terms",
            "😀",
            "\u202eid",
        ]
    ),
    st.text(max_size=12),
)


@st.composite
def path_into(draw: Any, data: Any) -> List[Any]:
    """A path of keys / indexes from the top of ``data`` to some value inside it."""
    path: List[Any] = []
    node = data
    while isinstance(node, (dict, list)) and node and draw(st.integers(0, 3)):
        key = draw(st.sampled_from(list(node) if isinstance(node, dict) else range(len(node))))
        path.append(key)
        node = node[key]
    return path


def replaced(data: Any, path: List[Any], value: Any) -> Any:
    if not path:
        return value
    copy = dict(data) if isinstance(data, dict) else list(data)
    copy[path[0]] = replaced(data[path[0]], path[1:], value)
    return copy


def with_key(data: Any, path: List[Any], key: Any, value: Any) -> Any:
    """``data`` with ``key: value`` added in the mapping at ``path`` (or the nearest above)."""

    def add(node: Any) -> Any:
        return {**node, key: value} if isinstance(node, dict) else node

    nodes = [data]
    for step in path:
        nodes.append(nodes[-1][step])
    for depth in range(len(path), -1, -1):
        if isinstance(nodes[depth], dict):
            return replaced(data, path[:depth], add(nodes[depth]))
    return data


MARKER = "FUZZ_MARKER_VALUE"
ANCHORS = {
    # a billion laughs: 9**9 strings if anything walks or prints it
    "laughs": "\n".join(
        ['fuzz_a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
        + [f"fuzz_a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    ),
    "merge": "\n".join(
        ["fuzz_m0: &m0 {k0: a, k1: b}"]
        + [f"fuzz_m{i}: &m{i} {{<<: [*m{i - 1}, *m{i - 1}], k{i + 1}: x}}" for i in range(1, 20)]
    ),
    "recursive": "fuzz_r: &r [*r, {self: *r}]",
    "text": 'fuzz_t: &t "a shared text"',
}
ALIASES = {"laughs": "*a8", "merge": "*m19", "recursive": "*r", "text": "*t"}


@st.composite
def broken_edit(draw: Any, name: str) -> bytes:
    """The bytes of one broken (or oddly valid) version of the file ``name``."""
    data, text = SEED_DATA[name], SEED_TEXT[name]
    kind = draw(
        st.sampled_from(
            [
                "wrong_type",
                "wrong_type",
                "unknown_key",
                "unknown_key",
                "bomb",
                "bytes",
                "invalid_utf8",
                "deep",
                "typo",
                "tags",
                "nasty_text",
            ]
        )
    )
    if kind == "wrong_type":
        return dump(replaced(data, draw(path_into(data)), draw(odd_values))).encode()
    if kind == "unknown_key":
        return dump(
            with_key(data, draw(path_into(data)), draw(odd_keys), draw(odd_values))
        ).encode()
    if kind == "nasty_text":
        return dump(
            replaced(
                data,
                draw(path_into(data)),
                draw(S.texts).encode("utf-8", "replace").decode("utf-8"),
            )
        ).encode()
    if kind == "bomb":
        anchor = draw(st.sampled_from(sorted(ANCHORS)))
        body = dump(replaced(data, draw(path_into(data)), MARKER))
        return (ANCHORS[anchor] + "\n" + body.replace(MARKER, ALIASES[anchor])).encode()
    if kind == "bytes":
        return draw(st.binary(max_size=3_000))
    if kind == "invalid_utf8":
        raw = bytearray(text.encode())
        at = draw(st.integers(0, len(raw)))
        raw[at:at] = draw(
            st.sampled_from(
                [b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\x80\x80", b"\xfe\xff", b"\xe2\x82"]
            )
        )
        return bytes(raw)
    if kind == "deep":
        depth = draw(st.sampled_from([50, 500, 990, 3_000, 20_000]))
        opener, closer = draw(st.sampled_from([("[", "]"), ("{a: ", "}"), ("- ", "")]))
        if opener == "- ":  # indented lines: the file grows with depth squared
            depth = min(depth, 1_000)
            nested = "".join("  " * i + "-\n" for i in range(depth)) + "  " * depth + "x\n"
        else:
            nested = opener * depth + "x" + closer * depth * draw(st.integers(0, 1))
        return (text + f"\nfuzz_deep: {nested}\n" if draw(st.booleans()) else nested).encode()
    if kind == "typo":
        at = draw(st.integers(0, len(text)))
        cut = draw(st.integers(0, 40))
        insert = draw(
            st.sampled_from(
                [
                    "\t",
                    ":",
                    ": ",
                    "'",
                    '"',
                    "#",
                    "- ",
                    "\n  ",
                    "&x ",
                    "*x",
                    "!!python/object:os.system ",
                    "? ",
                    "{",
                    "]",
                    "%",
                    "@",
                    "`",
                    "\x00",
                    "\x07",
                    "\x1b",
                    "\ufeff",
                    "\u2028",
                    "---\n",
                    "...\n",
                    "!!binary ",
                    "!!set ",
                    "!!omap ",
                    "<<: ",
                ]
            )
        )
        return (text[:at] + insert + text[at + cut :]).encode("utf-8")
    tag = draw(
        st.sampled_from(
            [
                "!!python/object/apply:os.system ['true']",
                "!!python/name:os.system",
                "!!binary aGVsbG8=",
                "!!set {a, b}",
                "!!omap [a: 1, b: 2]",
                "!!timestamp 2001-12-14",
                "!!float .nan",
                "!!int 0x1F",
                "!custom thing",
                "!!str",
                "!!null",
            ]
        )
    )
    return dump(replaced(data, draw(path_into(data)), MARKER)).replace(MARKER, tag).encode()


edits = st.sampled_from(FILES).flatmap(lambda name: st.tuples(st.just(name), broken_edit(name)))


# --- properties -------------------------------------------------------------------


def check_content_errors(error: ContentLoadError, folder: Path, name: str) -> None:
    assert error.errors, "a ContentLoadError must list its problems"
    for problem in error.errors:
        assert isinstance(problem, ContentError)
        assert problem.path == folder / name, problem.describe()  # the other files are fine
        assert problem.line is None or problem.line >= 1
        described = problem.describe()
        assert described.startswith(str(folder / name)) and problem.message.strip()


# What load_content does with each file (parsing all five for every example would
# take five times as long; the live-store test goes through load_content itself).
PARSERS = {
    "answers.yml": lambda data, path, errors: parse_answers(data, path, KNOWN_INTENTS, errors),
    "messages.yml": lambda data, path, errors: parse_messages(data, path, KNOWN_INTENTS, errors),
    "contact.yml": parse_contact,
    "booking.yml": parse_booking,
    "contraindications.yml": parse_contraindications,
    "answerability.yml": lambda data, path, errors: parse_answerability(
        data, path, SEED_ANSWER_IDS, errors
    ),
}


def load_one(folder: Path, name: str) -> None:
    """read_yaml + the file's parse function, as load_content runs them."""
    errors: list = []
    PARSERS[name](read_yaml(folder / name, errors), folder / name, errors)
    if errors:
        raise ContentLoadError(errors)


def load_everything(folder: Path, name: str) -> None:
    """The action server's, the NLU's and the channel's loaders on one edited file."""
    try:
        load_one(folder, name)
    except ContentLoadError as error:
        check_content_errors(error, folder, name)
    if name == "contraindications.yml":
        try:
            load_rules(folder / name)
        except ContentLoadError as error:  # the NLU's loader is the actions' loader
            check_content_errors(error, folder, name)
    if name == "messages.yml":
        text = ChannelTexts(folder / name).get("too_long", limit=1000)
        assert isinstance(text, str) and text.strip()


@pytest.fixture(scope="module")
def seed_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = write_seed(tmp_path_factory.mktemp("fuzz-content"))
    load_content(folder, KNOWN_INTENTS)  # the seed itself is valid
    load_rules(folder / "contraindications.yml")
    return folder


@fuzz_settings(max_examples=500)
@given(edit=edits)
@example(edit=("answers.yml", b"answers: \x07\n"))
@example(edit=("answers.yml", b"[" * 5_000))
@example(edit=("contraindications.yml", b"[" * 5_000))
@example(edit=("answers.yml", b"? [a, b]\n: 1\n"))
@example(edit=("contraindications.yml", b"1: a\nfoo: b\n"))
@example(
    edit=(
        "contact.yml",
        (ANCHORS["laughs"] + "\nclinic: {name: X, email: *a8}\nhandoff: {}\n").encode(),
    )
)
def test_broken_edits_give_the_documented_error(seed_folder: Path, edit: Any) -> None:
    name, raw = edit
    tried("content: broken edits, every loader")
    path = seed_folder / name
    try:
        path.write_bytes(raw)
        load_everything(seed_folder, name)
    finally:
        path.write_text(SEED_TEXT[name], encoding="utf-8")


@pytest.fixture(scope="module")
def live_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_seed(tmp_path_factory.mktemp("fuzz-live-content"))


_clock = [1_700_000_000 * 10**9]


def touch(path: Path) -> None:
    """A new modification time for every write, as an editor saving a file gives."""
    _clock[0] += 10**9
    os.utime(path, ns=(_clock[0], _clock[0]))


@fuzz_settings(max_examples=80)
@given(edit=edits)
def test_live_store_keeps_the_last_good_content(live_folder: Path, edit: Any) -> None:
    name, raw = edit
    tried("content: live store, broken edit then fix")
    store = ContentStore(live_folder, KNOWN_INTENTS)
    texts = ChannelTexts(live_folder / "messages.yml")
    good = store.get()
    good_text = texts.get("too_long", limit=7)
    path = live_folder / name
    try:
        path.write_bytes(raw)
        touch(path)
        served = store.get()
        assert texts.get("too_long", limit=7).strip()
        if store.last_error is None:  # an odd but valid edit is taken
            assert served is not good
        else:
            assert served is good
            assert str(live_folder / name) in store.last_error
            if name == "messages.yml":
                assert texts.get("too_long", limit=7) == good_text
    finally:
        path.write_text(SEED_TEXT[name], encoding="utf-8")
        touch(path)
    assert store.get() is not good and store.last_error is None  # the fix is picked up
    assert texts.get("too_long", limit=7) == good_text


def load_check_script() -> Any:
    spec = importlib.util.spec_from_file_location(
        "clinic_check_script", PROJECT_DIR / "scripts" / "check.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def check_script() -> Any:
    return load_check_script()


@fuzz_settings(max_examples=40)
@given(edit=edits)
def test_make_check_reports_each_broken_edit(
    seed_folder: Path, check_script: Any, edit: Any
) -> None:
    name, raw = edit
    tried("content: make check functions")
    path = seed_folder / name
    output = io.StringIO()
    try:
        path.write_bytes(raw)
        with contextlib.redirect_stdout(output):
            errors = check_script.check_content(seed_folder)
    finally:
        path.write_text(SEED_TEXT[name], encoding="utf-8")
    assert isinstance(errors, int) and errors >= 0
    for line in output.getvalue().splitlines():
        if line.startswith("ERROR ") and "no answer replies" not in line:
            assert str(seed_folder / name) in line, line

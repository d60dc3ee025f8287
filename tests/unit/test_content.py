"""The content files load, and a broken edit is reported by file, line and plain words."""

import datetime
import os
import re
import shutil
from pathlib import Path

import pytest

from clinic_content.errors import ContentLoadError
from clinic_content.store import ContentStore, domain_intents, load_content
from tests.content_edit import rename_key, replace_in, set_text, set_value

CONTENT_DIR = Path(__file__).resolve().parents[2] / "data" / "content"
ARTICLE_TOPICS = [
    "ask_what_is",
    "ask_how_it_works",
    "ask_history",
    "ask_results",
    "ask_experience",
    "ask_vs_surgery",
    "ask_celebrities",
    "ask_other_uses",
    "ask_suitability",
    "ask_safety",
    "ask_clinic_service",
    "ask_memberships",
]
UNKNOWN_FACTS = [
    "ask_price",
    "ask_session_length",
    "ask_number_of_sessions",
    "ask_results_duration",
    "ask_clinic_logistics",
    "ask_unknown_other",
]


@pytest.fixture
def content_copy(tmp_path):
    """A copy of data/content to break."""
    target = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, target)
    return target


def test_every_question_intent_has_exactly_one_answer(content):
    for intent in (
        ARTICLE_TOPICS
        + UNKNOWN_FACTS
        + ["greet", "goodbye", "thank", "bot_challenge", "out_of_scope"]
    ):
        assert intent in content.answer_for_intent, intent


@pytest.mark.parametrize("intent", ARTICLE_TOPICS)
def test_article_answers_come_from_an_article_section(content, intent):
    answer = content.answer_for_intent[intent]
    assert answer.kind == "article"
    assert answer.source and answer.source != "none"


@pytest.mark.parametrize("intent", UNKNOWN_FACTS)
def test_unknown_facts_say_so_and_invent_no_figure(content, intent):
    # "Says so" is the kind, which decides how it is sent (actions/answers.py adds the person and
    # the contacts); how staff word "I don't have that" is theirs. No figure, whatever the words.
    answer = content.answer_for_intent[intent]
    assert answer.kind == "unknown"
    service = content.contact["clinic"]["service_name"]  # a name may have a digit ("4-D Facial")
    words = re.sub(re.escape(service), "", answer.text, flags=re.I)
    assert not any(ch.isdigit() for ch in words), answer.text
    assert "$" not in answer.text


def test_no_answer_mentions_a_price_or_duration(content):
    for answer in content.answers.values():
        assert not re.search(
            r"\$\s*\d|\d+\s*(minutes|mins|hours|dollars|usd)\b", answer.text, re.I
        ), answer.id


def break_file(directory: Path, name: str, old: str, new: str) -> None:
    path = directory / name
    text = path.read_text()
    assert old in text, f"{old!r} not in {name}"
    path.write_text(text.replace(old, new, 1))


def line_of(directory: Path, name: str, needle: str) -> int:
    """The last line containing ``needle`` (a duplicate is reported where it repeats)."""
    found = [
        number
        for number, line in enumerate((directory / name).read_text().splitlines(), 1)
        if needle in line
    ]
    assert found, needle
    return found[-1]


def misspell_a_field(directory: Path) -> None:
    rename_key(directory / "answers.yml", ("answers", "what_is_microcurrent", "text"), "txet")


def mistype_a_button_payload(directory: Path) -> None:
    path = directory / "answers.yml"
    path.write_text(
        re.sub(r'payload: *"?/\w+"?', 'payload: "/ask_no_such_thing"', path.read_text(), count=1)
    )


def use_an_id_twice(directory: Path) -> None:
    set_text(directory / "answers.yml", ("answers", "history", "id"), "what_is_microcurrent")


def misspell_an_intent(directory: Path) -> None:
    set_value(directory / "answers.yml", ("answers", "history", "intents"), ["ask_histroy"])


def misspell_a_required_placeholder(directory: Path) -> None:
    replace_in(directory / "messages.yml", ("too_long",), "{limit}", "{limt}")


def write_a_review_date_in_words(directory: Path) -> None:
    path = directory / "answers.yml"
    path.write_text(re.sub(r"review_by: \S+", "review_by: someday", path.read_text(), count=1))


def edit_by(old: str, new: str, name: str = "answers.yml"):
    return lambda directory: break_file(directory, name, old, new)


# Each break is found by structure (keys, ids, intents, a required placeholder), never by the
# staff's wording, so rewording an answer cannot break this test.
@pytest.mark.parametrize(
    "name, breaks, needle, expected",
    [
        ("answers.yml", misspell_a_field, "txet:", "unknown field 'txet'"),
        ("answers.yml", use_an_id_twice, "what_is_microcurrent", "is used twice"),
        ("answers.yml", misspell_an_intent, "ask_histroy", "no training data defines"),
        ("answers.yml", edit_by("kind: article", "kind: artcle"), "kind: artcle", "must be one of"),
        ("answers.yml", mistype_a_button_payload, '/ask_no_such_thing"', "is not an intent"),
        ("messages.yml", misspell_a_required_placeholder, "too_long:", "must contain {limit}"),
        ("answers.yml", write_a_review_date_in_words, "review_by: someday", "should be a date"),
    ],
    ids=["field", "id twice", "intent", "kind", "payload", "placeholder", "date"],
)
def test_broken_edit_is_reported_with_file_and_line(content_copy, name, breaks, needle, expected):
    breaks(content_copy)
    with pytest.raises(ContentLoadError) as error:
        load_content(content_copy, domain_intents())
    messages = [e.describe() for e in error.value.errors]
    line = line_of(content_copy, name, needle)
    assert any(f"{name}:" in m and expected in m for m in messages), messages
    assert any(
        f"{name}:{line}" in m or f"{name}:{line - 1}" in m or f"{name}:{line + 1}" in m
        for m in messages
    ), (line, messages)


def test_yaml_syntax_error_names_line(content_copy):
    path = content_copy / "answers.yml"
    lines = path.read_text().splitlines()
    index = next(i for i, line in enumerate(lines) if line.strip().startswith("- id: history"))
    lines[index + 1] = "    intents: [ask_history"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ContentLoadError) as error:
        load_content(content_copy, domain_intents())
    assert "answers.yml:" in str(error.value) and "YAML syntax error" in str(error.value)


def test_missing_text_is_named(content_copy):
    rename_key(content_copy / "answers.yml", ("answers", "what_is_microcurrent", "text"), "note")
    with pytest.raises(ContentLoadError) as error:
        load_content(content_copy, domain_intents())
    assert "'text' is missing for answer 'what_is_microcurrent'" in str(error.value)


def test_review_dates_in_the_past_are_warnings(content):
    later = load_content(CONTENT_DIR, domain_intents(), today=datetime.date(2099, 1, 1))
    assert later.warnings and "due for review" in later.warnings[0]
    assert not load_content(CONTENT_DIR, domain_intents(), today=datetime.date(2000, 1, 1)).warnings


def later_save(path: Path, text: str) -> None:
    """Write, moving the modification time on as a later save would (coarse file clocks)."""
    before = path.stat().st_mtime_ns
    path.write_text(text)
    status = path.stat()
    os.utime(path, ns=(status.st_atime_ns, max(status.st_mtime_ns, before) + 1_000_000))


def test_store_reloads_edits_and_keeps_last_good_on_broken_edit(content_copy):
    store = ContentStore(content_copy, domain_intents())
    first = store.get().answer_for_intent["ask_history"].text
    path = content_copy / "answers.yml"
    original = path.read_text()
    set_text(path, ("answers", "history", "text"), "EDITED history.")
    edited = path.read_text()
    later_save(path, edited)
    assert store.get().answer_for_intent["ask_history"].text == "EDITED history."
    later_save(path, edited + "\n  - id: [broken\n")
    still = store.get()
    assert store.last_error and "answers.yml" in store.last_error
    assert still.answer_for_intent["ask_history"].text == "EDITED history."
    later_save(path, original)
    assert store.get().answer_for_intent["ask_history"].text == first
    assert store.last_error is None

"""Placeholders in staff-editable messages (clinic_content/placeholder_names.py, placeholders.py,
placeholder_check.py): what each message may use is declared once; `make check` refuses any
other name, a missing required one and stray curly brackets; at run time a mistyped one never
crashes a reply. Assertions are about structure (no brace left, the value shown, the rest of
the staff's text kept), never about the staff's wording."""

import dataclasses
import logging
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Dict, Iterator, Set, Tuple

import pytest
import yaml

from actions import booking, form_endings, safety
from actions.actions_answer import ActionAnswer
from clinic_channel.texts import ChannelTexts
from clinic_content import placeholders
from clinic_content import store as content_store
from clinic_content.contraindications_check import load_rules
from clinic_content.email import load_email_template
from clinic_content.errors import ContentLoadError
from clinic_content.placeholder_check import file_problems
from clinic_content.placeholder_names import DECLARED, NOT_MESSAGES, declared
from clinic_content.placeholders import PLACEHOLDER, render
from clinic_content.store import ContentStore, domain_intents, load_content
from clinic_content.yaml_lines import load_yaml_file
from tests.content_edit import line_of_key, replace_in, set_text

PROJECT_DIR = Path(__file__).resolve().parents[2]
CONTENT = PROJECT_DIR / "data" / "content"
GUIDE = PROJECT_DIR / "docs" / "staff-guide.md"
SAFETY_REMINDER = ("messages.yml", "safety_reminder")
BOOKING_RECEIVED = ("booking.yml", "prompts.booking_received")


@pytest.fixture(autouse=True)
def fresh_reports():
    """The renderer logs each broken placeholder once per process; each test sees its own."""
    placeholders._report.cache_clear()
    yield
    placeholders._report.cache_clear()


@pytest.fixture
def content_copy(tmp_path: Path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(CONTENT, target)
    return target


def line_of(path: Path, needle: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def tidy(text: str) -> bool:
    """No placeholder or brace left, no doubled space, no space before punctuation."""
    return (
        "{" not in text
        and "}" not in text
        and "  " not in text
        and not re.search(r" [,.;:!?)]", text)
    )


# --- the renderer ---------------------------------------------------------------------------


def test_declared_placeholders_are_filled_and_none_shows_as_nothing() -> None:
    assert render("{conditions}", {"conditions": "epilepsy"}, where=SAFETY_REMINDER) == "epilepsy"
    text = render("A {name} B", {"name": None}, where=BOOKING_RECEIVED)
    assert "None" not in text and text.startswith("A") and text.endswith("B")


def test_a_name_the_message_may_not_use_is_never_filled() -> None:
    text = render("Call {phone}.", {"phone": "555 0100"}, where=("messages.yml", "offer_person"))
    assert "555" not in text and tidy(text) and text.startswith("Call")


@pytest.mark.parametrize(
    "text",
    [
        "{see below}",
        "a } b",
        "a { b",
        "{ conditions }",
        "{}",
        "{0}",
        "{conditions!r}",
        "{conditions.__class__}",
        "{conditions[0]}",
        "}{",
        "{{",
        "100% {",
    ],
)
def test_braces_that_are_no_placeholder_stay_as_written(text: str) -> None:
    assert render(text, {"conditions": "epilepsy"}, where=SAFETY_REMINDER) == text


def test_double_braces_fill_the_inner_placeholder_and_keep_the_outer_ones() -> None:
    text = render("{{conditions}}", {"conditions": "epilepsy"}, where=SAFETY_REMINDER)
    assert text == "{epilepsy}"


@pytest.mark.parametrize(
    "template",
    [
        "As you mentioned {zzz}, please wait.",
        "{zzz} please wait.",
        "Please wait ({zzz} first).",
        "Please wait {zzz}",
        "Please {zzz}{yyy} wait.",
    ],
)
def test_an_unknown_placeholder_is_left_out_tidily_and_logged(template: str, caplog) -> None:
    with caplog.at_level(logging.ERROR, logger="clinic_content.placeholders"):
        text = render(template, {"conditions": "epilepsy"}, where=SAFETY_REMINDER)
    assert tidy(text) and "wait" in text and "please" in text.lower()
    logged = " ".join(record.getMessage() for record in caplog.records)
    assert "messages.yml" in logged and "safety_reminder" in logged and "{zzz}" in logged


@pytest.mark.parametrize(
    "where, typo, meant",
    [
        (SAFETY_REMINDER, "condition", "conditions"),
        (BOOKING_RECEIVED, "ref", "reference"),
        (BOOKING_RECEIVED, "nmae", "name"),
        (("contraindications.yml", "after_treatment.reply"), "phone", "phone_sentence"),
    ],
)
def test_a_typo_that_plainly_means_a_declared_name_is_filled_as_it(
    where, typo, meant, caplog
) -> None:
    with caplog.at_level(logging.ERROR, logger="clinic_content.placeholders"):
        text = render(f"x {{{typo}}} y", {meant: "VALUE"}, where=where)
    assert text == "x VALUE y"
    assert f"{{{typo}}}" in caplog.text and f"{{{meant}}}" in caplog.text


def test_a_declared_name_the_code_gave_no_value_for_is_left_out(caplog) -> None:
    with caplog.at_level(logging.ERROR, logger="clinic_content.placeholders"):
        text = render("Reference {reference}.", {}, where=BOOKING_RECEIVED)
    assert tidy(text) and "no value" in caplog.text


def test_each_broken_placeholder_is_logged_once(caplog) -> None:
    with caplog.at_level(logging.ERROR, logger="clinic_content.placeholders"):
        for _ in range(5):
            render("As you mentioned {condition}.", {"conditions": "x"}, where=SAFETY_REMINDER)
    assert len(caplog.records) == 1


# --- the declaration against the shipped content ---------------------------------------------


def key_patterns(data: Any, prefix: str = "") -> Iterator[Tuple[str, Any]]:
    """(declared-style key, value) for every value in a loaded file; lists as ``[]``."""
    if isinstance(data, dict):
        for name, value in data.items():
            key = f"{prefix}.{name}" if prefix else str(name)
            yield key, value
            yield from key_patterns(value, key)
    elif isinstance(data, list):
        for item in data:
            yield f"{prefix}[]", item
            yield from key_patterns(item, f"{prefix}[]")


def shipped(file_name: str) -> Dict[str, list]:
    found: Dict[str, list] = {}
    for key, value in key_patterns(load_yaml_file(CONTENT / file_name)):
        found.setdefault(key, []).append(value)
    return found


# Declared keys the shipped content leaves out (optional in the file); their parent must exist.
OPTIONAL = {("contraindications.yml", "uncovered.conditions[].reply")}


@pytest.mark.parametrize("file_name, key", [(f, k) for f, keys in DECLARED.items() for k in keys])
def test_every_declared_message_key_exists_in_the_content(file_name: str, key: str) -> None:
    found = shipped(file_name)
    if (file_name, key) in OPTIONAL:
        assert key.rsplit(".", 1)[0] in found
        return
    assert key in found, f"{file_name}: {key} is declared but not in the content"
    assert all(isinstance(v, str) or v is None for v in found[key]), key  # a text (or null)


def test_every_placeholder_used_in_the_shipped_content_is_declared() -> None:
    used: Set[Tuple[str, str]] = set()
    for file_name in (
        "messages.yml",
        "booking.yml",
        "contact.yml",
        "contraindications.yml",
        "email.yml",
        "answers.yml",
        "answerability.yml",
    ):
        data = load_yaml_file(CONTENT / file_name)
        assert file_problems(data, file_name) == [], file_name
        for key, values in shipped(file_name).items():
            if key.rsplit(".", 1)[-1] in NOT_MESSAGES:
                continue
            for value in values:
                for name in PLACEHOLDER.findall(value) if isinstance(value, str) else ():
                    assert name in declared(file_name, key).may, (file_name, key, name)
                    used.add((file_name, key))
    assert len(used) >= 25  # the walk does reach the messages


def test_every_must_is_a_may_with_a_reason() -> None:
    for file_name, keys in DECLARED.items():
        for key, names in keys.items():
            assert set(names.must) <= set(names.may), (file_name, key)
            assert names.why or not names.must, (file_name, key)


def test_the_staff_guide_lists_every_declared_message_and_its_placeholders() -> None:
    guide = GUIDE.read_text(encoding="utf-8")
    section = guide.split("## Placeholders", 1)[1].split("\n## ", 1)[0]
    rows = {
        line.split("|")[1].strip(" `"): line
        for line in section.splitlines()
        if line.startswith("| `")
    }
    for file_name, keys in DECLARED.items():
        assert f"`data/content/{file_name}`" in section, file_name
        for key, names in keys.items():
            assert key in rows, f"docs/staff-guide.md: {file_name} {key} is not listed"
            may, must = rows[key].split("|")[2:4]
            assert re.findall(r"\{(\w+)\}", may) == list(names.may), key
            assert re.findall(r"\{(\w+)\}", must) == list(names.must), key


# --- `make check` ---------------------------------------------------------------------------


def run_check(content_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "scripts/check.py", "--skip-rasa", "--content-dir", str(content_dir)],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=300,
    )


# Content edits find their place by key (tests/content_edit.py) and change a placeholder, or
# write a text of the test's own: rewording the shipped messages cannot break these tests.
def mistype(file_name: str, place: Tuple[str, ...], typo: str):
    """Write a text of the test's own with the typo (the shipped text may not use the name)."""
    return lambda folder: set_text(folder / file_name, place, f"A test text about {typo}.")


def replace(file_name: str, place: Tuple[str, ...], old: str, new: str):
    """Change a required placeholder, which every valid version of the text has."""
    return lambda folder: replace_in(folder / file_name, place, old, new)


@pytest.mark.parametrize(
    "file_name, breaks, key, typo, allowed",
    [
        (
            "messages.yml",
            mistype("messages.yml", ("safety_reminder",), "{condition}"),
            "safety_reminder",
            "{condition}",
            "{conditions}",
        ),
        (
            "booking.yml",
            replace("booking.yml", ("prompts", "booking_received"), "{reference}", "{ref}"),
            "booking_received",
            "{ref}",
            "{reference}",
        ),
    ],
)
def test_make_check_refuses_a_mistyped_placeholder(
    content_copy: Path, file_name, breaks, key, typo, allowed
) -> None:
    path = content_copy / file_name
    breaks(content_copy)
    result = run_check(content_copy)
    assert result.returncode == 1, result.stdout
    errors = [line for line in result.stdout.splitlines() if line.startswith("ERROR")]
    where = f"{file_name}:{line_of(path, typo)}:"
    assert any(
        where in line and key in line and typo in line and allowed in line for line in errors
    ), result.stdout


def load_problems(content_dir: Path) -> list:
    with pytest.raises(ContentLoadError) as caught:
        load_content(content_dir, domain_intents())
    return [error.describe() for error in caught.value.errors]


def write(file_name: str, place: Tuple[str, ...], text: str):
    return lambda folder: set_text(folder / file_name, place, text)


@pytest.mark.parametrize(
    "file_name, breaks, expected",
    [
        (
            "messages.yml",
            write("messages.yml", ("safety_reminder",), "{see below} Test text."),
            "'{see below}'",
        ),
        (
            "messages.yml",
            write("messages.yml", ("safety_reminder",), "About {conditions, test."),
            "without a '}'",
        ),
        (
            "booking.yml",
            write("booking.yml", ("prompts", "ask_name"), "} May I have a test name?"),
            "without a '{'",
        ),
        (
            "answers.yml",
            write("answers.yml", ("answers", "what_is_microcurrent", "text"), "{A test answer"),
            "no placeholders",
        ),
        (
            "booking.yml",
            replace("booking.yml", ("prompts", "booking_received"), "{reference}", ""),
            "must contain {reference}",
        ),
        (
            "booking.yml",
            replace("booking.yml", ("prompts", "ask_confirm"), "{summary}", ""),
            "must contain {summary}",
        ),
        (
            "messages.yml",
            replace("messages.yml", ("contact_phone",), "{phone}", "{ phone }"),
            "without spaces: {phone}",
        ),
        (
            "contraindications.yml",
            mistype("contraindications.yml", ("pushback_reply_uncovered",), "{condition}"),
            "pushback_reply_uncovered uses the unknown placeholder '{condition}'",
        ),
    ],
    ids=[
        "unknown",
        "no closing",
        "no opening",
        "none allowed",
        "reference",
        "summary",
        "spaces",
        "nlu rules",
    ],
)
def test_the_content_check_refuses_stray_braces_and_missing_required_placeholders(
    content_copy: Path, file_name: str, breaks, expected: str
) -> None:
    breaks(content_copy)
    problems = load_problems(content_copy)
    assert any(f"{file_name}:" in p and expected in p for p in problems), problems


def test_the_store_keeps_the_last_good_wording_while_a_placeholder_is_mistyped(
    content_copy: Path,
) -> None:
    store = ContentStore(content_copy, domain_intents())
    good = store.get().messages["safety_reminder"]
    path = content_copy / "messages.yml"
    mistype("messages.yml", ("safety_reminder",), "{condition}")(content_copy)
    path.touch()
    assert store.get().messages["safety_reminder"] == good
    assert "safety_reminder" in (store.last_error or "")


def test_the_nlu_rules_refuse_a_mistyped_label_in_an_uncovered_condition_reply(
    content_copy: Path,
) -> None:
    path = content_copy / "contraindications.yml"
    set_text(path, ("uncovered", "conditions", "breastfeeding", "reply"), "About {lable}.")
    with pytest.raises(ValueError, match=r"unknown placeholder '\{lable\}'"):
        load_rules(path)


def test_the_email_template_refuses_a_stray_brace(content_copy: Path) -> None:
    path = content_copy / "email.yml"
    set_text(path, ("subject",), "{kind} from {name} (ref {reference)")
    line = line_of_key(path, ("subject",))
    with pytest.raises(ValueError, match=f"email.yml:{line}: subject has a '[{{]' without"):
        load_email_template(content_copy)


# --- at run time, with content that skipped the check ----------------------------------------


class FixedStore:
    def __init__(self, content: Any) -> None:
        self.content = content

    def get(self) -> Any:
        return self.content


def with_message(content: Any, key: str, text: str) -> Any:
    return dataclasses.replace(content, messages={**content.messages, key: text})


def with_prompt(content: Any, key: str, text: str) -> Any:
    booking = dataclasses.replace(content.booking, prompts={**content.booking.prompts, key: text})
    return dataclasses.replace(content, booking=booking)


@pytest.fixture
def use_content(monkeypatch, tmp_path):
    monkeypatch.setenv("CLINIC_UNANSWERED_PATH", str(tmp_path / "unanswered.db"))

    def use(content: Any) -> None:
        monkeypatch.setattr(content_store, "_store", FixedStore(content))

    return use


@pytest.mark.parametrize("typo", ["{condition}", "{zzz}"])
async def test_a_mistyped_safety_reminder_still_sends_the_reminder(
    content, use_content, typo, dispatcher, tracker_for
) -> None:
    template = "As you said {conditions}, please wait until a person at the clinic advises you."
    use_content(with_message(content, "safety_reminder", template.replace("{conditions}", typo)))
    tracker = tracker_for("what is it?", "ask_what_is", slots={"conditions": ["pregnancy"]})
    await ActionAnswer().run(dispatcher, tracker, {})
    reminder = dispatcher.messages[-1]["text"]
    assert tidy(reminder)
    after = template.split("{conditions}", 1)[1].strip(" ,.")
    assert after and after in reminder  # the rest of the safety wording is kept
    if typo == "{condition}":  # plainly meant {conditions}: the visitor still sees which
        assert safety.label(content, "pregnancy") in reminder


@pytest.mark.parametrize("typo", ["{ref}", "{zzz}"])
async def test_a_mistyped_booking_confirmation_still_confirms(
    content, use_content, typo, dispatcher, tracker_for, monkeypatch
) -> None:
    template = content.booking.prompts["booking_received"]  # {reference}: required
    use_content(
        with_prompt(content, "booking_received", template + " " + typo)
        if typo == "{zzz}"
        else with_prompt(content, "booking_received", template.replace("{reference}", typo))
    )
    monkeypatch.setattr(
        form_endings,
        "submit_request",
        lambda kind, payload, request_id: SimpleNamespace(id="abcd1234efgh5678"),
    )
    tracker = tracker_for(
        "send it",
        "affirm",
        slots={
            "booking_confirmed": "send",
            "booking_service": "4d_facial_single",
            "visitor_name": "Dana White",
            "contact": "dana@example.com",
        },
    )
    await form_endings.ActionSubmitBooking().run(dispatcher, tracker, {})
    text = " ".join(m.get("text") or "" for m in dispatcher.messages)
    assert tidy(text)
    assert "abcd1234" in text
    for name, value in [("name", "Dana White"), ("contact", "dana@example.com")]:
        if f"{{{name}}}" in template:  # optional: shown where the staff's text asks for it
            assert value in text, name


def test_the_safety_replies_with_a_mistyped_placeholder_keep_their_wording(content) -> None:
    rules = content.contraindications
    replies, follow_up = rules.conversation_replies, rules.urgent_follow_up
    # Each shipped text, its placeholder mistyped where it has one, plus a sentence of the
    # test's own with the typo: whatever the staff's wording, there is a typo to survive.
    broken = dataclasses.replace(
        content,
        contraindications=dataclasses.replace(
            rules,
            conversation_replies={
                **replies,
                "pushback_reply": replies["pushback_reply"].replace("{conditions}", "{condition}")
                + " Again: {condition}.",
            },
            urgent_follow_up={
                **follow_up,
                "contact_reply": follow_up["contact_reply"] + " {sentence}",
            },
            uncovered_reply_template=rules.uncovered_reply_template.replace("{label}", "{lable}")
            + " Again: {lable}.",
        ),
    )
    pushback = safety.pushback_reply(broken, safety.Disclosure(conditions=["pregnancy"]))
    assert tidy(pushback) and safety.label(content, "pregnancy") in pushback
    assert tidy(safety.urgent_follow_up(broken, "contact_reply"))
    # an uncovered condition without a reply of its own gets the (mistyped) general one
    plain = next(rule.id for rule in safety.uncovered_conditions(content) if not rule.own_reply)
    uncovered = safety.uncovered_reply(broken, plain)
    assert tidy(uncovered) and safety.label(content, plain) in uncovered


def test_an_uncovered_condition_s_own_reply_gets_its_label(content) -> None:
    rules = content.contraindications
    conditions = tuple(
        dataclasses.replace(rule, own_reply="About {label}.")
        if rule.id == "breastfeeding"
        else rule
        for rule in rules.conditions
    )
    own = dataclasses.replace(
        content, contraindications=dataclasses.replace(rules, conditions=conditions)
    )
    assert safety.uncovered_reply(own, "breastfeeding") == (
        f"About {safety.label(content, 'breastfeeding')}."
    )


def test_the_booking_link_with_a_mistyped_placeholder_is_still_a_link(content) -> None:
    clinic = {
        **content.contact["clinic"],
        "booking_url_template": "https://book.example.com/?s={service}&n={nmae}&x={x}",
    }
    linked = dataclasses.replace(content, contact={**content.contact, "clinic": clinic})
    link = booking.booking_link(linked, "4-D Facial", "Dana White", "dana@example.com")
    assert link is not None
    assert link.startswith("https://book.example.com/?s=4-D%20Facial&n=Dana%20White")
    assert "{" not in link


def test_the_channel_fills_a_mistyped_limit(tmp_path: Path) -> None:
    messages = tmp_path / "messages.yml"
    messages.write_text(yaml.safe_dump({"too_long": "At most {limt} characters {x}."}))
    text = ChannelTexts(messages).get("too_long", limit=1000)
    assert "1000" in text and tidy(text)
    messages.write_text(yaml.safe_dump({"too_long": "{x}"}))
    assert ChannelTexts(messages).get("too_long", limit=1000) == "[too_long]"  # never empty


def test_the_email_fills_a_mistyped_reference(content_copy: Path) -> None:
    template = load_email_template(content_copy)
    subject = template.fill(
        template.subject.replace("{reference}", "{ref}"),
        {"reference": "abcd1234", "kind": "Booking", "name": "Dana"},
        "subject",
    )
    assert "abcd1234" in subject and tidy(subject)


def test_prompt_and_message_render_every_shipped_declared_text_without_a_brace(content) -> None:
    values = {
        name: f"<{name}>" for keys in DECLARED.values() for n in keys.values() for name in n.may
    }
    for key in content.booking.prompts:
        assert "{" not in booking.prompt(content, key, **values), key
    for key, text in content.messages.items():
        if isinstance(text, str):
            assert "{" not in content.message(key, **values), key

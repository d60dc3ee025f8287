"""Bugs the bad-input suite (tests/fuzz) found, each pinned by a plain example.

Each input used to end in an unexpected exception (or a hang, or an entity payload reaching
Rasa); now it gets the documented answer: a ContentError / ValueError naming the file, the
last good texts, or plain text passed to the assistant.
"""

import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from clinic_channel.texts import ChannelTexts
from clinic_channel.website import WebsiteInput
from clinic_content.contraindications_check import load_rules
from clinic_content.errors import ContentLoadError
from clinic_content.store import load_content
from clinic_content.yaml_lines import YamlFileError, load_yaml_file
from tests.work_budget import count_calls

CONTENT_DIR = Path(__file__).resolve().parents[2] / "data" / "content"


def typed(message: str) -> str:
    request = SimpleNamespace(ctx=SimpleNamespace(website_body={"sender": "a", "message": message}))
    return WebsiteInput()._extract_message(request)  # type: ignore[arg-type]  # a stand-in request


@pytest.mark.parametrize(
    "message, seen",
    [
        ('/ /book{"name": "x"}', 'book{"name": "x"}'),
        ('//book{"x":1}', 'book{"x":1}'),
        ('/\u2003/inform{"x": 1}', 'inform{"x": 1}'),
        ("/ / /greet@0.99", "greet@0.99"),
    ],
)
def test_no_entity_payload_behind_more_slashes_and_blanks(message: str, seen: str) -> None:
    assert typed(message) == seen


@pytest.fixture
def content_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, folder)
    return folder


def problems(folder: Path) -> str:
    with pytest.raises(ContentLoadError) as caught:
        load_content(folder)
    return str(caught.value)


@pytest.mark.parametrize(
    "text, line, words",
    [
        (
            "answers:\n  - id: a\n    text: \x07\n",
            3,
            "invisible character that is not allowed (U+0007)",
        ),
        ("[" * 5_000, None, "nested too deeply"),
        ("answers:\n  ? [a, b]\n  : 1\n", 2, "not a list or a block"),
    ],
    ids=["control character", "deep nesting", "list as a key"],
)
def test_yaml_problems_are_yaml_file_errors(tmp_path: Path, text: str, line, words: str) -> None:
    path = tmp_path / "answers.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(YamlFileError) as caught:
        load_yaml_file(path)
    assert caught.value.line == line and words in caught.value.problem
    assert str(path) in str(caught.value)


def test_a_folder_in_place_of_a_file_is_reported(content_copy: Path) -> None:
    (content_copy / "contact.yml").unlink()
    (content_copy / "contact.yml").mkdir()
    assert "contact.yml: the file cannot be read" in problems(content_copy)


def test_review_date_with_a_time_is_read_as_a_date(content_copy: Path) -> None:
    path = content_copy / "answers.yml"
    text = path.read_text(encoding="utf-8")
    assert "review_by: " in text
    head, _, tail = text.partition("review_by: ")
    path.write_text(
        head + "review_by: 2001-01-01 10:00:00\n" + tail.split("\n", 1)[1], encoding="utf-8"
    )
    content = load_content(content_copy)
    assert any("was due for review on 2001-01-01" in warning for warning in content.warnings)


@pytest.mark.parametrize(
    "file, before, after, words",
    [
        (
            "contraindications.yml",
            "conditions:\n",
            "conditions: .nan\nfuzz_old_conditions:\n",
            "'conditions' should be a list",
        ),
        (
            "contraindications.yml",
            "  - id: heart_problems\n",
            "  - id: [heart_problems]\n",
            "a condition id should be text",
        ),
        (
            "booking.yml",
            "services:\n",
            "services: 7\nfuzz_old_services:\n",
            "'services' should be a list",
        ),
    ],
    ids=["conditions not a list", "condition id a list", "services a number"],
)
def test_wrong_shapes_are_content_errors(
    content_copy: Path, file: str, before: str, after: str, words: str
) -> None:
    path = content_copy / file
    text = path.read_text(encoding="utf-8")
    assert before in text
    path.write_text(text.replace(before, after, 1), encoding="utf-8")
    assert words in problems(content_copy)


def test_alias_bomb_in_contact_is_refused_without_expanding_it(content_copy: Path) -> None:
    # Work, not time (tests/work_budget.py): the 9**9 strings the aliases stand for are never
    # walked one by one, so checking the bomb costs about as much as checking the real files.
    ordinary = count_calls(lambda: load_content(content_copy))
    laughs = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'] + [
        f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)
    ]
    (content_copy / "contact.yml").write_text(
        "\n".join(laughs) + "\nclinic: {name: X, email: *a8}\nhandoff: {}\n", encoding="utf-8"
    )
    found = []
    count_calls(lambda: found.append(problems(content_copy)), budget=2 * ordinary)
    assert "'email' in contact.yml should be text" in found[0]


@pytest.mark.parametrize(
    "text, words",
    [
        ("1: a\nfoo: b\n", "unknown section(s)"),
        ("[" * 5_000, "nested too deeply"),
    ],
    ids=["number and text keys", "deep nesting"],
)
def test_rules_loader_problems_are_content_load_errors(
    tmp_path: Path, text: str, words: str
) -> None:
    path = tmp_path / "contraindications.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ContentLoadError) as caught:
        load_rules(path)
    assert str(caught.value).startswith(str(path)) and words in str(caught.value)


def test_channel_texts_keep_the_last_wording_after_deep_nesting(tmp_path: Path) -> None:
    path = tmp_path / "messages.yml"
    path.write_text('too_long: "At most {limit}."\n', encoding="utf-8")
    texts = ChannelTexts(path)
    assert texts.get("too_long", limit=5) == "At most 5."
    path.write_text("[" * 5_000, encoding="utf-8")
    assert texts.get("too_long", limit=5) == "At most 5."


# Found by tests/fuzz (live): a 1000-letter word held the Rasa server ~40 s.
def test_one_very_long_word_costs_no_more_than_an_ordinary_typo() -> None:
    # Work, not time (tests/work_budget.py): ~n**2/2 deletions of a 400-letter word would be
    # tens of thousands of calls; an ordinary typo is looked up with a few hundred.
    from clinic_nlu.typo_tolerance import TypoCorrector

    corrector = TypoCorrector(["pregnant", "epilepsy", "pacemaker"], set())
    corrected = []
    ordinary = count_calls(lambda: corrected.append(corrector.correct("pregnnat")))
    assert corrected == ["pregnant"]
    results = []
    count_calls(lambda: results.append(corrector.correct("a" * 400)), budget=ordinary)
    assert results == [None]

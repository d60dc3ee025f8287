"""Tests for clinic_nlu.condition_detector: the red-team suite plus focused cases."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Set, Tuple

import pytest
import yaml

from clinic_content.contraindications_check import load_rules
from clinic_nlu.condition_detector import ConditionDetector, ConditionMention
from clinic_nlu.typo_tolerance import TypoCorrector, edit_distance
from tests.content_edit import replace_in, set_value, value_at

ROOT = Path(__file__).resolve().parents[2]
RULES_PATH = ROOT / "data" / "content" / "contraindications.yml"
REDTEAM_PATH = ROOT / "tests" / "safety" / "redteam.yml"

MAX_FALSE_ALARM_RATE = 0.02
# The detector's time per message is measured by the benchmark (clinic_bench/detector_speed.py,
# `make bench`), not asserted here: a wall-clock bound depends on the machine and its load.


@pytest.fixture(scope="module")
def detector() -> ConditionDetector:
    return ConditionDetector.from_yaml(RULES_PATH)


@pytest.fixture(scope="module")
def redteam() -> Dict[str, Any]:
    with open(REDTEAM_PATH, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def found(detector: ConditionDetector, text: str) -> Tuple[Set, Set, bool]:
    """(article (id, subject) pairs, uncovered ids, urgent?) not negated.

    A condition named as a possible side effect ("can it cause seizures?") is a question about
    the treatment, not a disclosure, so it is left out here.
    """
    mentions = [m for m in detector.detect(text) if not m.negated and not m.side_effect]
    article = {(m.condition, m.subject) for m in mentions if m.kind == "article"}
    uncovered = {m.condition for m in mentions if m.kind == "uncovered"}
    return article, uncovered, any(m.kind == "urgent" for m in mentions)


def expected(case: Dict[str, Any]) -> Tuple[Set, Set, bool]:
    expect = case["expect"]
    article = {(c["id"], c["subject"]) for c in expect["conditions"]}
    return article, set(expect["uncovered"]), bool(expect["urgent"])


# ------------------------------------------------------------- red-team suite


def test_redteam_file_is_well_formed(redteam: Dict[str, Any]) -> None:
    rules = load_rules(RULES_PATH)
    article_ids = set(rules.ids("article"))
    uncovered_ids = set(rules.ids("uncovered"))
    cases = redteam["cases"]
    assert len(cases) >= 240
    assert len(redteam["conversations"]) >= 12
    assert len({c["text"] for c in cases}) == len(cases), "duplicate messages"
    for case in cases:
        assert set(case) == {"group", "text", "expect"}, case
        assert set(case["expect"]) == {"conditions", "uncovered", "urgent"}, case
        for condition in case["expect"]["conditions"]:
            assert condition["id"] in article_ids, case
            assert condition["subject"] in ("self", "other"), case
        assert set(case["expect"]["uncovered"]) <= uncovered_ids, case
        assert isinstance(case["expect"]["urgent"], bool), case
    # every article condition is probed for the visitor and for someone else
    probed = Counter(
        (c["id"], c["subject"]) for case in cases for c in case["expect"]["conditions"]
    )
    for condition_id in article_ids:
        assert probed[(condition_id, "self")] >= 3, condition_id
        assert probed[(condition_id, "other")] >= 1, condition_id


def test_redteam_recall_and_false_alarms(
    detector: ConditionDetector, redteam: Dict[str, Any], capsys: pytest.CaptureFixture
) -> None:
    expected_items = found_items = 0
    misses: List[str] = []
    quiet_cases = false_alarms = 0
    alarms: List[str] = []
    extras: List[str] = []
    per_group: Dict[str, List[int]] = {}
    for case in redteam["cases"]:
        text = case["text"]
        got_article, got_uncovered, got_urgent = found(detector, text)
        want_article, want_uncovered, want_urgent = expected(case)
        wanted = [("condition", x) for x in want_article]
        wanted += [("uncovered", x) for x in want_uncovered]
        wanted += [("urgent", True)] if want_urgent else []
        got = {("condition", x) for x in got_article}
        got |= {("uncovered", x) for x in got_uncovered}
        got |= {("urgent", True)} if got_urgent else set()
        hits = [w for w in wanted if w in got]
        expected_items += len(wanted)
        found_items += len(hits)
        misses += [f"{text!r}: missed {w}" for w in wanted if w not in got]
        group = per_group.setdefault(case["group"], [0, 0])
        group[0] += 1
        group[1] += int(len(hits) == len(wanted) and (got <= set(wanted)))
        if not wanted:
            quiet_cases += 1
            if got:
                false_alarms += 1
                alarms.append(f"{text!r}: {sorted(got)}")
        elif got - set(wanted):
            extras.append(f"{text!r}: also {sorted(got - set(wanted))}")

    recall = found_items / expected_items
    false_alarm_rate = false_alarms / quiet_cases
    with capsys.disabled():
        print(f"\nred-team: {len(redteam['cases'])} messages")
        print(f"  recall:       {found_items}/{expected_items} = {recall:.1%}")
        print(f"  false alarms: {false_alarms}/{quiet_cases} = {false_alarm_rate:.1%}")
        print(f"  extra detections on messages expecting others: {len(extras)}")
        for name, (total, exact) in sorted(per_group.items()):
            print(f"    {name:18} {exact}/{total} exactly as expected")
        for line in misses + alarms + extras:
            print("   ", line)
    assert not misses, "\n".join(misses)
    assert recall == 1.0
    assert false_alarm_rate <= MAX_FALSE_ALARM_RATE, "\n".join(alarms)


def test_redteam_conversations_active_conditions(
    detector: ConditionDetector, redteam: Dict[str, Any]
) -> None:
    for conversation in redteam["conversations"]:
        active_article: Set[Tuple[str, str]] = set()
        active_uncovered: Set[str] = set()
        urgent = False
        for turn in conversation["turns"]:  # a disclosure stays active
            article, uncovered, urgent = found(detector, turn)
            active_article |= article
            active_uncovered |= uncovered
        want_article, want_uncovered, want_urgent = expected(conversation)
        name = conversation["name"]
        assert active_article == want_article, name
        assert active_uncovered == want_uncovered, name
        assert urgent == want_urgent, name


# ------------------------------------------------------------- focused tests


@pytest.mark.parametrize(
    "text, condition, negated",
    [
        ("I'm not pregnant", "pregnancy", True),
        ("no heart problems", "heart_problems", True),
        ("never had a seizure", "epilepsy", True),
        ("I don't have epilepsy or diabetes", "epilepsy", True),
        ("I don't have epilepsy or diabetes", "diabetes", True),
        ("I dont have epilepsy, diabetes or asthma", "asthma", True),
        ("I'm not sure but I might be pregnant", "pregnancy", False),
        ("no, I'm pregnant", "pregnancy", False),
        ("I'm not pregnant but I have asthma", "asthma", False),
        ("No health problems apart from asthma", "asthma", False),
        ("I don't think I'm pregnant", "pregnancy", False),
        ("Is it not safe for pregnant women?", "pregnancy", False),
        ("Isn't it risky with epilepsy?", "epilepsy", False),
        ("Pregnant? No.", "pregnancy", True),
        ("diabetes: none", "diabetes", True),
        ("Pregnant? No idea", "pregnancy", False),
        ("can't come in, pregnant and tired", "pregnancy", False),
        ("I'm non-diabetic", "diabetes", True),
    ],
)
def test_negation(detector: ConditionDetector, text: str, condition: str, negated: bool) -> None:
    mentions = [m for m in detector.detect(text) if m.condition == condition]
    assert mentions, text
    assert all(m.negated is negated for m in mentions), mentions


@pytest.mark.parametrize(
    "text, condition, subject",
    [
        ("my mum has a pacemaker, can she do it?", "implanted_device", "other"),
        ("I have a pacemaker", "implanted_device", "self"),
        ("My husband and I are expecting", "pregnancy", "self"),
        ("Asking for my daughter. She has epilepsy.", "epilepsy", "other"),
        ("My daughter wants to come. Has epilepsy.", "epilepsy", "other"),
        ("Epilepsy - can my dad still have it?", "epilepsy", "other"),
        ("Can people with epilepsy have it?", "epilepsy", "self"),
        ("there's a hole in her heart", "heart_problems", "other"),
        ("my 70 year old mum has MS", "multiple_sclerosis", "other"),
        ("I'm a mum of two with asthma", "asthma", "self"),
        ("me and my sister both have asthma", "asthma", "self"),
    ],
)
def test_subject(detector: ConditionDetector, text: str, condition: str, subject: str) -> None:
    subjects = {m.subject for m in detector.detect(text) if m.condition == condition}
    assert subjects == {subject}, text


def test_several_conditions_and_people_in_one_message(detector: ConditionDetector) -> None:
    text = "I'm pregnant and diabetic, and my mum has a pacemaker and no heart problems"
    mentions = detector.detect(text)
    summary = {(m.condition, m.subject, m.negated) for m in mentions}
    assert summary == {
        ("pregnancy", "self", False),
        ("diabetes", "self", False),
        ("implanted_device", "other", False),
        ("heart_problems", "other", True),
    }


def test_elliptical_repeat_for_someone_else(detector: ConditionDetector) -> None:
    mentions = detector.detect("I'm not pregnant, my wife is")
    assert {(m.subject, m.negated) for m in mentions if m.condition == "pregnancy"} == {
        ("self", True),
        ("other", False),
    }


@pytest.mark.parametrize(
    "text, condition",
    [
        ("im pregnent", "pregnancy"),
        ("I have epilespy", "epilepsy"),
        ("diabetis", "diabetes"),
        ("I have psoraisis", "skin_disease"),
        ("my dad has a defribillator", "implanted_device"),
        ("I have high blood presure", "high_blood_pressure"),
        ("multiple sclerosys", "multiple_sclerosis"),
    ],
)
def test_typos(detector: ConditionDetector, text: str, condition: str) -> None:
    assert condition in {m.condition for m in detector.detect(text)}


@pytest.mark.parametrize(
    "text",
    [
        "I spent a lot on creams",  # "spent" is a word, not "stent"
        "what diameters are the probes?",  # not "diabetes"
        "the terms and conditions",  # "ms" never inside a word
        "what results should I be expecting?",  # "expecting" only as written
        "Hi, this is Ms Lee",  # a title, not MS
        "is it better than a facelift?",  # a comparison
        "can it cause seizures?",  # a side-effect question
    ],
)
def test_no_false_match(detector: ConditionDetector, text: str) -> None:
    # a side-effect question is reported as such (the reply names the limit), never as a condition
    assert [m for m in detector.detect(text) if not m.negated and not m.side_effect] == []


@pytest.mark.parametrize(
    "text, urgent",
    [
        ("I have chest pain right now", True),
        ("I can't breathe", True),
        ("she's having a seizure", True),
        ("my face is badly swollen after my treatment", True),
        ("does it cause chest pain?", False),
        ("what if I can't breathe during it?", False),
        ("I had chest pain last year", False),
        ("I get dizzy now and then", False),
        ("is swelling normal after treatment?", False),
        ("I don't have chest pain", False),
    ],
)
def test_urgent_only_when_happening_now(
    detector: ConditionDetector, text: str, urgent: bool
) -> None:
    got = any(m.kind == "urgent" and not m.negated for m in detector.detect(text))
    assert got is urgent, text


def test_mentions_carry_offsets_into_the_original_text(detector: ConditionDetector) -> None:
    text = "Hi!  I’M PREGNANT and have High BP"
    mentions = detector.detect(text)
    assert [(m.condition, m.text) for m in mentions] == [
        ("pregnancy", "PREGNANT"),
        ("high_blood_pressure", "High BP"),
    ]
    for mention in mentions:
        assert text[mention.start : mention.end] == mention.text
        assert isinstance(mention, ConditionMention)


def test_staff_edit_adds_a_term(detector: ConditionDetector, tmp_path: Path) -> None:
    data = yaml.safe_load(RULES_PATH.read_text(encoding="utf-8"))
    data["conditions"][0]["terms"].append("zorblax syndrome")
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    edited = ConditionDetector.from_yaml(path, pipeline=detector.pipeline)
    assert edited.pipeline is detector.pipeline  # the spaCy side is reused
    assert [m.condition for m in edited.detect("I have zorblax syndrome")] == ["heart_problems"]
    assert detector.detect("I have zorblax syndrome") == []


def test_replies_never_reassure() -> None:
    rules = load_rules(RULES_PATH)
    for rule in rules.conditions:
        assert rules.reassurance_in(rule.reply) == [], rule.id
    # Two of the file's own phrases, one in another case and one with a curly apostrophe
    # (whichever phrases staff list): both are found.
    phrases = rules.reassurance_phrases
    quoted = next((phrase for phrase in phrases if "'" in phrase), phrases[0])
    other = next(phrase for phrase in phrases if phrase not in quoted and quoted not in phrase)
    text = f"{quoted.replace(chr(39), chr(0x2019)).capitalize()}, {other.upper()}"
    found = rules.reassurance_in(text)
    assert quoted in found and other in found, (text, found)


# ------------------------------------------------------------- bad rules files


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "broken.yml"
    path.write_text(text, encoding="utf-8")
    return path


def _edited(tmp_path: Path, edit) -> Path:
    data = yaml.safe_load(RULES_PATH.read_text(encoding="utf-8"))
    edit(data)
    return _write(tmp_path, yaml.safe_dump(data, allow_unicode=True))


def test_missing_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yml"
    with pytest.raises(ValueError, match=r"nowhere\.yml: the file is missing"):
        ConditionDetector.from_yaml(path)


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, 'conditions:\n  - id: x\n    terms: ["a", "b"\n')
    with pytest.raises(ValueError, match=r"broken\.yml:\d+:\d+: YAML syntax error"):
        ConditionDetector.from_yaml(path)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d.pop("urgent"), "missing section 'urgent'"),
        (lambda d: d.update(negaton_cues=["not"]), r"unknown section\(s\) \['negaton_cues'\]"),
        (lambda d: d["conditions"][0].update(id="Heart Problems"), "must use only small letters"),
        (
            lambda d: d["conditions"][1].update(id="heart_problems"),
            "id 'heart_problems' is used twice",
        ),
        (
            lambda d: d["conditions"][0].update(terms=[]),
            r"conditions\[1\] \('heart_problems'\) terms",
        ),
        (lambda d: d["conditions"][0].pop("reply"), "missing field 'reply'"),
        (
            lambda d: d["negation_cues"].append(False),
            "read as true/false: write the word in double quotes",
        ),
        (lambda d: d["conditions"][1]["terms"].append("pregnant"), "listed under both"),
        (
            lambda d: d["conditions"][0].update(reply="Don't worry, it's fine."),
            r"reply of 'heart_problems'.*contains reassurance",
        ),
        (
            lambda d: d["uncovered"].update(reply="About {condition}"),
            r"unknown placeholder '\{condition\}'; it may use \{label\}",
        ),
    ],
)
def test_bad_rules_are_reported_by_file_and_problem(tmp_path: Path, edit, message: str) -> None:
    path = _edited(tmp_path, edit)
    with pytest.raises(ValueError, match=message) as error:
        ConditionDetector.from_yaml(path)
    assert str(error.value).startswith(str(path))


def test_unquoted_no_in_yaml_is_explained(tmp_path: Path) -> None:
    # The cue list as staff keep it, with "no" (added if they dropped it) written without quotes.
    path = _write(tmp_path, RULES_PATH.read_text(encoding="utf-8"))
    cues = [cue for cue in value_at(path, ("negation_cues",))]
    if "no" not in cues:
        cues.append("no")
    set_value(path, ("negation_cues",), cues)
    replace_in(path, ("negation_cues",), '"no"', "no")
    item = cues.index("no") + 1
    with pytest.raises(ValueError, match=rf"negation_cues item {item}: this is read as true/false"):
        ConditionDetector.from_yaml(path)


# ------------------------------------------------------------- typo tolerance


def test_edit_distance_counts_a_swap_as_one() -> None:
    assert edit_distance("epilespy", "epilepsy", 2) == 1
    assert edit_distance("pregnent", "pregnant", 2) == 1
    assert edit_distance("diabetes", "diameters", 2) == 2
    assert edit_distance("abc", "xyz", 1) == 2  # stops early, above the limit


def test_typo_corrector_thresholds() -> None:
    corrector = TypoCorrector(["asthma", "pregnant", "stent"], known_words=frozenset({"spent"}))
    assert corrector.correct("astma") == "asthma"  # 6 letters: one edit
    assert corrector.correct("asma") is None  # two edits is too many
    assert corrector.correct("preganat") == "pregnant"  # 8 letters: two edits
    assert corrector.correct("spent") is None  # a real word is never corrected
    assert corrector.correct("stint") == "stent"

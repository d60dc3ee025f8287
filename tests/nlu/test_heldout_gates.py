"""Quality gates on the held-out set (tests/nlu/heldout.yml), which is never trained on.

Runs the trained model (models/, built by `make model`) over every held-out message and writes
the full report (per-intent scores, confusions, misclassified messages) to
test-artifacts/nlu-heldout.json, which CI keeps.
"""

import json
import re
import sys
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT_DIR / "scripts"))

import evaluate_nlu  # noqa: E402

ARTIFACT = PROJECT_DIR / "test-artifacts" / "nlu-heldout.json"
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


def normalise(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def test_no_heldout_message_is_in_the_training_data():
    training = {normalise(t) for t, _ in evaluate_nlu.load_examples(PROJECT_DIR / "data" / "nlu")}
    heldout = [t for t, _ in evaluate_nlu.load_examples(evaluate_nlu.HELDOUT)]
    heldout += [
        t
        for t, _ in evaluate_nlu.load_examples(evaluate_nlu.HELDOUT.with_name("heldout_fresh.yml"))
    ]
    heldout += [q["text"] for q in real_questions("heldout")]
    # One- or two-word messages ("hi", "yes please") cannot be kept apart; longer ones must be.
    leaked = [t for t in heldout if normalise(t) in training and len(normalise(t).split()) > 2]
    assert not leaked, leaked


def real_questions(pool: str) -> list:
    """The real visitors' questions of one pool (tests/nlu/real_questions.yml)."""
    import yaml

    data = yaml.safe_load((PROJECT_DIR / "tests" / "nlu" / "real_questions.yml").read_text())
    sources = {s["id"]: s["pool"] for s in data["sources"]}
    return [q for q in data["questions"] if sources[q["source"]] == pool]


def test_real_questions_are_split_by_source_and_big_enough():
    """At least 250 real questions, 150 held out; a source is never in both pools."""
    import yaml

    data = yaml.safe_load((PROJECT_DIR / "tests" / "nlu" / "real_questions.yml").read_text())
    pools = {s["id"]: s["pool"] for s in data["sources"]}
    assert set(pools.values()) == {"train", "heldout"}
    assert all(q["source"] in pools for q in data["questions"])
    assert len(data["questions"]) >= 250
    assert len(real_questions("heldout")) >= 150
    urls = [s["url"] for s in data["sources"]]
    assert len(urls) == len(set(urls)), "one address, one source, one pool"


def test_held_out_real_questions_share_no_source_with_the_training_data():
    """No held-out real question's wording, and no question of a held-out source, is trained."""
    training = {normalise(t) for t, _ in evaluate_nlu.load_examples(PROJECT_DIR / "data" / "nlu")}
    leaked = [q["text"] for q in real_questions("heldout") if normalise(q["text"]) in training]
    assert not leaked, leaked


@pytest.fixture(scope="module")
def report():
    if not evaluate_nlu.MODEL.exists():
        pytest.fail("No trained model: run `make model` (make test does it first).")
    result = evaluate_nlu.evaluate(evaluate_nlu.MODEL)
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    ARTIFACT.write_text(json.dumps(result, indent=2))
    print(
        f"\nheld-out: {result['examples']} messages, accuracy {result['accuracy']},"
        f" macro-F1 {result['macro_f1']}, out-of-scope recall {result['out_of_scope_recall']}"
    )
    return result


def test_intent_accuracy_gate(report):
    assert report["accuracy"] >= 0.95, report["confusions"][:10]


def test_macro_f1_gate(report):
    assert report["macro_f1"] >= 0.95, report["confusions"][:10]


def test_out_of_scope_recall_gate(report):
    assert report["out_of_scope_recall"] >= 0.90


def test_second_fresh_set_stays_close(report):
    """A second set, written later by another author and never used for any decision."""
    fresh = evaluate_nlu.evaluate(
        evaluate_nlu.MODEL, evaluate_nlu.HELDOUT.with_name("heldout_fresh.yml")
    )
    (ARTIFACT.with_name("nlu-heldout-fresh.json")).write_text(json.dumps(fresh, indent=2))
    print(
        f"\nfresh held-out: {fresh['examples']} messages, accuracy {fresh['accuracy']},"
        f" macro-F1 {fresh['macro_f1']}, out-of-scope recall {fresh['out_of_scope_recall']}"
    )
    assert fresh["accuracy"] >= 0.90 and fresh["out_of_scope_recall"] >= 0.90


MULTI_PART_SETS = ["multi_part.yml", "multi_part_fresh.yml"]


@pytest.fixture(scope="module")
def multi_part():
    """Every multi-part set scored as the actions answer it (evaluate_nlu.answered_parts)."""
    if not evaluate_nlu.MODEL.exists():
        pytest.fail("No trained model: run `make model` (make test does it first).")
    scores = {}
    for name in MULTI_PART_SETS:
        scores[name] = evaluate_nlu.evaluate_multi_part(
            evaluate_nlu.MODEL, evaluate_nlu.HELDOUT.with_name(name)
        )
        print(
            f"\n{name}: " + ", ".join(f"{k} {v}" for k, v in scores[name].items() if k != "misses")
        )
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    ARTIFACT.with_name("nlu-multi-part.json").write_text(json.dumps(scores, indent=2))
    return scores


@pytest.mark.parametrize("name", MULTI_PART_SETS)
def test_every_question_of_a_multi_part_message_is_answered(multi_part, name):
    """Measured 34/36 and 29/31 (docs/nlu.md; 7/36 and 8/31 before the question splitter).
    0.80 leaves room for a few messages to move when the training data changes, and still
    fails if splitting stops working."""
    score = multi_part[name]
    assert score["all_answered"] >= 0.80 * score["multi"], score["misses"]
    assert score["at_least_one_answered"] >= 0.95 * score["multi"], score["misses"]


def test_single_questions_with_and_are_not_split(multi_part):
    """multi_part_fresh.yml's single questions ("is it safe for face and neck?"): measured 1
    of 15 given two answers (a trained multi-intent of the classifier, not the splitter)."""
    score = multi_part["multi_part_fresh.yml"]
    assert score["false_splits"] <= 2, score["misses"]


def test_held_out_single_questions_rarely_get_two_answers():
    """The 862 single-question held-out messages: measured 9 given two answers (1.0 %)."""
    examples = []
    for name in ("heldout.yml", "heldout_fresh.yml"):
        examples += evaluate_nlu.load_examples(evaluate_nlu.HELDOUT.with_name(name))
    results, _ = evaluate_nlu.parse_all(evaluate_nlu.MODEL, [t for t, _ in examples])
    split = []
    for (text, _gold), result in zip(examples, results, strict=True):
        answered = evaluate_nlu.answered_parts(result)
        implied = evaluate_nlu.ANSWERED_BY_A_DISCLOSURE if "inform_condition" in answered else set()
        if (
            len([p for p in answered if p not in implied]) >= 2
            and "+" not in result["intent"]["name"]
        ):
            split.append((text, answered))
    assert len(split) <= 0.02 * len(examples), split


@pytest.mark.parametrize("topic", ARTICLE_TOPICS)
def test_no_article_topic_below_090(report, topic):
    assert report["per_intent"][topic]["f1"] >= 0.90, report["per_intent"][topic]

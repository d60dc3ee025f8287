"""Real visitors' questions (tests/nlu/real_questions.yml, the held-out pool, never trained on)
through the running assistant: each reply is judged by the answer it gave, by a judge written
apart from the production code (tests/nlu/reply_judge.py). Gates: see below; every miss is
written to test-artifacts/real-questions-heldout-failures.md, which CI keeps."""

import pytest

from tests.nlu.real_questions_eval import ARTICLE_TOPICS, evaluate, write_report

pytestmark = pytest.mark.e2e

# Issue 16's targets are 0.97 correct (the right answer, or an honest "I don't know" where the
# article is silent), at most 0.01 confidently wrong, and every article topic >= 0.90. Measured
# on the 205 held-out questions (docs/nlu.md): 2026-12-03 session 1, 0.927 correct, 0.054 wrong;
# 2026-12-03 session 2 (topic words, stranger-trial fixes), 0.946 correct, 0.029 honest, 0.024
# wrong: correct-or-honest 0.976 meets 0.97, but wrong and suitability (0.82) do not. These
# gates hold the measured level so nothing slips back; raise them as the figures improve, never
# lower them to pass.
MIN_CORRECT = 0.93
MAX_WRONG = 0.035
# Per topic, for topics with enough held-out questions to say anything (5+).
MIN_TOPIC = 0.75
MIN_TOPIC_QUESTIONS = 5


@pytest.fixture(scope="module")
def report(assistant_url):
    result = evaluate(assistant_url, "heldout")
    path = write_report(result, "real-questions-heldout")
    print(
        f"\nreal questions (held out): {result['questions']}, correct {result['correct_share']},"
        f" honest {result['honest_share']}, wrong {result['wrong_share']}; misses: {path}"
    )
    return result


def test_held_out_real_questions_are_answered_right_or_honestly(report):
    assert report["correct_share"] >= MIN_CORRECT, _misses(report, ("wrong", "honest"))


def test_confidently_wrong_answers_stay_under_the_gate(report):
    assert report["wrong_share"] <= MAX_WRONG, _misses(report, ("wrong",))


def test_no_article_topic_below_its_gate(report):
    low = {
        topic: figures
        for topic, figures in report["topics"].items()
        if topic in ARTICLE_TOPICS
        and figures["questions"] >= MIN_TOPIC_QUESTIONS
        and figures["share"] < MIN_TOPIC
    }
    assert not low, low


def _misses(report, kinds):
    return [
        (r["text"], r["expect"], r["classes"]) for r in report["results"] if r["verdict"] in kinds
    ]

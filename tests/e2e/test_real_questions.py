"""Real visitors' questions (tests/nlu/real_questions.yml, the held-out pool, never trained on)
through the running assistant: each reply is judged by the answer it gave, by a judge written
apart from the production code (tests/nlu/reply_judge.py). Gates from issue 16; every miss is
written to test-artifacts/real-questions-heldout-failures.md, which CI keeps."""

import pytest

from tests.nlu.real_questions_eval import ARTICLE_TOPICS, evaluate, write_report

pytestmark = pytest.mark.e2e

# Correct (the right answer, or an honest "I don't know" where the article is silent).
MIN_CORRECT = 0.97
# An answer about something else, said with confidence.
MAX_WRONG = 0.01
MIN_TOPIC = 0.90


@pytest.fixture(scope="module")
def report(assistant_url):
    result = evaluate(assistant_url, "heldout")
    path = write_report(result, "real-questions-heldout")
    print(f"\nreal questions (held out): {result['questions']}, correct {result['correct_share']},"
          f" honest {result['honest_share']}, wrong {result['wrong_share']}; misses: {path}")
    return result


def test_held_out_real_questions_are_answered_right_or_honestly(report):
    assert report["correct_share"] >= MIN_CORRECT, _misses(report, ("wrong", "honest"))


def test_at_most_one_in_a_hundred_is_confidently_wrong(report):
    assert report["wrong_share"] <= MAX_WRONG, _misses(report, ("wrong",))


def test_no_article_topic_below_its_gate(report):
    low = {topic: figures for topic, figures in report["topics"].items()
           if topic in ARTICLE_TOPICS and figures["share"] < MIN_TOPIC}
    assert not low, low


def _misses(report, kinds):
    return [(r["text"], r["expect"], r["classes"]) for r in report["results"]
            if r["verdict"] in kinds]

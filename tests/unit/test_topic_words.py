"""Answers that need their topic named (answerability.yml ``topic_words``): a vague question the
recogniser mapped to such an answer by chance is asked back ("did you mean ...?") instead of
answered; a question that names the topic, and a button click, get the answer.

Wording-independent: the expected texts come from the content files."""

import pytest

from actions import answerability
from actions.actions_answer import ActionAnswer
from clinic_content.store import get_store


def _answer_text(intent):
    return get_store().get().answer_for_intent[intent].text


def _ranking(*intents):
    return [{"name": name, "confidence": 0.5 / (i + 1)} for i, name in enumerate(intents)]


@pytest.mark.parametrize(
    "intent,question",
    [
        ("ask_safety", "Isn't it the stronger the better?"),
        ("ask_safety", "Can I get a service after my consultation?"),
        ("ask_history", "Will wearing these in public ever become socially acceptable?"),
        ("ask_memberships", "Can I reschedule my appointment?"),
        ("ask_celebrities", "Which one is better?"),
    ],
)
async def test_vague_question_is_asked_back_not_answered(dispatcher, tracker_for, intent, question):
    content = get_store().get()
    tracker = tracker_for(question, intent, ranking=_ranking(intent, "ask_experience"))
    await ActionAnswer().run(dispatcher, tracker, {})
    texts = [m.get("text") for m in dispatcher.messages]
    assert _answer_text(intent) not in texts
    assert texts[0] == content.message("fallback_did_you_mean")
    # the guessed topic is the first "did you mean" button: one click gets its answer
    assert dispatcher.messages[0]["buttons"][0]["payload"] == f"/{intent}"


@pytest.mark.parametrize(
    "intent,question",
    [
        ("ask_safety", "is it safe?"),
        ("ask_safety", "are there any side effects"),
        ("ask_safety", "who shouldn't have it"),
        ("ask_history", "when was microcurrent invented"),
        ("ask_memberships", "is it part of a membership"),
        ("ask_celebrities", "which celebrities get it"),
        ("ask_safety", "/ask_safety"),  # a button click
    ],
)
async def test_question_naming_the_topic_is_answered(dispatcher, tracker_for, intent, question):
    await ActionAnswer().run(dispatcher, tracker_for(question, intent), {})
    assert dispatcher.messages[0]["text"] == _answer_text(intent)


def test_every_topic_list_keeps_the_training_questions_of_its_answer():
    """The lists turn away at most a few of the training questions of their own topic
    (scripts/measure_answerability.py prints them all)."""
    from pathlib import Path

    import yaml

    content = get_store().get()
    rules = content.answerability
    turned_away, checked = [], 0
    for path in sorted(Path("data/nlu").glob("*.yml")):
        for block in (yaml.safe_load(path.read_text()) or {}).get("nlu") or []:
            intent = block.get("intent")
            answer = content.answer_for_intent.get(intent)
            if (
                answer is None
                or answer.kind != "article"
                or intent == "inform_condition"
                or answer.id not in (rules.get("topic_words") or {})
            ):
                continue
            for line in (block.get("examples") or "").splitlines():
                text = line.strip()[2:]
                checked += 1
                if not answerability.names_topic(rules, answer.id, text):
                    turned_away.append(text)
    assert checked > 300
    assert len(turned_away) <= 0.02 * checked, turned_away

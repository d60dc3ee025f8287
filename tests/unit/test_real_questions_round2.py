"""Defects the second set of real questions (tests/nlu/real_questions_dev2.yml) showed, each
fixed in general: "is this an emergency?", questions in French and Italian whose function words
the English word list also holds, and questions to rebook or cancel an appointment."""

import pytest

from clinic_nlu.condition_detector import ConditionDetector
from clinic_nlu.language import LanguageDetector, detect_language

RULES = "data/content/contraindications.yml"
LANGUAGES = tuple(LanguageDetector.get_default_config()["languages"])


@pytest.fixture(scope="module")
def detector():
    return ConditionDetector.from_yaml(RULES)


def urgent(detector, text):
    return {m.condition for m in detector.detect(text) if m.kind == "urgent" and not m.negated}


@pytest.mark.parametrize(
    "text",
    [
        "The side of my face is itching and hot with red welts. Is this just a rash, or is this an "
        "emergency?",
        "I'm not sure if this is an emergency",
        "my cheek is really puffy, should I go to the ER?",
        "¿es una emergencia?",
    ],
)
def test_asking_whether_it_is_an_emergency_gets_the_urgent_advice(detector, text):
    assert urgent(detector, text)


@pytest.mark.parametrize(
    "text",
    [
        "what if I have an emergency during the facial?",
        "what counts as an emergency",
        "do you have an emergency number",
    ],
)
def test_emergency_as_a_topic_is_not_an_emergency(detector, text):
    assert not urgent(detector, text)


@pytest.mark.parametrize(
    "text,language",
    [
        (
            "Y a-t-il des conditions médicales pour lesquelles le microcourant ne doit pas être "
            "utilisé ?",
            "fr",
        ),
        ("Chi ne beneficia maggiormente?", "it"),
        ("Come si effettua il trattamento?", "it"),
    ],
)
def test_romance_questions_are_not_read_as_english(text, language):
    assert detect_language(text, LANGUAGES) == language


@pytest.mark.parametrize(
    "text",
    [
        "is it safe para mi?",
        "what is la mer cream",
        "I want a facial like the one at le spa",
        "do u have em in stock",
        "is there a de facto age limit",
        "please ask someone to call me, Tomás Ibáñez, 305-555-0172",
    ],
)
def test_english_with_a_foreign_word_stays_english(text):
    assert detect_language(text, LANGUAGES) is None


@pytest.mark.parametrize(
    "intent,question",
    [
        ("ask_memberships", "how much is the forever young membership?"),
        ("ask_results", "is it worth the price?"),
        ("ask_vs_surgery", "is it cheaper than a facelift?"),
    ],
)
def test_a_price_question_about_a_topic_gets_the_honest_unknown(intent, question):
    from actions import answerability
    from clinic_content.store import get_store

    content = get_store().get()
    missing = answerability.not_covered(
        content.answerability, content.answer_for_intent[intent].id, question
    )
    assert missing is not None and "price" in missing.label

"""What the third stranger trial (46 visitors played by a helper who had only the article and the
running assistant) left open, each fixed in general and pinned here. Expected texts come from the
content files, so staff may reword them."""

import pytest

from actions import conversation_safety, safety
from actions.answerability import ages_named
from actions.forms import _reads_as_a_name_in_another_script
from actions.name_reading import read_name
from actions.respond import TurnState, plan_reply

# content, detector: tests/unit/conftest.py
pytestmark = pytest.mark.usefixtures("quiet_unanswered")

PACEMAKER = "implanted_device"


def flat(text):
    return " ".join(str(text).split())


def said(plan):
    return [flat(m.text) for m in plan.messages]


def condition(value, role):
    return {"entity": "condition", "value": value, "role": role}


def found(detector, text):
    return {(m.kind, m.condition, m.subject) for m in detector.detect(text) if not m.negated}


# --- someone else's condition does not stick to the visitor ----------------------------------


@pytest.mark.parametrize(
    "text,subject",
    [
        ("my sister who's coming with me next time has a pacemaker", "other"),
        ("my friend came with me, she has epilepsy", "other"),
        ("me and my sister both have asthma", "self"),
        ("my mum is coming with me and I have a pacemaker", "self"),
        ("I have a pacemaker", "self"),
    ],
)
def test_the_visitor_named_as_company_is_not_the_one_with_it(detector, text, subject):
    assert {s for _, _, s in found(detector, text)} == {subject}


def test_asking_for_someone_else_in_the_same_message_is_not_the_visitors_condition(content):
    plan = plan_reply(
        content,
        TurnState(
            intent="ask_suitability",
            text="Is it suitable for someone with a pacemaker? Asking for my husband, not me.",
            entities=[condition(PACEMAKER, "other")],
        ),
    )
    assert said(plan)[0] == flat(content.contraindications.get(PACEMAKER).reply)
    assert plan.disclosure.subject == safety.CORRECTED
    assert not safety.books_as_consultation(plan.disclosure)


def test_a_first_disclosure_of_ones_own_is_not_corrected_by_a_not(content):
    plan = plan_reply(
        content,
        TurnState(
            intent="inform_condition",
            text="I have a pacemaker, is that not a problem?",
            entities=[condition(PACEMAKER, "self")],
        ),
    )
    assert plan.disclosure.subject == "self"
    assert safety.books_as_consultation(plan.disclosure)


def test_healthy_me_after_someone_elses_condition_answers_the_question_too(content):
    earlier = safety.Disclosure(conditions=[PACEMAKER], subject="other")
    plan = plan_reply(
        content,
        TurnState(
            intent="ask_suitability",
            text="ok. and for me? I'm 48, no health issues. would it suit me?",
            earlier=earlier,
        ),
    )
    assert plan.disclosure.subject == safety.CORRECTED
    assert said(plan)[0] == flat(safety.correction_reply(content))
    assert said(plan)[1] == flat(content.answer_for_intent["ask_suitability"].text)


def test_denying_someone_elses_condition_for_oneself_is_a_correction(content):
    earlier = safety.Disclosure(conditions=[PACEMAKER], subject="other")
    retracted = [{"entity": "retracted_condition", "value": PACEMAKER}]
    plan = plan_reply(
        content,
        TurnState(
            intent="deny", text="I don't have a pacemaker", entities=retracted, earlier=earlier
        ),
    )
    assert plan.disclosure.subject == safety.CORRECTED


def test_denying_ones_own_condition_changes_nothing(content):
    earlier = safety.Disclosure(conditions=[PACEMAKER], subject="self")
    retracted = [{"entity": "retracted_condition", "value": PACEMAKER}]
    plan = plan_reply(
        content,
        TurnState(
            intent="deny", text="I don't have a pacemaker", entities=retracted, earlier=earlier
        ),
    )
    assert plan.disclosure.subject == "self"
    assert safety.books_as_consultation(plan.disclosure)


@pytest.mark.parametrize(
    "text,owned",
    [
        ("wait, my booking is still fine though? the pacemaker is my sister's", True),
        ("it was my dad's", True),
        ("my sister has a pacemaker", False),
        ("my sister's pacemaker is new", False),
    ],
)
def test_naming_whose_condition_it_is_is_a_correction(content, text, owned):
    assert conversation_safety.is_correction(content, text) is owned


def test_after_a_correction_who_it_suits_gets_the_general_answer(content):
    earlier = safety.Disclosure(uncovered=["fainting"], subject=safety.CORRECTED)
    plan = plan_reply(
        content,
        TurnState(intent="ask_suitability", text="who is it not suitable for?", earlier=earlier),
    )
    assert said(plan)[0] == flat(content.answer_for_intent["ask_suitability"].text)


# --- a friend's fainting that is over is not an emergency now ------------------------------


@pytest.mark.parametrize(
    "text,urgent",
    [
        (
            "my friend fainted during her microcurrent facial at another spa, is that normal?? "
            "she's fine now",
            False,
        ),
        ("I passed out during a facial last week, I'm okay now", False),
        ("I fainted, I'm ok now but my chest hurts", True),  # the chest pain
        ("my chest hurts but I'm fine now", True),  # told in the present
        ("she fainted an hour ago, she's ok now", True),  # a sudden cue: still urgent
        ("she had a seizure this morning, she's fine now", True),
    ],
)
def test_a_symptom_that_is_over_is_not_urgent_now(detector, text, urgent):
    assert any(kind == "urgent" for kind, _, _ in found(detector, text)) is urgent


# --- small talk and names in another script ---------------------------------------------------


@pytest.mark.parametrize(
    "text,intent",
    [("谢谢", "thank"), ("спасибо, thanks, goodbye", "goodbye"), ("muchas gracias!", "thank")],
)
def test_thanks_in_another_language_gets_the_thanks(content, text, intent):
    plan = plan_reply(
        content,
        TurnState(intent=intent, text=text, entities=[{"entity": "language", "value": "zh"}]),
    )
    assert said(plan) == [flat(content.answer_for_intent[intent].text)]


def test_a_question_in_another_language_still_gets_the_notice(content):
    assert (
        conversation_safety.small_talk_in_another_language(content, "hola, quiero una cita") is None
    )


@pytest.mark.parametrize(
    "text,name",
    [
        ("李伟", True),
        ("Li Wei 李伟", True),
        ("Иван Петров", True),
        ("你好", False),
        ("我想预约", False),
        ("Здравствуйте, я хочу записаться", False),
    ],
)
def test_a_name_in_another_script_is_a_name(content, text, name):
    assert _reads_as_a_name_in_another_script(content, text) is name


@pytest.mark.parametrize(
    "text,name",
    [
        ("ugh. Hannah Schmidt", "Hannah Schmidt"),
        ("ok, Hannah Schmidt", "Hannah Schmidt"),
        ("Yes, Tom Baker", "Tom Baker"),
        ("ok.", None),
        ("yes", None),
    ],
)
def test_a_word_before_the_name_is_not_part_of_it(text, name):
    assert read_name(text) == name


# --- ages said of someone else; the article's medical uses -------------------------------------


@pytest.mark.parametrize(
    "text,ages",
    [
        ("my daughter is 15 and has acne scars, could she do this?", [15]),
        ("my son who is 16 wants to try it", [16]),
        ("my sister is 30 minutes away", []),
    ],
)
def test_an_age_said_of_a_relative_is_read(text, ages):
    assert ages_named(text) == ages


def test_a_teenagers_suitability_is_not_answered_from_the_article(content):
    plan = plan_reply(
        content,
        TurnState(
            intent="ask_suitability",
            text="my daughter is 15 and has acne scars, could she do this?",
        ),
    )
    assert flat(content.answer_for_intent["ask_suitability"].text) not in said(plan)
    assert "15" in said(plan)[0]


@pytest.mark.parametrize("condition_id", ["bells_palsy", "stroke"])
def test_the_articles_medical_uses_get_their_own_reply(content, condition_id):
    rule = content.contraindications.get(condition_id)
    assert rule.reply, "the article mentions it: staff wrote its own reply"
    replies = safety.replies_for(content, safety.Disclosure(uncovered=[condition_id]))
    assert [flat(r) for r in replies] == [flat(rule.reply)]

"""What a stranger's trial of 2026-12-03 found, as behaviour a visitor notices.

Each case is a kind of message (not a fixed phrase); replies are compared with the content
files by key, never with their wording, so staff edits don't break these tests.
"""

import pytest

from actions import booking, conversation_safety, form_endings, form_reading, request_changes
from actions.actions_answer import ActionAnswer
from actions.answerability import ages_named
from actions.form_reading import FormTurn
from actions.respond import TurnState, plan_reply
from tests.conftest import make_tracker

# content, detector: tests/unit/conftest.py
pytestmark = pytest.mark.usefixtures("quiet_unanswered")


def kinds(detector, text):
    return {(m.kind, m.condition) for m in detector.detect(text) if not m.negated}


# --- emergencies written in other languages --------------------------------------------------


@pytest.mark.parametrize(
    "text, symptom",
    [
        ("我胸口很痛，左手麻了", "chest_pain"),
        ("突然呼吸困难", "breathing_difficulty"),
        ("помогите, у меня сильно болит грудь", "chest_pain"),
        ("мне трудно дышать", "breathing_difficulty"),
        ("tengo dolor en el pecho", "chest_pain"),
        ("je n'arrive pas à respirer", "breathing_difficulty"),
        ("mon visage s'affaisse", "stroke_signs"),
    ],
)
def test_an_emergency_in_another_language_is_urgent(detector, text, symptom):
    assert ("urgent", symptom) in kinds(detector, text)


def test_a_message_in_another_language_after_urgent_advice_repeats_the_advice(content):
    plan = plan_reply(
        content,
        TurnState(
            intent="out_of_scope",
            text="aidez-moi",
            entities=[{"entity": "language", "value": "fr"}],
            emergency=True,
        ),
    )
    said = [m.text for m in plan.messages]
    follow_up = content.contraindications.urgent_follow_up["follow_up_reply"]
    assert " ".join(follow_up.split()) in " ".join(" ".join(said).split())
    assert any(content.messages["other_language"]["fr"] in t for t in said)


def test_any_answer_after_urgent_advice_carries_the_reminder(content):
    plan = plan_reply(content, TurnState(intent="ask_price", text="me duele mucho", emergency=True))
    reminder = content.contraindications.urgent_follow_up["reminder"]
    assert plan.messages[-1].text == reminder


# --- a mild reaction is not an emergency -----------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "had my facial 2 days ago and my cheeks are a bit swollen still",
        "my 4d facial was on monday and my jaw is slightly swollen and pink",
    ],
)
def test_slightly_swollen_after_a_facial_is_a_mild_reaction(detector, text):
    found = kinds(detector, text)
    assert ("after_treatment", "mild_swelling") in found
    assert not any(kind == "urgent" for kind, _ in found)


@pytest.mark.parametrize(
    "text", ["my face is swollen after the facial", "my face is a bit red and now very swollen"]
)
def test_swelling_without_a_mild_word_stays_urgent(detector, text):
    assert ("urgent", "severe_swelling") in kinds(detector, text)


# --- someone else's condition, the visitor being the one treated -----------------------------


def other(value):
    return {"entity": "condition", "value": value, "role": "other"}


def test_a_friends_device_with_i_am_the_one_treated_is_noted_as_someone_elses(content):
    plan = plan_reply(
        content,
        TurnState(
            intent="inform_condition",
            entities=[other("implanted_device")],
            text="my friend has a pacemaker, I'd be the one getting the facial",
        ),
    )
    assert plan.disclosure.subject == "corrected"
    expected = " ".join(content.contraindications.conversation_replies["correction_reply"].split())
    assert " ".join(plan.messages[-1].text.split()) == expected


def test_i_have_none_myself_after_someone_elses_condition_is_a_correction(content):
    from actions.safety import Disclosure

    plan = plan_reply(
        content,
        TurnState(
            intent="deny",
            text="no I dont have any health problems myself",
            earlier=Disclosure(conditions=["implanted_device"], subject="other"),
        ),
    )
    assert plan.disclosure.subject == "corrected"


def test_i_have_none_after_my_own_condition_is_never_a_correction(content):
    from actions.safety import Disclosure

    plan = plan_reply(
        content,
        TurnState(
            intent="deny",
            text="I don't have any problems, it's fine",
            earlier=Disclosure(conditions=["epilepsy"], subject="self"),
        ),
    )
    assert plan.disclosure.subject != "corrected"


# --- booking: times without a date, contact spelled out, status questions --------------------


def form_turn(text, slot, intent=None, **filled):
    return FormTurn(
        text=text,
        intent=intent,
        confidence=0.9,
        entities=[],
        requested_slot=slot,
        form="booking_form",
        filled=filled,
    )


@pytest.mark.parametrize(
    "text",
    [
        "asap",
        "whenever",
        "sometime in march, weekends",
        "any time after 5",
        "mostly evenings",
        "as soon as possible",
    ],
)
def test_a_time_wish_without_a_date_is_taken_as_typed(content, text):
    read = form_reading.read(form_turn(text, "preferred_time"), content)
    assert read.kind == form_reading.FIELD
    assert read.values["preferred_time"] == text


@pytest.mark.parametrize("text", ["no idea", "hmm"])
def test_no_time_at_all_is_asked_again(content, text):
    assert not booking.is_flexible_time(content, text)


@pytest.mark.parametrize("text", ["helen dot price at outlook", "my number is 0770 09"])
def test_a_contact_spelled_out_is_asked_again_not_answered_as_a_topic(content, text):
    read = form_reading.read(form_turn(text, "contact", intent="ask_price"), content)
    assert read.kind == form_reading.JUNK


def after_request(text, intent="ask_unknown_other", entities=()):
    return make_tracker(
        text,
        intent=intent,
        entities=list(entities),
        slots={
            "last_request": "booking:1f6bedd7",
            "visitor_name": "Rob Stone",
            "contact": "347 555 0111",
        },
    )


@pytest.mark.parametrize(
    "text",
    [
        "was it sent?",
        "did my booking go through?",
        "is my monday appointment still on?",
        "how long will it take for them to call me?",
        "when will someone contact me?",
    ],
)
def test_status_questions_after_a_request_say_it_is_kept(text):
    assert request_changes.asks_status(after_request(text))


@pytest.mark.parametrize(
    "text", ["is it going to hurt?", "did it work?", "can you make it friday instead?"]
)
def test_other_messages_after_a_request_are_not_status_questions(text):
    assert not request_changes.asks_status(after_request(text))


async def test_the_status_reply_names_the_reference_and_sends_nothing(
    content, dispatcher, monkeypatch
):
    sent = []
    monkeypatch.setattr(form_endings, "submit_request", lambda *a, **k: sent.append(a))
    events = await ActionAnswer().run(dispatcher, after_request("was it sent?"), {})
    said = " ".join(m["text"] for m in dispatcher.messages)
    assert "1f6bedd7" in said and "347 555 0111" in said
    assert not sent
    assert not any(e.get("name") == "last_request" for e in events)


# --- emoji, ages --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, intent",
    [
        ("👍", "thank"),
        ("👍🏽", "thank"),
        ("❤️❤️", "thank"),
        ("👋", "greet"),
        ("🤔", None),
        ("...", None),
    ],
)
def test_an_emoji_only_message_means_what_staff_listed(content, text, intent):
    assert conversation_safety.emoji_meaning(content, text) == intent


@pytest.mark.parametrize(
    "text, ages",
    [
        ("its been 10 years its fine", []),
        ("10 years ago I had a stroke", []),
        ("I am 16 years old", [16, 16]),
        ("a 17 y/o", [17]),
        ("im 16", [16]),
    ],
)
def test_durations_in_years_are_not_ages(text, ages):
    assert ages_named(text) == ages

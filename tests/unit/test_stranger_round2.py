"""What the second stranger trial (53 visitors played by a helper who had only the article and the
running assistant) found, each fixed in general and pinned here. Expected texts come from the
content files, so staff may reword them."""

import pytest

from actions import booking
from actions.form_reading import (
    FIELD,
    STOP,
    FormTurn,
    name_in_sentence,
    ordinal_choice,
    party_size,
    read,
    read_name,
    reads_as_name,
)
from actions.respond import TurnState, plan_reply
from clinic_nlu.booking_entities import find_day

# content, detector: tests/unit/conftest.py
pytestmark = pytest.mark.usefixtures("quiet_unanswered")


def flat(text):
    return " ".join(str(text).split())


def said(plan):
    return [flat(m.text) for m in plan.messages]


# --- a Spanish word is not an English typo ----------------------------------------------------


@pytest.mark.parametrize(
    "text", ["quiero hacer una cita para el martes", "lo puedo hacer el lunes por la tarde?"]
)
def test_spanish_words_are_not_corrected_into_conditions(detector, text):
    assert not [m for m in detector.detect(text) if not m.negated]


@pytest.mark.parametrize(
    "text,condition",
    [("tengo un marcapasos", "implanted_device"), ("i have a pacemeker", "implanted_device")],
)
def test_conditions_and_english_typos_are_still_found(detector, text, condition):
    assert condition in {m.condition for m in detector.detect(text)}


# --- after urgent advice the conversation can go on -------------------------------------------


def test_thanks_after_urgent_advice_gets_the_reminder_alone(content):
    plan = plan_reply(content, TurnState(intent="thank", text="thanks", emergency=True))
    assert said(plan) == [flat(content.contraindications.urgent_follow_up["reminder"])]


def test_a_new_topic_after_urgent_advice_is_answered_with_the_reminder(content):
    plan = plan_reply(
        content,
        TurnState(
            intent="ask_results",
            text="different question, does the facial help with jowls?",
            emergency=True,
        ),
    )
    assert said(plan)[0] == flat(content.answer_for_intent["ask_results"].text)
    assert said(plan)[-1] == flat(content.contraindications.urgent_follow_up["reminder"])


@pytest.mark.parametrize(
    "text,intent",
    [
        ("is that normal?", "ask_safety"),
        ("thanks, I'm fine now", "thank"),
        ("btw is that normal", "ask_results"),
    ],
)
def test_more_about_the_symptoms_gets_the_advice_again(content, text, intent):
    plan = plan_reply(content, TurnState(intent=intent, text=text, emergency=True))
    assert said(plan)[0] == flat(content.contraindications.urgent_follow_up["follow_up_reply"])


# --- a health problem stays the subject -------------------------------------------------------


def test_can_i_still_have_it_after_a_health_problem_gets_no_treatment_answer(content):
    plan = plan_reply(
        content,
        TurnState(
            intent="ask_experience",
            text="can i still get the facial with it there?",
            medical_topic=True,
        ),
    )
    assert flat(content.answer_for_intent["ask_experience"].text) not in said(plan)
    assert said(plan)[0] == flat(content.message("treat_it_unknown"))


def test_the_health_problem_is_remembered_across_an_unclear_message(content):
    plan = plan_reply(
        content, TurnState(intent="out_of_scope", text="what should i do then", medical_topic=True)
    )
    assert plan.medical_topic


# --- names that hold ordinary words -----------------------------------------------------------


def name_turn(text, intent=None, form="booking_form", slot="visitor_name"):
    return FormTurn(
        text=text,
        intent=intent,
        confidence=0.9,
        entities=[],
        requested_slot=slot,
        form=form,
        filled={},
    )


@pytest.mark.parametrize(
    "text,name",
    [
        ("Stop Smith", "Stop Smith"),
        ("her name is Stop Smith", "Stop Smith"),
        ("Joy Burns", "Joy Burns"),
        ("her name is Rose Stroke-Miller", "Rose Stroke-Miller"),
    ],
)
def test_a_name_with_an_everyday_word_is_a_name(content, text, name):
    reading = read(name_turn(text, intent="cancel"), content)
    assert reading.kind == FIELD and reading.values["visitor_name"] == name


@pytest.mark.parametrize("text", ["stop", "Stop It", "cancel", "Never Mind"])
def test_stopping_at_the_name_step_still_stops(content, text):
    assert read(name_turn(text, intent="cancel"), content).kind == STOP


def test_reads_as_name_needs_capitalised_words():
    assert reads_as_name("Will Book") and not reads_as_name("stop smith please")


def test_an_email_at_the_name_step_is_not_a_name():
    assert read_name("olga_k@mail.ru") is None
    assert (
        name_in_sentence("the name is Rose Stroke-Miller with the hyphen") == "Rose Stroke-Miller"
    )


# --- declining, confirming, choosing by typing ------------------------------------------------


@pytest.mark.parametrize(
    "text,slot,form",
    [
        ("nah nvm i dont need a person", "handoff_topic", "handoff_form"),
        ("no thanks", "visitor_name", "handoff_form"),
        ("no thank you", "contact", "booking_form"),
    ],
)
def test_declining_a_form_stops_it(content, text, slot, form):
    assert read(name_turn(text, form=form, slot=slot), content).kind == STOP


@pytest.mark.parametrize(
    "text,slot",
    [
        ("no", "screening"),
        ("no thanks", "screening"),
        ("I don't want it too early", "preferred_time"),
    ],
)
def test_no_at_the_health_question_is_an_answer_not_a_stop(content, text, slot):
    assert read(name_turn(text, slot=slot), content).kind != STOP


@pytest.mark.parametrize(
    "text", ["whatever just send it", "oui send it", "si mandalo", "sim", "alright"]
)
def test_ordinary_yeses_confirm(content, text):
    reading = read(name_turn(text, slot="booking_confirmed"), content)
    assert reading.values.get("booking_confirmed") == "send"


def test_the_second_one_is_the_second_button(content):
    titles = [s.title for s in booking.services(content)]
    assert ordinal_choice("the second one", titles) == titles[1]
    reading = read(name_turn("the second one", slot="booking_service"), content)
    assert reading.values.get("booking_service") == booking.services(content)[1].id


def test_a_question_naming_two_services_chooses_none(content):
    reading = read(
        name_turn(
            "whats the diffrence between clear skin and forever young",
            intent="ask_memberships",
            slot="booking_service",
        ),
        content,
    )
    assert "booking_service" not in reading.values


# --- days, people and contacts as typed -------------------------------------------------------


@pytest.mark.parametrize(
    "text,day",
    [
        ("ok i'll book for 2 weeks from now. Single.", "2 weeks from now"),
        (
            "for 1 person, 2 weeks from today in the afternoon",
            "2 weeks from today in the afternoon",
        ),
        ("NO. not today. in two weeks.", "in two weeks"),
        ("friday after 5", "friday after 5"),
        ("sometime in March, weekends", "in March, weekends"),
        ("Dec 12", "Dec 12"),
        ("make it saturday the 6th at noon", "saturday the 6th at noon"),
    ],
)
def test_days_as_typed(text, day):
    span = find_day(text)
    assert span and text[span[0] : span[1]] == day


@pytest.mark.parametrize(
    "text", ["I had botox 4 days ago", "May I have your number?", "it would be my 3rd facial"]
)
def test_no_day_where_none_is_wished(text):
    assert find_day(text) is None


@pytest.mark.parametrize(
    "text,people",
    [
        ("ok i'll book for 2 weeks from now", None),
        ("its just me, not 2 people", 1),
        ("me and my sister", 2),
    ],
)
def test_party_size(text, people):
    assert party_size(text) == people


def test_a_phone_and_an_email_are_both_kept():
    contact = booking.normalise_contact("917-555-0160 or olivia.book@gmail.com")
    assert "917-555-0160" in contact and "olivia.book@gmail.com" in contact


# --- a condition told after the request was sent ----------------------------------------------


class _Stored:
    id = "c0ffee0012345678"


def _after_request(text, entities):
    from tests.conftest import make_tracker

    return make_tracker(
        text,
        intent="inform_condition",
        entities=entities,
        slots={
            "last_request": "booking:1f6bedd7",
            "visitor_name": "Lucy Gray",
            "contact": "lucy.gray@example.com",
        },
    )


async def test_a_condition_told_after_the_request_is_passed_on_at_once(
    content, dispatcher, monkeypatch
):
    from actions import form_endings
    from actions.actions_answer import ActionAnswer

    sent = []
    monkeypatch.setattr(
        form_endings,
        "submit_request",
        lambda kind, payload, request_id: sent.append(payload) or _Stored(),
    )
    pregnancy = [{"entity": "condition", "value": "pregnancy", "role": "self"}]
    events = await ActionAnswer().run(
        dispatcher, _after_request("oh wait, I just found out I'm pregnant", pregnancy), {}
    )
    texts = [flat(m["text"]) for m in dispatcher.messages]
    assert texts[0] == flat(content.contraindications.get("pregnancy").reply)
    assert len(sent) == 1 and "pregnancy" in sent[0]["conditions"]
    assert sent[0]["amends"] == "1f6bedd7"
    assert "1f6bedd7" in texts[-1] and "c0ffee00" in texts[-1]
    assert {"event": "slot", "name": "last_request", "value": "handoff:c0ffee00"} in [
        {k: e.get(k) for k in ("event", "name", "value")} for e in events
    ]


async def test_someone_elses_condition_after_the_request_is_not_sent(
    content, dispatcher, monkeypatch
):
    from actions import form_endings
    from actions.actions_answer import ActionAnswer

    sent = []
    monkeypatch.setattr(
        form_endings,
        "submit_request",
        lambda kind, payload, request_id: sent.append(payload) or _Stored(),
    )
    other = [{"entity": "condition", "value": "pregnancy", "role": "other"}]
    await ActionAnswer().run(dispatcher, _after_request("my sister is pregnant", other), {})
    assert not sent


# --- a message that started the hand-off but declines it (stranger trial 3) -----------------


@pytest.mark.parametrize(
    "text,intent,slots,meaning",
    [
        ("ok never mind then, I don't want to talk to anyone. thanks", "request_human", {}, "deny"),
        ("ok im out ✌️", "affirm", {"person_offered": True}, "goodbye"),
        ("🙏", "affirm", {"person_offered": True, "last_request": "booking:8bf7330c"}, "thank"),
    ],
)
async def test_a_declining_message_starts_no_hand_off(
    content, dispatcher, text, intent, slots, meaning
):
    from actions.forms import ValidateHandoffForm
    from tests.conftest import make_tracker

    tracker = make_tracker(text, intent=intent, slots=slots, active_loop="handoff_form")
    events = await ValidateHandoffForm().run(dispatcher, tracker, {})
    assert any(e.get("event") == "action_execution_rejected" for e in events)
    said = " ".join(m.get("text") or "" for m in dispatcher.messages)
    assert said  # the visitor hears the thanks / goodbye / "anything else?", never silence


@pytest.mark.parametrize(
    "text,intent",
    [("yes please", "affirm"), ("I want to talk to a person", "request_human"), ("👍", "affirm")],
)
async def test_asking_for_a_person_still_starts_the_hand_off(content, dispatcher, text, intent):
    from actions.forms import ValidateHandoffForm
    from tests.conftest import make_tracker

    tracker = make_tracker(
        text, intent=intent, slots={"person_offered": True}, active_loop="handoff_form"
    )
    events = await ValidateHandoffForm().run(dispatcher, tracker, {})
    assert not any(e.get("event") == "action_execution_rejected" for e in events)


# --- "sí, por favor" after the language notice offered a person -------------------------------


@pytest.mark.parametrize("text", ["sí, por favor", "Si", "oui merci", "sim", "ja bitte", "好的"])
def test_a_yes_in_another_language_after_the_offer_starts_the_hand_off(content, text):
    from actions import conversation_safety as cs

    entities = [{"entity": "language", "value": "es"}]
    assert cs.says_yes_in_another_language(content, text, entities, person_offered=True)
    assert not cs.says_yes_in_another_language(content, text, entities, person_offered=False)


@pytest.mark.parametrize("text", ["si estoy embarazada", "¿cuánto cuesta una sesión de 4d?"])
def test_other_messages_in_another_language_are_not_a_yes(content, text):
    from actions import conversation_safety as cs

    entities = [{"entity": "language", "value": "es"}]
    if "embarazada" in text:
        entities.append({"entity": "condition", "value": "pregnancy"})
    assert not cs.says_yes_in_another_language(content, text, entities, person_offered=True)


@pytest.mark.parametrize(
    "text,service",
    [
        ("I'd like the membership with the 4-D facial", None),
        ("book a 4d facial", "4d_facial_single"),
        ("the forever young membership", "forever_young_membership"),
    ],
)
def test_a_kind_of_service_is_not_one_service(text, service):
    from clinic_nlu.booking_entities import ServiceNames

    found = ServiceNames.from_yaml("data/content/booking.yml").find(text)
    assert (found[2] if found else None) == service


def test_mid_morning_is_part_of_the_time():
    text = "tuesdays or wednesdays, mid morning"
    span = find_day(text)
    assert span and text[span[0] : span[1]] == text


def test_a_service_name_typed_for_the_name_is_the_service(content):
    reading = read(name_turn("Forever Young"), content)
    assert reading.values.get("booking_service") == "forever_young_membership"
    assert "visitor_name" not in reading.values
    assert read(name_turn("Grace Young"), content).values.get("visitor_name") == "Grace Young"


def test_the_first_question_is_not_asked_after_a_refused_start_but_is_after_a_switch():
    from actions.form_questions import refused_this_turn
    from tests.conftest import make_tracker

    user = {"event": "user", "text": "x"}
    start = {"event": "active_loop", "name": "handoff_form"}
    rejected = {"event": "action_execution_rejected", "name": "handoff_form"}
    booking = {"event": "active_loop", "name": "booking_form"}
    assert refused_this_turn(make_tracker("x", events=[user, start, rejected]))
    assert not refused_this_turn(make_tracker("x", events=[user, rejected, booking]))
    assert not refused_this_turn(make_tracker("x", events=[rejected, user, start]))

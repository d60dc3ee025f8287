"""Several questions in one message: planning (actions.respond) and the booking form's use of
the service / day entities (actions.forms), with the real content."""

import pytest

from actions import safety
from actions.form_questions import ActionAskBookingService, answers_before_form
from actions.forms import ValidateBookingForm
from actions.respond import TurnState, message_parts, plan_reply
from clinic_content.store import get_store


@pytest.fixture(autouse=True)
def quiet_unanswered(tmp_path, monkeypatch):
    """Unanswered questions go to a temporary database."""
    monkeypatch.setenv("CLINIC_UNANSWERED_PATH", str(tmp_path / "unanswered.db"))


def part(value, start):
    return {
        "entity": "question_part",
        "value": value,
        "start": start,
        "end": start + 5,
        "confidence": 0.9,
        "extractor": "QuestionPartExtractor",
    }


def condition(value):
    return {
        "entity": "condition",
        "value": value,
        "role": "self",
        "extractor": "ContraindicationExtractor",
    }


def answer_text(content, intent):
    return content.answer_for_intent[intent].text


def test_parts_come_in_message_order_deduplicated_and_capped():
    entities = [
        part("ask_price", 20),
        part("ask_what_is", 0),
        part("ask_price", 40),
        part("ask_safety", 60),
        part("ask_history", 80),
    ]
    assert message_parts("ask_what_is", entities) == ["ask_what_is", "ask_price", "ask_safety"]


def test_without_two_parts_the_intent_decides():
    assert message_parts("ask_what_is+ask_price", []) == ["ask_what_is", "ask_price"]
    assert message_parts("ask_price", [part("ask_price", 0)]) == ["ask_price"]


def test_every_part_is_answered_in_order_unknown_parts_say_so():
    content = get_store().get()
    turn = TurnState(
        intent="ask_experience",
        entities=[part("ask_experience", 0), part("ask_session_length", 14)],
    )
    plan = plan_reply(content, turn)
    texts = [m.text for m in plan.messages]
    assert texts[0] == answer_text(content, "ask_experience")
    assert texts[1].startswith(answer_text(content, "ask_session_length"))
    assert plan.unanswered == "unknown" and plan.person_offered


def test_a_disclosure_still_comes_first_and_nothing_reassures():
    content = get_store().get()
    turn = TurnState(
        intent="inform_condition",
        entities=[
            condition("pregnancy"),
            part("ask_safety", 20),
            part("ask_experience", 35),
            part("ask_price", 50),
        ],
    )
    plan = plan_reply(content, turn)
    texts = [m.text for m in plan.messages]
    assert texts[0] == safety.condition_reply(content, "pregnancy")
    # only the facts the article does not hold: no "painless", no general "it's safe"
    assert len(texts) == 2 and texts[1].startswith(answer_text(content, "ask_price"))
    joined = " ".join(texts)
    assert safety.find_reassurance(joined, safety.reassurance_phrases(content)) is None
    assert plan.disclosure.conditions == ["pregnancy"]


def test_an_urgent_symptom_gets_only_the_urgent_message():
    content = get_store().get()
    turn = TurnState(
        intent="ask_price",
        entities=[
            {"entity": "urgent_symptom", "value": "chest_pain"},
            part("ask_price", 0),
            part("ask_experience", 20),
        ],
    )
    plan = plan_reply(content, turn)
    assert [m.text for m in plan.messages] == [safety.urgent_reply(content)]


def test_a_booking_part_adds_the_booking_button_once():
    content = get_store().get()
    plan = plan_reply(
        content, TurnState(intent="ask_price", entities=[part("ask_price", 0), part("book", 20)])
    )
    payloads = [b.payload for m in plan.messages for b in m.buttons]
    assert payloads.count("/book") == 1  # plain payload: the website channel allows no entities
    assert "/book" in [b.payload for b in plan.messages[-1].buttons]


def test_no_booking_offer_while_a_condition_is_disclosed():
    content = get_store().get()
    plan = plan_reply(
        content,
        TurnState(
            intent="ask_price",
            entities=[part("ask_price", 0), part("book", 20)],
            earlier=safety.Disclosure(conditions=["epilepsy"]),
        ),
    )
    assert all("/book" not in b.payload for m in plan.messages for b in m.buttons)


def test_a_person_part_offers_a_person_once():
    content = get_store().get()
    plan = plan_reply(
        content,
        TurnState(intent="ask_price", entities=[part("ask_price", 0), part("request_human", 20)]),
    )
    assert plan.person_offered
    assert sum(b.payload == "/request_human" for m in plan.messages for b in m.buttons) == 1


async def test_questions_in_the_message_that_starts_booking_are_answered_first(
    dispatcher, tracker_for
):
    content = get_store().get()
    tracker = tracker_for(
        "is it safe and can I book for next week",
        "book",
        entities=[part("ask_safety", 0), part("book", 15)],
        active_loop="booking_form",
        events=[
            {"event": "user", "text": "is it safe and can I book"},
            {"event": "active_loop", "name": "booking_form"},
        ],
    )
    assert [m.text for m in answers_before_form(content, tracker)] == [
        answer_text(content, "ask_safety")
    ]
    await ActionAskBookingService().run(dispatcher, tracker, {})
    assert dispatcher.messages[0]["text"] == answer_text(content, "ask_safety")
    assert dispatcher.messages[-1]["text"].endswith(content.booking.prompts["ask_service"])


def test_no_answers_first_for_a_plain_booking_or_a_disclosure(tracker_for):
    content = get_store().get()
    assert answers_before_form(content, tracker_for("I want to book", "book")) == []
    tracker = tracker_for(
        "I'm pregnant, is it safe and can I book",
        "book",
        entities=[condition("pregnancy"), part("ask_safety", 14), part("book", 30)],
    )
    assert answers_before_form(content, tracker) == []


BOOKING_DOMAIN = {
    "forms": {
        "booking_form": {
            "required_slots": [
                "booking_service",
                "visitor_name",
                "contact",
                "preferred_time",
                "screening",
                "booking_confirmed",
            ]
        }
    },
    "slots": {},
}


def starting(tracker_for, text, entities, **slots):
    """A tracker at the booking form's activation, with prefilled slots to validate."""
    tracker = tracker_for(
        text,
        "book",
        entities=entities,
        slots={**slots, "requested_slot": None},
        active_loop="booking_form",
    )
    tracker.events = [
        {"event": "slot", "name": name, "value": value} for name, value in slots.items()
    ]
    return tracker


def slot_events(events):
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


@pytest.mark.parametrize(
    "value, expected",
    [
        ("4d_facial_single", "4d_facial_single"),  # the entity's value: a service id
        ("forever_young_membership", "forever_young_membership"),
        ("hydrafacial", None),  # not offered: asked again with buttons
    ],
)
async def test_service_from_the_entity_is_validated(dispatcher, tracker_for, value, expected):
    tracker = starting(
        tracker_for,
        "I'd like to book",
        [{"entity": "service", "value": value}],
        booking_service=value,
    )
    events = await ValidateBookingForm().run(dispatcher, tracker, BOOKING_DOMAIN)
    assert slot_events(events)["booking_service"] == expected


async def test_day_from_the_entity_is_kept_as_typed(dispatcher, tracker_for):
    tracker = starting(
        tracker_for,
        "book a facial on Friday afternoon",
        [{"entity": "day", "value": "Friday afternoon"}],
        preferred_time="Friday afternoon",
    )
    events = await ValidateBookingForm().run(dispatcher, tracker, BOOKING_DOMAIN)
    assert slot_events(events)["preferred_time"] == "Friday afternoon"
    assert dispatcher.messages == []


async def test_a_disclosure_in_the_starting_message_is_said_once(dispatcher, tracker_for):
    """Two prefilled fields are validated together; the disclosure reply must not repeat."""
    content = get_store().get()
    tracker = tracker_for(
        "I'm pregnant, book a facial on friday",
        "book",
        entities=[
            condition("pregnancy"),
            {"entity": "service", "value": "4d_facial_single"},
            {"entity": "day", "value": "friday"},
        ],
        slots={
            "booking_service": "4d_facial_single",
            "preferred_time": "friday",
            "requested_slot": None,
        },
        active_loop="booking_form",
    )
    tracker.events = [
        {"event": "slot", "name": "booking_service", "value": "4d_facial_single"},
        {"event": "slot", "name": "preferred_time", "value": "friday"},
    ]
    await ValidateBookingForm().run(dispatcher, tracker, BOOKING_DOMAIN)
    replies = [m["text"] for m in dispatcher.messages]
    assert replies.count(safety.condition_reply(content, "pregnancy")) == 1

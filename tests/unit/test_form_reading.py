"""What the form reader makes of messages typed while a form waits (actions/form_reading.py).

Every row is something a visitor typed in a real trial: names that are also words, typed button
labels, junk at the name step, corrections, several fields in one message, stop and person
requests worded every way.
"""

import pytest

from actions import form_reading as reading
from actions.form_reading import FormTurn
from clinic_content.store import get_store


@pytest.fixture(scope="module")
def content():
    return get_store().get()


def turn(text, slot, intent=None, confidence=0.9, entities=(), form="booking_form", **filled):
    return FormTurn(
        text=text,
        intent=intent,
        confidence=confidence,
        entities=list(entities),
        requested_slot=slot,
        form=form,
        filled=filled,
    )


def day(value):
    return {"entity": "day", "value": value}


@pytest.mark.parametrize(
    "text, intent, expected",
    [
        ("Helen Price", "ask_price", "Helen Price"),
        ("Pete Long", "ask_session_length", "Pete Long"),
        ("Laura Bell", "out_of_scope", "Laura Bell"),
        ("Dana White", "out_of_scope", "Dana White"),
        ("Mohammed Al-Rashid", "out_of_scope", "Mohammed Al-Rashid"),
        ("my name is Dana White", "out_of_scope", "Dana White"),
        ("it's Tom", "greet", "Tom"),
        ("I'm Zoë O'Neill", "greet", "Zoë O'Neill"),
        ("José María García", None, "José María García"),
        ("dana white", "nlu_fallback", "dana white"),
        ("Ana de la Cruz", None, "Ana de la Cruz"),
    ],
)
def test_names_that_are_also_words_are_names_at_the_name_step(content, text, intent, expected):
    read = reading.read(turn(text, "visitor_name", intent=intent), content)
    assert read.kind == reading.FIELD
    assert read.values["visitor_name"] == expected


@pytest.mark.parametrize(
    "text, intent",
    [
        ("/deny", "deny"),
        ("/book", "book"),
        ("what happens now?", "ask_unknown_other"),
        ("Thank you, <b>Jane</b> <script>x</script>", "thank"),
        ("how long does it take?", "ask_session_length"),
        ("price", "ask_price"),
        ("single", "nlu_fallback"),
        ("yes", "affirm"),
        ("I'm not sure", "deny"),
    ],
)
def test_junk_and_questions_are_never_taken_as_a_name(content, text, intent):
    entities = [{"entity": "service", "value": "4d_facial_single"}] if text == "single" else []
    read = reading.read(turn(text, "visitor_name", intent=intent, entities=entities), content)
    assert "visitor_name" not in read.values


@pytest.mark.parametrize(
    "text, intent, kind",
    [
        ("/deny", "deny", reading.JUNK),
        ("<b>Jane</b>", "greet", reading.JUNK),
        ("what happens now?", "ask_unknown_other", reading.PROCESS),
        ("how much is it?", "ask_price", reading.QUESTION),
    ],
)
def test_what_a_non_name_is_read_as(content, text, intent, kind):
    assert reading.read(turn(text, "visitor_name", intent=intent), content).kind == kind


@pytest.mark.parametrize(
    "text, intent, answer",
    [
        ("none of these apply to me", "request_human", "none"),
        ("none", "deny", "none"),
        ("nope", "deny", "none"),
        ("no, none of those", "deny", "none"),
        ("I'm not sure", "deny", "not_sure"),
        ("not sure tbh", None, "not_sure"),
        ("yes, one of them", "affirm", "applies"),
        ("/deny", "deny", "none"),  # the button's payload
        ("/affirm", "affirm", "applies"),
    ],
)
def test_screening_understands_typed_answers(content, text, intent, answer):
    read = reading.read(turn(text, "screening", intent=intent, confidence=0.4), content)
    assert read.kind == reading.FIELD
    assert read.values["screening"] == answer


# A button's label typed (any case), whatever the staff call the buttons in booking.yml, and even
# when the classifier misreads it ("None of these apply" was read as cancel in a real trial).
MISREAD = {"none": "cancel", "applies": None, "not_sure": "deny"}


@pytest.mark.parametrize("key", sorted(MISREAD))
def test_a_typed_screening_button_label_is_its_answer(content, key):
    label = content.booking.screening_buttons[key]
    for typed in (label, label.lower(), label.upper() + "!"):
        read = reading.read(turn(typed, "screening", intent=MISREAD[key], confidence=0.4), content)
        assert read.kind == reading.FIELD, typed
        assert read.values["screening"] == key, typed


@pytest.mark.parametrize(
    "key, expected", [("send", reading.CONFIRM_SEND), ("change", reading.CONFIRM_CHANGE)]
)
def test_a_typed_confirmation_button_label_is_its_choice(content, key, expected):
    label = content.booking.confirm_buttons[key]
    for typed in (label, label.lower()):
        assert (
            reading.read(turn(typed, "booking_confirmed"), content).values["booking_confirmed"]
            == expected
        ), typed


@pytest.mark.parametrize(
    "text, slot, intent",
    [
        ("stop", "visitor_name", "cancel"),
        ("cancel that", "contact", "cancel"),
        ("never mind, forget it", "preferred_time", "deny"),
        ("I changed my mind, I don't want to book", "screening", "deny"),
        ("/cancel", "booking_service", "cancel"),
    ],
)
def test_clear_stop_requests_leave_the_form(content, text, slot, intent):
    assert reading.read(turn(text, slot, intent=intent), content).kind == reading.STOP


@pytest.mark.parametrize(
    "text, intent",
    [
        ("this bot is useless, get me a real person NOW", "out_of_scope"),
        ("can I just talk to someone?", "request_human"),
        ("/request_human", "request_human"),
        ("I need to reschedule my appointment", "change_appointment"),
    ],
)
def test_requests_for_a_person_leave_the_booking(content, text, intent):
    assert reading.read(turn(text, "contact", intent=intent), content).kind == reading.PERSON


def test_a_correction_of_the_time_changes_it(content):
    read = reading.read(
        turn(
            "actually make it Friday",
            "screening",
            intent="book",
            entities=[day("Friday")],
            preferred_time="Tuesday",
        ),
        content,
    )
    assert read.kind == reading.CORRECTION
    assert read.values == {"preferred_time": "Friday"}


def test_a_correction_of_the_email_changes_it_at_the_confirmation_step(content):
    read = reading.read(
        turn(
            "my email is wrong, it's tom.reed@example.com",
            "booking_confirmed",
            contact="tom@reed.com",
        ),
        content,
    )
    assert read.kind == reading.CORRECTION
    assert read.values == {"contact": "tom.reed@example.com"}


def test_every_field_in_one_message_is_taken(content):
    text = "Friday at 11am. My name is Tom Reed and my email is tom@example.com"
    read = reading.read(turn(text, "preferred_time", entities=[day("Friday at 11am")]), content)
    assert read.kind == reading.FIELD
    assert read.values == {
        "preferred_time": "Friday at 11am",
        "visitor_name": "Tom Reed",
        "contact": "tom@example.com",
    }


def test_a_field_given_at_another_step_is_noted_and_the_step_asked_again(content):
    read = reading.read(
        turn(
            "Can you move it to next Monday?",
            "visitor_name",
            intent="book",
            entities=[day("next Monday")],
        ),
        content,
    )
    assert read.kind == reading.FIELD
    assert read.values == {"preferred_time": "next Monday"}
    assert read.noted == ["preferred_time"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("send", reading.CONFIRM_SEND),
        ("yes please", reading.CONFIRM_SEND),
        ("looks good", reading.CONFIRM_SEND),
        ("/affirm", reading.CONFIRM_SEND),
        ("/deny", reading.CONFIRM_CHANGE),
        ("no wait", reading.CONFIRM_CHANGE),
    ],
)
def test_the_confirmation_step(content, text, expected):
    read = reading.read(turn(text, "booking_confirmed"), content)
    assert read.values["booking_confirmed"] == expected


@pytest.mark.parametrize(
    "text, people",
    [
        ("can I book for me and my sister", 2),
        ("the three of us want to come", 3),
        ("a booking for 2 people", 2),
        ("book me and my mum in", 2),
    ],
)
def test_bookings_for_several_people_are_noticed(text, people):
    assert reading.party_size(text) == people


@pytest.mark.parametrize("text", ["book for friday at 2", "I want to book", "for 2pm please"])
def test_single_bookings_are_not_groups(text):
    assert reading.party_size(text) is None


def test_a_typed_service_title_is_the_service(content):
    read = reading.read(turn("forever young membership please", "booking_service"), content)
    assert read.values["booking_service"] == "forever_young_membership"


def test_the_topic_of_a_handoff_is_kept_as_plain_text(content):
    read = reading.read(
        turn("my <i>booking</i> next week", "handoff_topic", form="handoff_form"), content
    )
    assert read.values["handoff_topic"] == "my booking next week"
    skipped = reading.read(turn("skip", "handoff_topic", form="handoff_form"), content)
    assert skipped.values["handoff_topic"] == "-"

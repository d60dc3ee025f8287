"""End to end: both servers started as `make run` starts them; a visitor talks over the website
(REST) channel and reads the replies."""

import sqlite3
import uuid

import pytest

from tests.conftest import post_message
from tests.servers import start_assistant

pytestmark = pytest.mark.e2e

# One question per topic, in words that are not in the training data, and what the reply must say.
TOPIC_QUESTIONS = [
    ("ok but what exactly is this microcurrent thing", ["current"]),
    ("how does microcurrent actually work on the muscles", ["probe"]),
    ("when was microcurrent first used on people", ["1748"]),
    ("will it do anything for my droopy eyebrows", ["brow"]),
    ("is the treatment painful", ["pain"]),
    ("would this work instead of getting a facelift", ["surg"]),
    ("any famous people who swear by it?", ["Diana"]),
    ("besides faces what else is microcurrent used for", ["Bell"]),
    ("is it okay for someone in their twenties", ["twenty"]),
    ("are there people who shouldn't have it", ["epilepsy", "pregnan"]),
    ("can I get microcurrent at your place", ["4-D Facial"]),
    ("tell me about the forever young membership", ["Forever Young"]),
]
UNKNOWN_QUESTIONS = [
    "how much is a 4-D facial?",
    "how long is one appointment",
    "what time do you open on saturdays",
]


def text_of(replies):
    return " ".join(r.get("text") or "" for r in replies)


@pytest.mark.parametrize("question, must_contain", TOPIC_QUESTIONS)
def test_each_topic_is_answered(assistant_url, question, must_contain):
    reply = text_of(post_message(assistant_url, f"topic-{uuid.uuid4().hex}", question))
    for word in must_contain:
        assert word.lower() in reply.lower(), (question, reply)


@pytest.mark.parametrize("question", UNKNOWN_QUESTIONS)
def test_unknown_fact_is_honest_and_offers_a_person(assistant_url, question):
    replies = post_message(assistant_url, f"unknown-{uuid.uuid4().hex}", question)
    reply = text_of(replies)
    assert "don't have" in reply.lower(), reply
    assert not any(ch.isdigit() for ch in reply.replace("4-D", "")), reply
    buttons = [b for r in replies for b in r.get("buttons") or []]
    assert any(b["payload"] == "/request_human" for b in buttons), replies


def test_greeting_says_it_is_an_automated_assistant(assistant_url):
    reply = text_of(post_message(assistant_url, f"hi-{uuid.uuid4().hex}", "are you a real person?"))
    assert "automated" in reply.lower() or "assistant" in reply.lower(), reply


def test_disclosure_in_a_greeting_is_caught_and_never_reassured(assistant_url):
    sender = f"epi-{uuid.uuid4().hex}"
    first = text_of(post_message(assistant_url, sender, "hiya, I have epilepsy lol"))
    assert "epilepsy" in first.lower(), first
    later = text_of(post_message(assistant_url, sender, "so is it safe for me then?"))
    assert "epilepsy" in later.lower(), later
    for phrase in ["safe for you", "go ahead", "no problem", "perfectly safe"]:
        assert phrase not in later.lower()


def run_booking(base_url, sender, service="Forever Young membership", screening="/deny"):
    steps = [
        ("I'd like to book", "Which"),
        (service, "name"),
        ("Jane Doe", "reach you"),
        ("not an email", "doesn't look like"),
        ("jane@example.com", "When"),
        ("next Tuesday afternoon", "apply"),
        (screening, "send"),
        ("/affirm", "reference"),
    ]
    transcript = []
    for text, expected in steps:
        reply = text_of(post_message(base_url, sender, text))
        transcript.append((text, reply))
        assert expected.lower() in reply.lower(), transcript
    return transcript


def outbox_rows(assistant):
    with sqlite3.connect(assistant.env["CLINIC_OUTBOX_PATH"]) as connection:
        return list(
            connection.execute(
                "SELECT kind, service, state, payload FROM requests ORDER BY created_at, rowid"
            )
        )


def test_booking_is_stored_before_it_is_confirmed(assistant):
    sender = f"book-{uuid.uuid4().hex}"
    before = len(outbox_rows(assistant)) if _has_outbox(assistant) else 0
    run_booking(assistant.base_url, sender)
    rows = outbox_rows(assistant)
    assert len(rows) == before + 1
    kind, service, state, payload = rows[-1]
    assert kind == "booking" and service == "Forever Young membership" and state == "pending"
    assert "jane@example.com" in payload


def test_question_in_the_middle_of_booking_is_answered_and_booking_resumes(assistant_url):
    sender = f"faq-{uuid.uuid4().hex}"
    assert "which" in text_of(post_message(assistant_url, sender, "book me in please")).lower()
    assert (
        "name"
        in text_of(post_message(assistant_url, sender, "4-D Facial (single session)")).lower()
    )
    reply = text_of(post_message(assistant_url, sender, "wait, does it hurt?"))
    assert "pain" in reply.lower() and "name" in reply.lower(), reply


def test_disclosure_during_booking_turns_it_into_a_consultation(assistant):
    sender = f"consult-{uuid.uuid4().hex}"
    base = assistant.base_url
    post_message(base, sender, "I want to book")
    post_message(base, sender, "Clear Skin membership")
    post_message(base, sender, "Sam")
    post_message(base, sender, "+1 212 555 0100")
    post_message(base, sender, "friday morning")
    reply = text_of(post_message(base, sender, "/affirm"))  # the "One of these applies" button
    assert "consultation" in reply.lower(), reply  # said before it is sent
    reply = text_of(post_message(base, sender, "/affirm"))  # "Send it"
    assert "consultation" in reply.lower(), reply
    kind = outbox_rows(assistant)[-1][0]
    assert kind == "consultation"


def _has_outbox(assistant):
    import os

    return os.path.exists(assistant.env["CLINIC_OUTBOX_PATH"])


def test_conversation_survives_a_rasa_restart_mid_form(tmp_path):
    own = start_assistant(tmp_path / "restart")
    try:
        sender = f"restart-{uuid.uuid4().hex}"
        post_message(own.base_url, sender, "I'd like to book")
        post_message(own.base_url, sender, "Forever Young membership")
        rasa = own.processes[-1]
        own.stop_process(rasa)
        own.start_rasa()
        reply = text_of(post_message(own.base_url, sender, "Alex Smith"))
        assert "reach you" in reply.lower(), reply
    finally:
        own.stop()


def test_disclosure_typed_in_the_middle_of_booking_makes_it_a_consultation(assistant):
    sender = f"midform-{uuid.uuid4().hex}"
    base = assistant.base_url
    post_message(base, sender, "can I book an appointment")
    post_message(base, sender, "Forever Young membership")
    reply = text_of(post_message(base, sender, "oh wait, I should say I'm pregnant"))
    assert "pregnan" in reply.lower() and "name" in reply.lower(), reply
    post_message(base, sender, "Maria")
    post_message(base, sender, "maria@example.com")
    reply = text_of(post_message(base, sender, "Saturday morning"))
    # The health question is not asked again: the disclosure already answered it.
    assert "consultation" in reply.lower() and "apply" not in reply.lower(), reply
    reply = text_of(post_message(base, sender, "yes, send it"))
    assert "consultation" in reply.lower(), reply
    assert outbox_rows(assistant)[-1][0] == "consultation"

"""The answering actions, run with the real content and Rasa SDK's CollectingDispatcher.

The expected replies are read from the content (data/content/*.yml), never written here: staff
reword the answers, and that must not break a test of the code that sends them.
"""

import pytest
from rasa_sdk.events import SlotSet

from actions import safety
from actions.actions_answer import ActionAnswer, ActionClarify
from clinic_content.answers import condition_words
from clinic_content.store import get_store

ARTICLE_TOPICS = [
    "ask_what_is",
    "ask_how_it_works",
    "ask_history",
    "ask_results",
    "ask_experience",
    "ask_celebrities",
    "ask_other_uses",
    "ask_suitability",
    "ask_clinic_service",
    "ask_memberships",
]
UNKNOWN = [
    "ask_price",
    "ask_session_length",
    "ask_number_of_sessions",
    "ask_results_duration",
    "ask_clinic_logistics",
    "ask_unknown_other",
]


@pytest.fixture(autouse=True)
def quiet_unanswered(tmp_path, monkeypatch):
    """Unanswered questions go to a temporary database."""
    monkeypatch.setenv("CLINIC_UNANSWERED_PATH", str(tmp_path / "unanswered.db"))


def texts(dispatcher):
    return " ".join(m.get("text") or "" for m in dispatcher.messages)


def slot(tracker, events, name):
    """The slot's value after the action: its last SlotSet, else the value it already had."""
    sets = [e["value"] for e in events if e.get("event") == "slot" and e["name"] == name]
    return sets[-1] if sets else tracker.get_slot(name)


def button_dicts(buttons):
    return [{"title": b.title, "payload": b.payload} for b in buttons]


@pytest.mark.parametrize("intent", ARTICLE_TOPICS)
async def test_article_topic_is_answered_from_content(dispatcher, tracker_for, intent):
    answer = get_store().get().answer_for_intent[intent]
    await ActionAnswer().run(dispatcher, tracker_for(f"/{intent}", intent), {})
    assert answer.kind == "article"
    assert dispatcher.messages[0]["text"] == answer.text, intent
    assert dispatcher.messages[0]["buttons"] == button_dicts(answer.buttons), intent


def test_article_topics_each_have_their_own_answer():
    content = get_store().get()
    ids = [content.answer_for_intent[intent].id for intent in ARTICLE_TOPICS]
    assert len(set(ids)) == len(ids), ids


@pytest.mark.parametrize("intent", UNKNOWN)
async def test_unknown_fact_says_so_and_offers_a_person(dispatcher, tracker_for, intent):
    content = get_store().get()
    answer = content.answer_for_intent[intent]
    tracker = tracker_for("how much?", intent)
    events = await ActionAnswer().run(dispatcher, tracker, {})
    message = dispatcher.messages[0]
    # The staff's "I don't have that" answer, then the clinic's contact details that contact.yml
    # fills in, then the offer of a person -- and no figure of the code's own in between
    # (test_content checks the answers themselves have none).
    assert answer.kind == "unknown"
    offer = content.message("offer_person")
    assert message["text"].startswith(answer.text) and message["text"].endswith(offer)
    between = message["text"][len(answer.text) : -len(offer)]
    clinic = content.contact.get("clinic") or {}
    for detail in ("phone", "email"):
        if clinic.get(detail):
            assert clinic[detail] in between, detail
            between = between.replace(clinic[detail], "")
    assert not any(ch.isdigit() for ch in between), between
    assert {
        "title": content.message("talk_to_person_button"),
        "payload": "/request_human",
    } in message["buttons"]
    assert slot(tracker, events, "person_offered") is True


async def test_general_safety_question_lists_every_condition(dispatcher, tracker_for):
    content = get_store().get()
    await ActionAnswer().run(dispatcher, tracker_for("is it safe?", "ask_safety"), {})
    reply = " ".join(texts(dispatcher).lower().split())
    assert content.answer_for_intent["ask_safety"].text in texts(dispatcher)
    # Every condition of contraindications.yml, by its label there (as the content check reads
    # labels: "thrombosis (blood clots)" -> "thrombosis"), so a new condition must be named too.
    for condition in safety.article_conditions(content):
        assert condition_words(condition.label) in reply, condition.id


def condition(value, role="self"):
    return {
        "entity": "condition",
        "value": value,
        "role": role,
        "extractor": "ContraindicationExtractor",
    }


async def test_disclosure_gets_the_condition_reply_even_when_classified_as_greeting(
    dispatcher, tracker_for
):
    content = get_store().get()
    tracker = tracker_for("I have epilepsy lol", "greet", entities=[condition("epilepsy")])
    events = await ActionAnswer().run(dispatcher, tracker, {})
    assert safety.condition_reply(content, "epilepsy") in texts(dispatcher)
    assert slot(tracker, events, "conditions") == ["epilepsy"]
    assert content.answer_for_intent["greet"].text not in texts(dispatcher)  # no greeting


async def test_is_it_safe_for_me_after_a_disclosure_answers_for_that_disclosure(
    dispatcher, tracker_for
):
    content = get_store().get()
    tracker = tracker_for("is it safe for me?", "ask_safety", slots={"conditions": ["pregnancy"]})
    events = await ActionAnswer().run(dispatcher, tracker, {})
    assert safety.condition_reply(content, "pregnancy") in texts(dispatcher)
    assert slot(tracker, events, "conditions") == ["pregnancy"]


async def test_article_answer_after_disclosure_has_no_reassurance_and_a_reminder(
    dispatcher, tracker_for
):
    content = get_store().get()
    tracker = tracker_for("what is it?", "ask_what_is", slots={"conditions": ["pregnancy"]})
    await ActionAnswer().run(dispatcher, tracker, {})
    reply = texts(dispatcher)
    assert safety.find_reassurance(reply, safety.reassurance_phrases(content)) is None
    assert dispatcher.messages[-1]["text"] == content.message(
        "safety_reminder", conditions=safety.label(content, "pregnancy")
    )


async def test_urgent_symptom_gets_only_the_urgent_message(dispatcher, tracker_for):
    content = get_store().get()
    tracker = tracker_for(
        "I have chest pain right now",
        "inform_condition",
        entities=[{"entity": "urgent_symptom", "value": "chest_pain"}],
    )
    await ActionAnswer().run(dispatcher, tracker, {})
    assert [m["text"] for m in dispatcher.messages] == [safety.urgent_reply(content)]


async def test_first_miss_offers_likely_topics_second_offers_a_person(dispatcher, tracker_for):
    ranking = [
        {"name": "ask_price", "confidence": 0.2},
        {"name": "greet", "confidence": 0.2},
        {"name": "ask_results", "confidence": 0.1},
        {"name": "ask_history", "confidence": 0.1},
        {"name": "ask_safety", "confidence": 0.05},
    ]
    tracker = tracker_for("blorp", "nlu_fallback", ranking=ranking)
    events = await ActionClarify().run(dispatcher, tracker, {})
    payloads = [b["payload"] for b in dispatcher.messages[0]["buttons"]]
    assert payloads == ["/ask_price", "/ask_results", "/ask_history"]
    assert slot(tracker, events, "misses_in_a_row") == 1
    second = type(dispatcher)()
    tracker = tracker_for(
        "blorp again", "nlu_fallback", ranking=ranking, slots={"misses_in_a_row": 1}
    )
    events = await ActionClarify().run(second, tracker, {})
    assert second.messages[0]["buttons"][0]["payload"] == "/request_human"
    assert slot(tracker, events, "person_offered") is True


async def test_understood_message_resets_the_miss_counter(dispatcher, tracker_for):
    tracker = tracker_for("hi", "greet", slots={"misses_in_a_row": 1})
    events = await ActionAnswer().run(dispatcher, tracker, {})
    assert slot(tracker, events, "misses_in_a_row") == 0


def test_guard_drops_reassuring_sentences():
    content = get_store().get()
    phrase = safety.reassurance_phrases(content)[0]
    text = f"Microcurrent tones the muscles. It is {phrase}. Ask the clinic."
    guarded = safety.guard(text, content)
    assert phrase not in guarded.lower()
    assert "tones the muscles" in guarded


async def test_two_questions_in_one_message_get_both_answers(dispatcher, tracker_for):
    content = get_store().get()
    tracker = tracker_for("what is it and what does it cost?", "ask_what_is+ask_price")
    events = await ActionAnswer().run(dispatcher, tracker, {})
    said = texts(dispatcher)
    assert content.answer_for_intent["ask_what_is"].text in said
    assert content.answer_for_intent["ask_price"].text in said
    assert slot(tracker, events, "person_offered") is True


async def test_two_questions_after_a_disclosure_answer_safety_for_the_disclosure(
    dispatcher, tracker_for
):
    content = get_store().get()
    tracker = tracker_for(
        "is it safe and does it hurt?",
        "ask_safety+ask_experience",
        slots={"conditions": ["asthma"]},
    )
    await ActionAnswer().run(dispatcher, tracker, {})
    said = texts(dispatcher)
    assert safety.condition_reply(content, "asthma") in said
    assert safety.find_reassurance(said, safety.reassurance_phrases(content)) is None


async def test_an_answer_does_not_repeat_slot_values_the_conversation_already_has(
    dispatcher, tracker_for
):
    tracker = tracker_for(
        "what is it?", "ask_what_is", slots={"conditions": None, "misses_in_a_row": 0.0}
    )
    events = await ActionAnswer().run(dispatcher, tracker, {})
    names = [e["name"] for e in events if e.get("event") == "slot"]
    assert "conditions" not in names and "misses_in_a_row" not in names
    tracker = tracker_for(
        "what is it?",
        "ask_what_is",
        slots={
            "misses_in_a_row": 2.0,
            "person_offered": False,
            "emergency": False,
            "medical_topic": False,
        },
    )
    events = await ActionAnswer().run(dispatcher, tracker, {})
    assert slot(tracker, events, "misses_in_a_row") == 0.0
    assert [e["name"] for e in events if e.get("event") == "slot"] == ["misses_in_a_row"]


def naive_find_reassurance(text, phrases):
    """The documented rule, written again here, one phrase at a time (the reference): any case,
    no apostrophe of any style counts, any run of blanks is one space, letters bound words."""
    import re

    def flat(value):
        for mark in ("\u2019", "\u2018", "\u02bc", "\u2032", "`", "\u00b4", "\u201b", "'"):
            value = value.replace(mark, "")
        return " ".join(value.lower().split())

    lowered = flat(text)
    return next(
        (
            p
            for p in phrases
            if re.search(r"(?<![^\W\d_])" + re.escape(flat(p)) + r"(?![^\W\d_])", lowered)
        ),
        None,
    )


def test_reassurance_search_finds_what_the_phrase_by_phrase_rule_finds():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    content = get_store().get()
    phrases = safety.reassurance_phrases(content)
    assert phrases
    answers = [answer.text for answer in content.answer_for_intent.values()]
    pieces = (
        phrases
        + [p.upper() for p in phrases]
        + answers[:20]
        + [
            "un",
            "s",
            "ly",
            "-",
            "'",
            " ",
            ".",
            "\u2019",
            "\u2018",
            "  ",
            "\t",
            "its",
            "Its",
            "safety",
            "perfectly",
        ]
    )

    @settings(max_examples=400, deadline=None)
    @given(st.lists(st.sampled_from(pieces), max_size=6), st.text(max_size=12))
    def same(parts, noise):
        text = "".join(parts) + noise
        assert safety.find_reassurance(text, phrases) == naive_find_reassurance(text, phrases)
        reordered = list(reversed(phrases))
        assert safety.find_reassurance(text, reordered) == naive_find_reassurance(text, reordered)

    same()
    for text in answers:
        assert safety.find_reassurance(text, phrases) == naive_find_reassurance(text, phrases)
    assert safety.find_reassurance("anything", []) is None


def _outbox_down(*args, **kwargs):
    raise OSError("database unreachable")


@pytest.mark.parametrize(
    "action, slots, events",
    [
        (
            "booking",
            {
                "booking_confirmed": "send",
                "booking_service": "4d_facial_single",
                "visitor_name": "Dana White",
                "contact": "dana@example.com",
            },
            [SlotSet("requested_slot", None), SlotSet("booking_confirmed", None)],
        ),
        (
            "handoff",
            {
                "visitor_name": "Dana White",
                "contact": "dana@example.com",
                "handoff_topic": "prices",
            },
            [SlotSet("requested_slot", None)],
        ),
        (
            "change",
            {
                "visitor_name": "Dana White",
                "contact": "dana@example.com",
                "last_request": "booking:1f6bedd7",
            },
            [],
        ),
    ],
)
async def test_a_request_the_outbox_cannot_take_is_said_not_sent(
    dispatcher, tracker_for, monkeypatch, caplog, action, slots, events
):
    from actions import form_endings, request_changes

    monkeypatch.setattr(form_endings, "submit_request", _outbox_down)
    content = get_store().get()
    tracker = tracker_for("actually make it friday", "change_appointment", slots=slots)
    if action == "change":
        returned = request_changes.send_change(dispatcher, tracker, content)
    else:
        submit = (
            form_endings.ActionSubmitBooking()
            if action == "booking"
            else form_endings.ActionSubmitHandoff()
        )
        returned = await submit.run(dispatcher, tracker, {})
    assert returned == events
    assert [m["text"] for m in dispatcher.messages] == [
        " ".join(content.booking.prompts["not_saved"].split())
    ]
    assert "Could not store a" in caplog.text

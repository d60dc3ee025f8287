"""The conversation fuzzer's judge and pools, on crafted replies (no servers, well under a
second)."""

import ast
from pathlib import Path

import pytest
import yaml

from tests.fuzz import conversation_judge as J
from tests.fuzz import conversation_pools as P

TEXTS = J.load_texts(J.PROJECT_DIR / "data" / "content")
MESSAGES = yaml.safe_load((J.PROJECT_DIR / "data" / "content" / "messages.yml").read_text("utf-8"))
PROMPTS = yaml.safe_load((J.PROJECT_DIR / "data" / "content" / "booking.yml").read_text("utf-8"))[
    "prompts"
]


def bot(*texts, buttons=None):
    reply = [{"recipient_id": "x", "text": t} for t in texts]
    if buttons:
        reply[-1]["buttons"] = [{"title": t, "payload": p} for t, p in buttons]
    return reply


def kinds(visitor, reply, typed=()):
    return sorted({f.kind for f in J.check_reply(visitor, reply, TEXTS, typed)})


def test_a_plain_answer_passes():
    assert kinds("does it hurt?", bot("It's painless.", buttons=[("Book", "/book")])) == []


def test_the_thumbs_up_of_issue_17_fails_twice_over():
    reply = bot(MESSAGES["fallback_did_you_mean"], *[MESSAGES["fallback_second_miss"]] * 9)
    assert kinds("👍", reply) == ["repeated_not_understood"]
    assert kinds("👍", reply + bot("one more")) == ["repeated_not_understood", "too_many_messages"]


def test_one_miss_with_a_reprompt_is_fine_but_two_misses_are_not():
    assert kinds("👍", bot(MESSAGES["fallback_did_you_mean"], PROMPTS["ask_name"])) == []
    two = bot(PROMPTS["name_not_understood"], MESSAGES["fallback_second_miss"])
    assert kinds("👍", two) == ["repeated_not_understood"]


def test_error_texts_are_caught():
    assert kinds("hi", bot(MESSAGES["error_try_again"])) == ["error_text"]
    assert kinds("hi", bot("Oops, something went wrong.")) == ["error_text"]
    assert kinds("hi", bot('Traceback (most recent call last):\n  File "a.py", line 3')) == [
        "traceback"
    ]
    assert kinds("hi", bot("KeyError: 'name'")) == ["traceback"]


def test_none_and_unfilled_placeholders_are_caught_unless_the_visitor_typed_them():
    assert kinds("hi", bot("Thank you, None.")) == ["none_text"]
    assert kinds("hi", bot("Thank you, {name}. Reference {reference}.")) == ["unfilled_placeholder"]
    assert kinds("{name}", bot("You said {name}."), typed=["{name}"]) == []
    assert kinds("None", bot("Thank you, None."), typed=["None"]) == []
    # The screening button is English, not Python.
    assert kinds("book", bot("Do any apply?", buttons=[("None of these apply", "/deny")])) == []
    assert kinds("book", bot("Reply 'None of these apply' or pick a button.")) == []


def test_no_reply_is_caught_except_for_blank_messages():
    assert kinds("hello", []) == ["no_reply"]
    assert kinds("hello", bot("  ")) == ["no_reply"]
    assert kinds("hello", [{"buttons": [{"title": "a", "payload": "/a"}]}]) == ["no_reply"]
    assert kinds(" \t\u200b ", []) == []


def test_replies_that_are_not_a_list_of_messages():
    assert kinds("hi", {"error": "x"}) == ["http_error"]
    assert kinds("hi", ["text"]) == ["http_error"]


def test_markup_the_visitor_typed_must_not_come_back_unescaped():
    typed = "<script>alert(1)</script> <b>hi</b>"
    assert kinds(typed, bot("You wrote <script>alert(1)</script>")) == ["markup_echoed"]
    assert kinds(typed, bot("Thank you, <b>hi</b>.")) == ["markup_echoed"]
    assert kinds(typed, bot("Thank you, &lt;b&gt;hi&lt;/b&gt;.")) == []
    assert kinds(typed, bot("Sorry, I didn't get that.")) == []
    # Earlier in the conversation counts too.
    assert kinds("Friday", bot("Name: <b>hi</b>"), typed=[typed, "Friday"]) == ["markup_echoed"]


def test_the_same_message_twice_in_one_reply():
    assert kinds("x", bot(PROMPTS["ask_name"], PROMPTS["ask_name"])) == ["duplicate_message"]


def test_the_rate_limit_is_told_apart_from_the_assistant():
    assert kinds("x", bot(MESSAGES["rate_limited"])) == ["rate_limited"]


@pytest.mark.parametrize(
    "key, field",
    [
        ("ask_service", "service"),
        ("service_not_understood", "service"),
        ("ask_name", "name"),
        ("name_not_understood", "name"),
        ("ask_contact", "contact"),
        ("contact_not_understood", "contact"),
        ("ask_preferred_time", "time"),
        ("preferred_time_not_understood", "time"),
        ("ask_screening", "screening"),
        ("screening_not_understood", "screening"),
    ],
)
def test_the_question_a_reply_asks(key, field):
    assert J.asked_field(bot("Some answer.", PROMPTS[key]), TEXTS) == field
    assert J.prompt_field(key) == field


def test_the_question_asked_last_wins_and_answers_alone_ask_nothing():
    both = f"{PROMPTS['service_not_understood']} {PROMPTS['ask_name']}"
    assert J.asked_field(bot(both), TEXTS) == "name"
    assert J.asked_field(bot(PROMPTS["ask_name"], "It's painless."), TEXTS) == "name"
    assert J.asked_field(bot("It's painless."), TEXTS) is None
    assert J.prompt_field("ask_screening_group") == "screening"
    assert J.prompt_field("booking_received") is None


def test_confirmations_and_their_references():
    text = PROMPTS["booking_received"].format(
        name="Nora Belkavi",
        service="4-D Facial (single session)",
        reference="c3530f70",
        contact="n@example.com",
        time_part=" (Friday at 3pm)",
    )
    (found,) = J.confirmations_in(bot(text), TEXTS)
    assert (found.kind, found.reference, found.name) == ("booking", "c3530f70", "Nora Belkavi")
    assert J.simplified("'; DROP TABLE requests; --") == J.simplified("DROP table REQUESTS")
    handoff = PROMPTS["handoff_received"].format(
        name="A", reference="0c728212", contact="a@b.co", reply_time="as soon as they can"
    )
    assert [(c.kind, c.reference) for c in J.confirmations_in(bot(handoff), TEXTS)] == [
        ("handoff", "0c728212")
    ]
    # A reworded confirmation still carries its reference.
    assert [c.kind for c in J.confirmations_in(bot("Done (reference abcdef12)."), TEXTS)] == [
        "unknown"
    ]
    assert J.confirmations_in(bot("Your reference will follow."), TEXTS) == []


def test_hand_offs_and_person_offers():
    intro = f"{PROMPTS['handoff_intro']} {PROMPTS['ask_name']}"
    assert J.starts_handoff(bot(intro), TEXTS)
    assert not J.starts_handoff(bot(PROMPTS["ask_name"]), TEXTS)
    assert not J.starts_handoff(bot("I can only answer questions."), TEXTS)
    assert J.offers_person(bot("Sorry.", buttons=[("Talk to a person", "/request_human")]), TEXTS)
    assert J.offers_person(bot("Please call 911 now."), TEXTS)
    assert not J.offers_person(bot("It's painless."), TEXTS)


def test_templates_match_filled_in_texts_only():
    pattern = J.template_pattern("Thanks {name}, reference {reference}.")
    assert pattern.search("Thanks Bo, reference 0123abcd.").group("reference") == "0123abcd"
    assert not pattern.search("Thanks Bo, reference {reference}.")


def test_the_judge_reads_any_content_folder(tmp_path: Path):
    content = J.PROJECT_DIR / "data" / "content"
    for name in ("messages.yml", "booking.yml"):
        (tmp_path / name).write_text((content / name).read_text("utf-8"), "utf-8")
    booking = yaml.safe_load((tmp_path / "booking.yml").read_text("utf-8"))
    booking["prompts"]["ask_name"] = "Who are you?"
    (tmp_path / "booking.yml").write_text(yaml.safe_dump(booking), "utf-8")
    texts = J.load_texts(tmp_path)
    assert J.asked_field(bot("Who are you?"), texts) == "name"


def test_the_fuzzer_imports_nothing_of_the_assistant():
    forbidden = (
        "actions",
        "clinic_requests",
        "clinic_nlu",
        "clinic_channel",
        "clinic_runtime",
        "clinic_scaled",
    )
    for name in ("conversation_judge.py", "conversation_pools.py", "conversation_run.py"):
        tree = ast.parse((Path(J.__file__).parent / name).read_text("utf-8"))
        for node in ast.walk(tree):
            modules = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            assert not [m for m in modules if m.split(".")[0] in forbidden], (name, modules)


# --- the pools ----------------------------------------------------------------------------------


def test_a_plan_replays_the_same_moves():
    plan = P.Plan(seed=12345, turns=8, book_opener="/book")
    shown = P.Shown("name", [])
    first = [P.next_move(plan.rng(n), shown, "tag") for n in range(plan.turns)]
    again = [P.next_move(plan.rng(n), shown, "tag") for n in range(plan.turns)]
    assert first == again
    assert len({m.text for m in first}) > 1


def test_answers_follow_what_was_asked():
    import random

    rng = random.Random(1)
    moves = [P.answer_move(rng, P.Shown("time", []), "t") for _ in range(50)]
    assert all(m.category.startswith("answer:") for m in moves)
    assert any(m.given == {"time"} for m in moves)
    buttons = [{"title": "Clear Skin membership", "payload": "Clear Skin membership"}]
    moves = [P.answer_move(rng, P.Shown("service", buttons), "t") for _ in range(50)]
    assert all(m.given == {"service"} for m in moves)
    assert {m.category.split(" ")[0] for m in moves} == {"click:", "typed"}
    assert P.answer_move(rng, P.Shown(None, []), "t") is None


def test_pool_messages_at_the_name_question_are_not_names():
    import random

    rng = random.Random(2)
    moves = [P.pool_move(rng, P.Shown("name", []), "t") for _ in range(300)]
    flagged = {m.category.split(" ")[0] for m in moves if m.not_a_name}
    assert "name" not in flagged and "several" not in flagged and "gibberish" not in flagged
    assert {"question", "emoji", "language", "junk"} <= flagged


def test_unique_names_are_names():
    names = {P.unique_name(n) for n in range(80_000)}
    assert len(names) == 80_000
    assert all(n.replace(" ", "").isalpha() for n in list(names)[:1000])


def test_pools_hold_what_the_issue_names():
    pools = P.all_pools()
    assert {
        "Helen Price",
        "Pete Long",
        "Dana White",
        "Mohammed Al-Rashid",
        "my name is Dana White",
    } <= set(pools["names"])
    assert {"/deny", "/book", "what happens now?"} <= set(pools["not_names"])
    assert {"/book", "/request_human", "/affirm", "/deny", "/ask_price"} <= set(pools["payloads"])
    assert "this bot is useless, get me a real person NOW" in pools["mind_changes"]
    assert all(isinstance(t, str) and t for pool in pools.values() for t in pool)


# --- a conversation against canned replies ------------------------------------------------------


class CannedClient:
    """Stands in for the live assistant: the next reply of a list per message."""

    def __init__(self, replies, tolerate_restarts=False, down=False):
        self.replies = list(replies)
        self.tolerate_restarts = tolerate_restarts
        self.down = down
        self.sent = []

    def post(self, sender, text, wait=0):
        self.sent.append(text)
        reply = self.replies.pop(0)
        return (None, reply) if isinstance(reply, str) else (reply, None)

    def outage(self):
        return self.down

    def outbox_rows(self, where, args):
        return []


def converse(replies, moves, **client):
    from tests.fuzz.conversation_run import Conversation

    conversation = Conversation(CannedClient(replies, **client), TEXTS, "t", 1)
    for move in moves:
        conversation.say(move)
    return conversation


def received(name, reference="0123abcd"):
    return PROMPTS["handoff_received"].format(
        name=name, reference=reference, contact="a@b.co", reply_time="as soon as they can"
    )


def test_a_valid_name_asked_again_and_junk_taken_as_a_name():
    conversation = converse(
        [bot(PROMPTS["name_not_understood"]), bot(PROMPTS["ask_contact"])],
        [
            P.Move(
                "Helen Price",
                "answer: name",
                given=frozenset({"name"}),
                refused_kind="name_refused",
            ),
            P.Move("/deny", "answer: not a name", not_a_name=True),
        ],
    )
    assert conversation.failure_kinds() == ["junk_accepted_as_name", "name_refused"]


def test_a_request_sent_under_a_name_that_was_no_name():
    conversation = converse(
        [bot(PROMPTS["ask_name"]), bot("No worries."), bot(received("stop"))],
        [
            P.Move("I want to talk to a person", "mind"),
            P.Move("stop", "mind"),
            P.Move("a@b.co", "end: contact"),
        ],
    )
    assert conversation.failure_kinds() == ["junk_accepted_as_name"]
    fine = converse(
        [bot(PROMPTS["ask_name"]), bot(received("Dana White"))],
        [P.Move("Dana White", "answer: name"), P.Move("a@b.co", "end: contact")],
    )
    assert fine.failure_kinds() == []


def test_stop_must_stop_and_a_second_request_needs_asking():
    stopped = converse([bot(PROMPTS["ask_name"])], [P.Move("stop", "mind", must="stop")])
    assert stopped.failure_kinds() == ["stop_ignored"]
    twice = converse(
        [bot(received("Dana", "0123abcd")), bot(received("Dana", "89abcdef"))],
        [P.Move("a@b.co", "answer: email"), P.Move("👍", "emoji")],
    )
    assert twice.failure_kinds() == ["unasked_request"]
    asked = converse(
        [bot(received("Dana", "0123abcd")), bot(received("Dana", "89abcdef"))],
        [P.Move("a@b.co", "answer: email"), P.Move("talk to a person", "mind")],
    )
    assert asked.failure_kinds() == []


def test_errors_during_a_restart_are_no_failure_only_when_restarts_are_tolerated():
    replies = [bot(MESSAGES["error_try_again"]), "no answer: [Errno 104] Connection reset by peer"]
    moves = [P.Move("hi", "question"), P.Move("hi", "question")]
    strict = converse(list(replies), moves, tolerate_restarts=False, down=True)
    assert strict.failure_kinds() == ["error_text", "http_error"]
    tolerated = converse(list(replies), moves, tolerate_restarts=True, down=True)
    assert tolerated.failure_kinds() == []
    assert {f.kind for f in tolerated.findings()} == {"assistant_restarted"}
    still_up = converse(list(replies), moves, tolerate_restarts=True, down=False)
    assert still_up.failure_kinds() == ["error_text", "http_error"]


def test_a_correction_must_reach_the_request_unless_a_newer_value_supersedes_it():
    def booked(time_part):
        return bot(
            PROMPTS["booking_received"].format(
                name="Dana",
                service="4-D Facial (single session)",
                reference="0123abcd",
                contact="a@b.co",
                time_part=time_part,
            )
        )

    moves = [
        P.Move("Monday 10am", "answer: time", given=frozenset({"time"})),
        P.Move("actually make it Friday", "correction", correction=("time", "Friday")),
        P.Move("/deny", "click: None of these apply"),
    ]
    ignored = converse([bot(PROMPTS["ask_screening"])] * 2 + [booked(" (Monday 10am)")], moves)
    assert ignored.failure_kinds() == ["correction_ignored"]
    taken = converse([bot(PROMPTS["ask_screening"])] * 2 + [booked(" (Friday)")], moves)
    assert taken.failure_kinds() == []
    superseded = converse(
        [bot(PROMPTS["ask_screening"])] * 3 + [booked(" (Monday 10am)")],
        moves[:2] + [P.Move("no wait, Monday 10am is best", "mind")] + moves[2:],
    )
    assert superseded.failure_kinds() == []

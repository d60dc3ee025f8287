"""Conversation fuzzing: random conversations of 5-15 turns with the real running assistant.

Visitors type instead of clicking, react with an emoji, change their mind, write in another
language or paste junk (``conversation_pools``). About 40% of the time the next message answers
what the assistant just showed: a button's payload or its label typed as text, or a name,
contact or time when asked. After every turn the judge (``conversation_judge``, which reads
only the content YAML) checks what a visitor would notice: no reply, an error message, a
traceback, "None", an unfilled ``{placeholder}``, more than one "didn't understand" in one
reply, more than 10 messages, markup the visitor typed coming back unescaped, and the form
answers the message expected (a valid name is not asked for again, junk is not taken as a
name, "get me a person" starts a hand-off, ...). At the end of each conversation the visitor
still books (walking the form to its confirmation) and asks for a person, and every request
the conversation confirmed must be in the outbox exactly once.

Against an assistant started elsewhere (CLINIC_TEST_ASSISTANT_URL, development only), which its
developer restarts now and then, an error while a probe finds the assistant down or failing is
counted as ``errors_during_restarts``, not as a failure; the servers the tests start themselves
never restart, so there every error counts.

Failures do not stop the run: every conversation is played, each failing transcript is
printed and appended to ``test-artifacts/conversation-fuzz-failures.md``, the counts go to
``test-artifacts/conversation-fuzz.json``, and the test fails at the end if any conversation
failed.

Settings (environment):
  CLINIC_FUZZ_PROFILE=fuzz-deep   ten times as many conversations, random (tests/fuzz/support.py)
  SOAK_CONVERSATIONS=N            N random conversations (``make soak``: 3000); the seed is
                                  printed and written to the summary
  CLINIC_CONVFUZZ_SEED=S          with SOAK_CONVERSATIONS: replay the soak run of seed S
  CLINIC_CONVFUZZ_FAIL_FAST=1     stop at the first failing conversation and let hypothesis
                                  shrink it (slow: every shrink step replays a live conversation)
  CLINIC_CONVFUZZ_WORKERS=N       conversations played at the same time (default 3)
  CLINIC_CONVFUZZ_ALL_TRANSCRIPTS=1  also write the passing ones (conversation-fuzz-all.md)
  CLINIC_CONVFUZZ_CONTENT_DIR     where the judge reads messages.yml / booking.yml (default: this
                                  checkout's data/content, which the assistant reads in CI)
"""

import contextlib
import json
import os
import random
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Dict, Iterator, List, cast

import pytest
from hypothesis import Phase, given, reject, seed, settings

from tests.fuzz.conversation_judge import load_texts
from tests.fuzz.conversation_pools import Move, Plan, conversation_plans, email_for, next_move
from tests.fuzz.conversation_run import SUMMARY_FILE, Client, Conversation, FuzzRecord
from tests.fuzz.support import PROFILE, SCALE, tried
from tests.servers import Assistant

pytestmark = [pytest.mark.e2e, pytest.mark.conversation_fuzz]

CONVERSATIONS = 300  # per `make test`; each is 5-15 fuzzed turns plus ~9 turns of end checks
SOAK = int(os.environ.get("SOAK_CONVERSATIONS") or 0)
SOAK_SEED = int(os.environ.get("CLINIC_CONVFUZZ_SEED") or random.SystemRandom().randrange(2**32))
FAIL_FAST = os.environ.get("CLINIC_CONVFUZZ_FAIL_FAST") == "1"
# Conversations played at the same time (different visitors); 1 plays them one by one.
WORKERS = max(1, int(os.environ.get("CLINIC_CONVFUZZ_WORKERS") or 3))
# One conversation sends up to ~35 messages within seconds; the channel's default limit is 20 a
# minute per conversation, so the servers started by the tests get a higher one for this module.
RATE_LIMIT_NEEDED = 200
TEXTS = load_texts()
RECORDS: Dict[str, FuzzRecord] = {}


def conversation_settings() -> settings:
    """fuzz-ci: derandomized (the same conversations every run), no database, no deadline."""
    base = settings.get_profile(PROFILE)
    count = SOAK or CONVERSATIONS * SCALE.get(PROFILE, 1)
    phases = [Phase.explicit, Phase.generate] + ([Phase.shrink] if FAIL_FAST else [])
    return settings(
        base, max_examples=count, phases=phases, derandomize=base.derandomize and not SOAK
    )


@contextlib.contextmanager
def rate_limit_raised(assistant: Assistant) -> Iterator[None]:
    """Restart the session's Rasa server with a per-conversation limit fit for fuzzing."""
    old = assistant.env.get("CLINIC_RATE_LIMIT_MESSAGES")

    def restart(value) -> None:
        rasa = next(
            p
            for p in assistant.processes
            if "clinic_runtime" in " ".join(map(str, cast(List[Any], p.args)))
        )
        assistant.stop_process(rasa)
        if value is None:
            assistant.env.pop("CLINIC_RATE_LIMIT_MESSAGES", None)
        else:
            assistant.env["CLINIC_RATE_LIMIT_MESSAGES"] = value
        assistant.start_rasa()

    restart(str(RATE_LIMIT_NEEDED * 50))
    try:
        yield
    finally:
        restart(old)


@pytest.fixture(scope="module")
def fuzz_client(assistant) -> Iterator[Client]:
    """The running assistant (shared with tests/e2e), its outbox, a rate limit that fits."""
    client = Client(
        assistant.base_url,
        assistant.env["CLINIC_OUTBOX_PATH"],
        tolerate_restarts=not isinstance(assistant, Assistant),
        error_text=TEXTS.error_try_again,
    )
    limit = int(assistant.env.get("CLINIC_RATE_LIMIT_MESSAGES") or 20)
    if isinstance(assistant, Assistant) and limit < RATE_LIMIT_NEEDED:
        with rate_limit_raised(assistant):
            yield client
    else:
        yield client  # started elsewhere: start it with CLINIC_RATE_LIMIT_MESSAGES=1000


@pytest.fixture(scope="module")
def records() -> Iterator[Dict[str, FuzzRecord]]:
    yield RECORDS
    if RECORDS:
        SUMMARY_FILE.parent.mkdir(parents=True, exist_ok=True)
        SUMMARY_FILE.write_text(
            json.dumps({name: r.summary() for name, r in RECORDS.items()}, indent=2) + "\n",
            encoding="utf-8",
        )


def record_for(records: Dict[str, FuzzRecord], name: str, **details) -> FuzzRecord:
    if name not in records:
        records[name] = FuzzRecord(settings=details)
    return records[name]


# --- the issue's own conversations, played first (issue 17) -------------------------------------


def to_name_prompt() -> List[Move]:
    return [Move("I want to book", "script"), Move("4-D Facial (single session)", "script")]


def name_move(text: str) -> Move:
    return Move(text, "script: name", given=frozenset({"name"}), refused_kind="name_refused")


def not_a_name(text: str) -> Move:
    return Move(text, "script: not a name", not_a_name=True)


ISSUE_SCRIPTS: Dict[str, Callable[[str], List[Move]]] = {
    "thumbs-up": lambda tag: [
        Move("hi", "script"),
        Move("👍", "script: emoji"),
        Move("👍", "script: emoji"),
        Move("how much is it?", "script"),
    ],
    "name-helen-price": lambda tag: to_name_prompt() + [name_move("Helen Price")],
    "name-pete-long": lambda tag: to_name_prompt() + [name_move("Pete Long")],
    "name-dana-white": lambda tag: to_name_prompt() + [name_move("Dana White")],
    "name-mohammed-al-rashid": lambda tag: to_name_prompt() + [name_move("Mohammed Al-Rashid")],
    "name-my-name-is": lambda tag: to_name_prompt() + [name_move("my name is Dana White")],
    "junk-name-deny": lambda tag: to_name_prompt() + [not_a_name("/deny")],
    "junk-name-book": lambda tag: to_name_prompt() + [not_a_name("/book")],
    "junk-name-question": lambda tag: to_name_prompt() + [not_a_name("what happens now?")],
    "junk-name-html": lambda tag: to_name_prompt() + [not_a_name("<b>Dana</b><script>x</script>")],
    "typed-service-label": lambda tag: [
        Move("I want to book", "script"),
        Move(
            "clear skin membership please",
            "script: typed label",
            given=frozenset({"service"}),
            refused_kind="typed_label_refused",
        ),
    ],
    "correction": lambda tag: (
        to_name_prompt()
        + [
            name_move("Dana White"),
            Move(email_for(tag, "dana"), "script: contact"),
            Move("Monday 10am", "script: time"),
            Move("actually make it Friday", "script: correction", correction=("time", "Friday")),
            Move("/deny", "script: screening"),
        ]
    ),
    "reschedule": lambda tag: [Move("I need to reschedule", "script", must="no_new_booking")],
    "stop-mid-handoff": lambda tag: [
        Move("I want to talk to a person", "script"),
        Move("stop", "script", must="stop"),
    ],
    "stop-mid-booking": lambda tag: to_name_prompt() + [Move("stop", "script", must="stop")],
    "several-fields": lambda tag: (
        to_name_prompt()
        + [
            Move(
                f"I'm Dana White, {email_for(tag, 'dana')}, Friday at 3pm",
                "script: several fields",
                given=frozenset({"name", "contact", "time"}),
                refused_kind="field_asked_again",
            )
        ]
    ),
    "angry-handoff": lambda tag: [
        Move("how much is it?", "script"),
        Move("this bot is useless, get me a real person NOW", "script", must="handoff"),
    ],
    "angry-handoff-mid-booking": lambda tag: (
        to_name_prompt()
        + [Move("this bot is useless, get me a real person NOW", "script", must="handoff")]
    ),
    "pregnant-then-book": lambda tag: [Move("I'm pregnant", "script: disclosure", health=True)],
    "emergency-then-book": lambda tag: [
        Move("I'm having chest pain right now", "script: urgent", health=True, urgent=True)
    ],
}


@pytest.mark.parametrize("script", list(ISSUE_SCRIPTS))
def test_issue_conversations(
    fuzz_client: Client, records: Dict[str, FuzzRecord], script: str
) -> None:
    """The conversations of issue 17, judged like the random ones, then booked and handed off."""
    record = record_for(records, "issue_scripts", conversations=len(ISSUE_SCRIPTS))
    conversation = Conversation(
        fuzz_client, TEXTS, record.run_id, 90_000 + record.conversations, label=f"issue: {script}"
    )
    for move in ISSUE_SCRIPTS[script](conversation.tag):
        conversation.say(move)
    conversation.finish()
    record.add(conversation)
    assert not conversation.failure_kinds(), conversation.transcript()


# --- random conversations --------------------------------------------------------------------


def play(plan: Plan, client: Client, record: FuzzRecord, number: int) -> Conversation:
    """One random conversation: its 5-15 turns, then the end checks."""
    conversation = Conversation(client, TEXTS, record.run_id, number)
    conversation.detail = f"seed {plan.seed}, {plan.turns} turns, then {plan.book_opener!r}"
    for turn in range(plan.turns):
        conversation.say(next_move(plan.rng(turn), conversation.shown, conversation.tag))
    conversation.finish(book_opener=plan.book_opener)
    return conversation


def test_random_conversations_never_break(
    fuzz_client: Client, records: Dict[str, FuzzRecord]
) -> None:
    chosen = conversation_settings()
    details = {
        "profile": PROFILE,
        "max_examples": chosen.max_examples,
        "derandomize": chosen.derandomize,
        "fail_fast": FAIL_FAST,
        "workers": 1 if FAIL_FAST else WORKERS,
    }
    if SOAK:
        details["seed"] = SOAK_SEED
        print(f"soak run: {SOAK} conversations, replay with CLINIC_CONVFUZZ_SEED={SOAK_SEED}")
    record = record_for(records, "random", **details)

    if FAIL_FAST:
        # One conversation at a time; the first failing one is shrunk and reported by hypothesis.
        @chosen
        @given(plan=conversation_plans)
        def conversation(plan: Plan) -> None:
            tried("conversation fuzz: conversations")
            played = play(plan, fuzz_client, record, record.conversations + 1)
            record.add(played)
            assert not played.failure_kinds(), played.transcript()

        if SOAK and not chosen.derandomize:
            conversation = seed(SOAK_SEED)(conversation)
        conversation()
        return

    # Hypothesis draws the plans (fast, no I/O); they are played WORKERS at a time, as visitors
    # arrive together on the real site, and recorded in plan order.
    plans: List[Plan] = []
    seeds = set()

    @chosen
    @given(plan=conversation_plans)
    def collect(plan: Plan) -> None:
        if plan.seed in seeds:
            reject()  # the same seed with another length: nearly the same conversation
        seeds.add(plan.seed)
        plans.append(plan)

    if SOAK and not chosen.derandomize:
        collect = seed(SOAK_SEED)(collect)
    collect()
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        played = pool.map(
            lambda item: play(item[1], fuzz_client, record, item[0]), enumerate(plans, 1)
        )
        for finished in played:
            tried("conversation fuzz: conversations")
            record.add(finished)
    assert record.conversations >= chosen.max_examples, (
        f"only {record.conversations} of {chosen.max_examples} conversations were played"
    )
    assert not record.failed, record.report()

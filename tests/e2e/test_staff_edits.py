"""Staff edits: live without retraining or restart, a broken edit never breaks the assistant,
and the report lists what the assistant could not answer."""

import re
import shutil
import subprocess
import sys
import time
import uuid

import pytest

from clinic_content.store import domain_intents, load_content
from tests.conftest import post_message
from tests.content_edit import set_text
from tests.servers import PROJECT_DIR, start_assistant

pytestmark = pytest.mark.e2e
# How long to keep asking before calling an edit "not live": a guard against waiting forever,
# not a speed requirement. How fast an edit goes live is measured by `make bench`
# (edit_to_live in docs/benchmarks.md); here the time is only printed.
GIVE_UP_AFTER_SECONDS = 30.0


def reply_text(base_url: str, text: str) -> str:
    replies = post_message(base_url, f"edit-{uuid.uuid4().hex}", text)
    return " ".join(r.get("text") or "" for r in replies)


def wait_for_reply_containing(base_url: str, question: str, needle: str, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if needle in reply_text(base_url, question):
            return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(f"{needle!r} not live within {timeout} s")


@pytest.fixture(scope="module")
def editable_assistant(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("staff")
    content = workdir / "content"
    shutil.copytree(PROJECT_DIR / "data" / "content", content)
    running = start_assistant(workdir, {"CLINIC_CONTENT_DIR": str(content)})
    yield running, content
    running.stop()


def test_answer_edit_goes_live_without_restart_and_a_broken_edit_keeps_the_old_text(
    editable_assistant,
):
    assistant, content = editable_assistant
    answers = content / "answers.yml"
    original = answers.read_text()
    question = "who famous has had microcurrent"
    # The answer as the staff wrote it (whatever its words), then an edit of it found by its id.
    shipped = load_content(content, domain_intents()).answer_for_intent["ask_celebrities"].text
    assert shipped in reply_text(assistant.base_url, question)

    set_text(answers, ("answers", "celebrities", "text"), shipped + " (EDITED-BY-STAFF)")
    edited = answers.read_text()
    seconds = wait_for_reply_containing(
        assistant.base_url, question, "EDITED-BY-STAFF", GIVE_UP_AFTER_SECONDS
    )
    print(f"\nsave-to-live: {seconds:.2f} s")

    answers.write_text(edited + "\n  - id: [broken\n")
    time.sleep(0.5)
    assert "EDITED-BY-STAFF" in reply_text(assistant.base_url, question)
    log = (assistant.workdir / "actions.log").read_text(errors="replace")
    assert "answers.yml:" in log and "last good" in log

    answers.write_text(original)
    wait_for_reply_containing(assistant.base_url, question, shipped, GIVE_UP_AFTER_SECONDS)
    assert "EDITED-BY-STAFF" not in reply_text(assistant.base_url, question)


def test_contact_details_edit_is_live(editable_assistant):
    assistant, content = editable_assistant
    contact = content / "contact.yml"
    original = contact.read_text()
    contact.write_text(original.replace("phone: null", 'phone: "+1 212 555 0199"', 1))
    try:
        wait_for_reply_containing(
            assistant.base_url, "how much does it cost", "555 0199", GIVE_UP_AFTER_SECONDS
        )
    finally:
        contact.write_text(original)


def test_report_lists_unanswered_questions(editable_assistant):
    assistant, _ = editable_assistant
    for question in [
        "how much does a session cost",
        "what do you charge for the facial",
        "write me a poem about the sea",
    ]:
        reply_text(assistant.base_url, question)
    result = subprocess.run(
        [sys.executable, "scripts/report.py", "--days", "1"],
        cwd=PROJECT_DIR,
        env={**assistant.env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    # Both price questions (and any earlier one) are grouped under one entry.
    assert re.search(r"asked [2-9]x .*cost", result.stdout), result.stdout
    assert "what do you charge for the facial" in result.stdout
    assert "poem" in result.stdout

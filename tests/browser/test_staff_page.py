"""The staff page in Debian's Chromium, on requests made by real conversations.

Starts its own assistant (tests/servers.py's start_assistant) whose e-mail goes to a local
SMTP server that refuses at first, so the request of a real "talk to a person" conversation
fails; the front desk then retries it on the page (it arrives), marks it handled, and marks a
group of unanswered questions handled. Screenshots go to test-artifacts/ (and to docs/images/
with CLINIC_UPDATE_DOC_IMAGES=1: the staff guide shows them).
"""

import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest
from playwright.sync_api import Page, expect

from clinic_requests.outbox import DELIVERED, FAILED, Outbox
from tests.conftest import post_message
from tests.servers import MODEL, Assistant, free_port, start_assistant
from tests.smtp_server import MailServer
from tests.staff_server import PASSWORD, StaffServer, start_staff
from tests.stored import stored

pytestmark = pytest.mark.browser

PROJECT_DIR = Path(__file__).resolve().parents[2]
ARTIFACTS = PROJECT_DIR / "test-artifacts"
DOC_IMAGES = PROJECT_DIR / "docs" / "images"
MARKUP_NAME = "<b>Jane</b><script>alert(1)</script>"
REFUSAL = "451 4.3.0 Mailbox busy, try again later"


@pytest.fixture(scope="module")
def mail() -> Iterator[MailServer]:
    server = MailServer(port=free_port(), refuse_with=REFUSAL).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def frontdesk(mail: MailServer, tmp_path_factory) -> Iterator[Assistant]:
    """The real assistant, e-mailing requests to ``mail`` (2 attempts, then failed)."""
    if not MODEL.exists():
        pytest.fail("No trained model: run `make model` (make test does it first).")
    running = start_assistant(
        tmp_path_factory.mktemp("frontdesk"),
        {
            "CLINIC_SMTP_HOST": "127.0.0.1",
            "CLINIC_SMTP_PORT": str(mail.port),
            "CLINIC_SMTP_SECURITY": "none",
            "CLINIC_EMAIL_FROM": "assistant@clinic.example",
            "CLINIC_EMAIL_TO": "desk@clinic.example",
            "CLINIC_DELIVERY_MAX_ATTEMPTS": "2",
            "CLINIC_DELIVERY_BACKOFF_BASE_SECONDS": "0.2",
            "CLINIC_DELIVERY_BACKOFF_MAX_SECONDS": "0.5",
            "CLINIC_DELIVERY_POLL_SECONDS": "0.2",
        },
    )
    yield running
    running.stop()


@pytest.fixture(scope="module")
def staff(frontdesk: Assistant, tmp_path_factory) -> Iterator[StaffServer]:
    """The staff page over the assistant's own stores."""
    server = start_staff(
        tmp_path_factory.mktemp("staff"),
        {
            name: frontdesk.env[name]
            for name in ("CLINIC_OUTBOX_PATH", "CLINIC_UNANSWERED_PATH", "CLINIC_TRACKER_DB")
        },
    )
    yield server
    server.stop()


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"staff-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if os.environ.get("CLINIC_UPDATE_DOC_IMAGES") == "1":
        DOC_IMAGES.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOC_IMAGES / path.name)


def log_in(page: Page, staff: StaffServer, name: str = "Maria") -> None:
    page.goto(f"{staff.url}/login")
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Requests", exact=True)).to_be_visible()


def talk_to_a_person(base_url: str, name: str, contact: str) -> list:
    """A real conversation asking for a person; answers whatever the assistant asks."""
    sender = f"staff-{uuid.uuid4().hex}"
    said = []
    reply = _text(post_message(base_url, sender, "I want to talk to a person"))
    said.append(reply)
    for _ in range(6):
        lowered = reply.lower()
        if "reference" in lowered:
            return said
        if "name" in lowered:
            answer = name
        elif "reach you" in lowered or "email" in lowered:
            answer = contact
        elif "when" in lowered:
            answer = "tomorrow morning"
        elif "apply" in lowered:
            answer = "/deny"
        else:
            answer = "yes"
        reply = _text(post_message(base_url, sender, answer))
        said.append(reply)
    raise AssertionError(f"no reference given: {said}")


def _text(messages: list) -> str:
    return " ".join(message.get("text", "") for message in messages)


def wait_until(check: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {check}"
        time.sleep(0.2)


def test_the_front_desk_works_through_a_request_and_unanswered_questions(
    new_page: Any, frontdesk: Assistant, staff: StaffServer, mail: MailServer, dialogs: list
) -> None:
    page = new_page()  # the page's own Content-Security-Policy is enforced
    problems: list = []
    page.on(
        "console",
        lambda message: problems.append(message.text) if message.type == "error" else None,
    )
    page.goto(f"{staff.url}/requests")
    expect(page).to_have_url(f"{staff.url}/login")  # no page without a login
    screenshot(page, "login")
    log_in(page, staff)

    # A visitor asks for a person; the clinic's mail server refuses, so the request fails.
    talk_to_a_person(frontdesk.base_url, "Anna Smith", "anna.smith@example.com")
    outbox = Outbox(frontdesk.env["CLINIC_OUTBOX_PATH"])
    wait_until(lambda: any(r.state == FAILED for r in outbox.list()))
    request = [r for r in outbox.list() if r.state == FAILED][0]

    page.reload()
    card = page.locator("li.request", has_text="Anna Smith")
    expect(card).to_contain_text("Request to talk to a person")
    expect(card.locator(".badge.failed")).to_have_text("failed")
    expect(card).to_contain_text(REFUSAL)
    screenshot(page, "requests")
    card.get_by_role("link").click()
    expect(page.get_by_role("heading", name="Request to talk to a person")).to_be_visible()
    expect(page.locator("dl.details")).to_contain_text("anna.smith@example.com")
    expect(page.locator("ol.transcript")).to_contain_text("I want to talk to a person")
    screenshot(page, "request-failed")

    # The mail server works again: the front desk retries, and the e-mail arrives once.
    mail.refuse_with = None
    page.get_by_role("button", name="Retry sending").click()
    expect(page.locator(".notice")).to_contain_text("will be sent again")
    wait_until(lambda: stored(outbox, request.id).state == DELIVERED)
    page.reload()
    expect(page.locator(".badges .badge.delivered")).to_have_text("delivered")
    assert mail.message_ids == [f"<{request.id}@clinic.example>"]
    assert "Anna Smith" in mail.received[0].message["Subject"]

    # Handled: it leaves the list of open requests, with who and when.
    page.get_by_label("Handled by").fill("Maria at the desk")
    page.get_by_role("button", name="Mark handled").click()
    expect(page.locator(".notice")).to_contain_text("marked handled by Maria at the desk")
    expect(page.locator("li.request", has_text="Anna Smith")).to_have_count(0)
    page.get_by_role("link", name="All").click()
    expect(page.locator("li.request", has_text="Anna Smith")).to_contain_text(
        "handled by Maria at the desk"
    )
    screenshot(page, "request-handled-list")

    # Questions the assistant could not answer, grouped; one group marked handled.
    sender = f"staff-q-{uuid.uuid4().hex}"
    for question in ("how much does it cost?", "how much is the facial", "what's the price"):
        post_message(frontdesk.base_url, sender, question)
    page.get_by_role("link", name="Unanswered").click()
    groups = page.locator("li.group")
    expect(groups.first).to_be_visible()
    screenshot(page, "questions")
    first = groups.first.locator(".question").text_content()
    count_before = groups.count()
    groups.first.get_by_role("button", name="Mark handled").click()
    expect(page.locator(".notice")).to_contain_text("marked handled")
    expect(page.locator("li.group")).to_have_count(count_before - 1)
    expect(page.locator("li.group .question", has_text=first)).to_have_count(0)

    page.get_by_role("link", name="Figures").click()
    expect(page.locator("svg.chart").first).to_be_visible()
    expect(page.locator(".tile .big").first).not_to_have_text("0")
    screenshot(page, "figures")

    page.get_by_role("link", name="Content").click()
    expect(page.get_by_role("heading", name="Answers to re-read")).to_be_visible()
    expect(
        page.locator("section", has_text="make check").locator("p.ok, p.error").first
    ).to_be_visible(timeout=240_000)
    screenshot(page, "content")

    assert dialogs == [] and problems == []


def test_visitor_markup_in_a_request_shows_as_text(
    new_page: Any, frontdesk: Assistant, staff: StaffServer, dialogs: list
) -> None:
    outbox = Outbox(frontdesk.env["CLINIC_OUTBOX_PATH"])
    request = outbox.add(
        "handoff",
        {
            "name": MARKUP_NAME,
            "contact": "jane@example.com",
            "transcript": [{"sender": "user", "text": "<img src=x onerror=alert(2)>"}],
        },
    )
    page = new_page()
    log_in(page, staff, name="<i>Tom</i>")
    card = page.locator("li.request", has_text="Jane")
    expect(card.locator("dd").first).to_have_text(MARKUP_NAME)
    card.get_by_role("link").click()
    expect(page).to_have_url(f"{staff.url}/requests/{request.id}")
    expect(page.locator("dl.details dd").first).to_have_text(MARKUP_NAME)
    expect(page.locator("ol.transcript")).to_contain_text("<img src=x onerror=alert(2)>")
    expect(page.locator(".who")).to_have_text("<i>Tom</i>")
    assert page.locator("main b, main script, main img, header i").count() == 0
    page.wait_for_timeout(500)  # a broken image's onerror would have fired by now
    assert dialogs == []


def test_the_page_works_on_a_phone(new_page: Any, staff: StaffServer) -> None:
    page = new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    log_in(page, staff)
    page.get_by_role("link", name="All").click()
    expect(page.locator("li.request").first).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "nothing may stick out sideways on a phone"
    screenshot(page, "phone")

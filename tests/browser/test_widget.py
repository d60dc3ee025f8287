"""The chat widget in Debian's Chromium, against the assistant at ``assistant_url``.

Runs against the real Rasa + action servers (tests/conftest.py), or against the stub
(tests/browser/stub_server.py) with CLINIC_BROWSER_STUB=1.
"""

import contextlib
import re
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

PROJECT_DIR = Path(__file__).resolve().parents[2]
ARTIFACTS = PROJECT_DIR / "test-artifacts"
XSS = "<img src=x onerror=alert(1)>"
STORED_SENDER = "() => Object.entries(localStorage).find(([key]) => key.endsWith(':sender'))[1]"


def too_long_pattern() -> re.Pattern:
    """The polite limit text of data/content/messages.yml, any number for {limit}."""
    with open(PROJECT_DIR / "data" / "content" / "messages.yml", encoding="utf-8") as handle:
        template = yaml.safe_load(handle)["too_long"]
    return re.compile(re.escape(template).replace(re.escape("{limit}"), r"\d+"))


def open_chat(page: Page, url: str) -> None:
    page.goto(f"{url}/webhooks/website/")
    page.get_by_role("button", name="Open chat").click()
    expect(page.get_by_role("dialog")).to_be_visible()
    expect(page.get_by_role("textbox", name="Your message")).to_be_focused()


def ask(page: Page, text: str) -> None:
    """Send ``text`` and wait for the assistant's reply to it."""
    answers_before = page.locator(".cw-bot").count()
    page.get_by_role("textbox", name="Your message").fill(text)
    page.keyboard.press("Enter")
    expect(page.locator(".cw-user").last).to_have_text(f"You: {text}")
    expect(page.locator(".cw-bot")).not_to_have_count(answers_before)
    expect(page.locator(".cw-typing")).to_have_count(0)


def transcript(page: Page) -> list:
    return page.locator(".cw-msg").all_text_contents()


def test_conversation(page: Page, assistant_url: str, dialogs: list) -> None:
    open_chat(page, assistant_url)
    log = page.get_by_role("log")
    expect(log).to_have_attribute("aria-live", "polite")
    expect(page.locator(".cw-bot")).to_have_count(1)  # the greeting, shown locally

    ask(page, "what is microcurrent?")
    assert (page.locator(".cw-bot").last.text_content() or "").strip() != "Assistant:"

    quick = page.locator(".cw-quick-button").first
    expect(quick).to_be_visible()
    title = quick.text_content()
    answers_before = page.locator(".cw-bot").count()
    quick.click()
    expect(page.locator(".cw-user").last).to_have_text(f"You: {title}")
    expect(page.locator(".cw-bot")).not_to_have_count(answers_before)

    before = transcript(page)
    page.reload()
    expect(page.get_by_role("dialog")).to_be_visible()  # stays open across pages
    expect(page.locator(".cw-msg")).to_have_count(len(before))
    assert transcript(page) == before

    ask(page, XSS)
    expect(page.locator(".cw-user").last).to_have_text(f"You: {XSS}")
    assert log.locator("img").count() == 0
    page.wait_for_timeout(500)  # give a broken image's onerror time to fire
    assert dialogs == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "widget.png"))  # the conversation so far

    ask(page, "a" * 5000)
    expect(page.locator(".cw-bot").last).to_have_text(too_long_pattern())


def test_links_only_for_safe_protocols(page: Page, assistant_url: str) -> None:
    open_chat(page, assistant_url)
    text = (
        "See https://example.com/a. Or javascript:alert(1) or data:text/html,x"
        " or mailto:hello@example.com or tel:+12125550100."
    )
    page.evaluate(  # as if the assistant had said it, restored from storage
        """text => localStorage.setItem(
             Object.keys(localStorage).find(key => key.endsWith(':transcript')),
             JSON.stringify([{from: 'bot', text: text}]))""",
        text,
    )
    page.reload()
    links = page.get_by_role("log").locator("a")
    expect(links).to_have_count(3)
    hrefs = [links.nth(i).get_attribute("href") for i in range(3)]
    assert hrefs == ["https://example.com/a", "mailto:hello@example.com", "tel:+12125550100"]
    assert links.first.get_attribute("rel") == "noopener noreferrer"


def test_keyboard_and_new_conversation(page: Page, assistant_url: str) -> None:
    page.goto(f"{assistant_url}/webhooks/website/")
    launcher = page.get_by_role("button", name="Open chat")
    launcher.focus()
    page.keyboard.press("Enter")
    expect(launcher).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_role("textbox", name="Your message")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()
    expect(page.locator(".cw-launcher")).to_be_focused()

    page.keyboard.press("Enter")
    ask(page, "hello")
    sender = page.evaluate(STORED_SENDER)
    page.get_by_role("button", name="New conversation").click()
    expect(page.locator(".cw-msg")).to_have_count(1)  # only the greeting again
    new_sender = page.evaluate(STORED_SENDER)
    assert new_sender != sender


def test_retry_after_the_server_did_not_answer(page: Page, assistant_url: str) -> None:
    # The demo page with a 2 s timeout instead of 15 s, and the first message held back.
    def short_timeout(route) -> None:
        html = route.fetch().text().replace("data-title=", 'data-timeout="2" data-title=', 1)
        route.fulfill(body=html, content_type="text/html")

    page.route(re.compile(r".*/webhooks/website/$"), short_timeout)
    held = []
    page.route("**/webhooks/website/webhook", lambda route: held.append(route))
    open_chat(page, assistant_url)
    page.get_by_role("textbox", name="Your message").fill("hello")
    page.keyboard.press("Enter")
    expect(page.locator(".cw-typing")).to_be_visible()
    notice = page.locator(".cw-notice")
    expect(notice).to_contain_text("isn't answering", timeout=10_000)
    expect(page.locator(".cw-typing")).to_have_count(0)

    page.unroute("**/webhooks/website/webhook")
    for route in held:
        with contextlib.suppress(Exception):  # the widget may have given up on that request
            route.abort()
    answers_before = page.locator(".cw-bot").count()
    notice.get_by_role("button", name="Retry").click()
    expect(page.locator(".cw-bot")).not_to_have_count(answers_before)
    expect(notice).to_have_count(0)
    expect(page.locator(".cw-user")).to_have_count(1)  # the message is not shown twice


def test_phone_layout_is_full_screen(new_page, assistant_url: str) -> None:
    page = new_page(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    open_chat(page, assistant_url)
    box = page.get_by_role("dialog").bounding_box()
    assert (box["x"], box["y"], box["width"], box["height"]) == (0, 0, 375, 740)
    page.get_by_role("button", name="Close chat").click()
    expect(page.get_by_role("button", name="Open chat")).to_be_focused()


def test_demo_csp_is_not_violated(new_page, assistant_url: str) -> None:
    page = new_page()  # CSP enforced
    problems = []
    page.on(
        "console",
        lambda message: problems.append(message.text) if message.type == "error" else None,
    )
    page.on("pageerror", lambda error: problems.append(str(error)))
    open_chat(page, assistant_url)
    ask(page, "hello")
    assert problems == []

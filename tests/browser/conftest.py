"""Browser-test fixtures: Debian's Chromium (never downloaded) and a page per test.

The tests take ``assistant_url`` from tests/conftest.py (the real Rasa and action
servers). With CLINIC_BROWSER_STUB=1, and only then, ``assistant_url`` is the stub
server of tests/browser/stub_server.py instead (no trained model needed).
"""

import os
from pathlib import Path
from typing import Any, Callable, Iterator, List

import pytest

from tests.browser.stub_server import run_stub
from tests.servers import free_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STUB_ENV = "CLINIC_BROWSER_STUB"
MISSING_CHROMIUM = (
    f"{CHROMIUM} is missing: run `make system-deps` (apt-get install chromium chromium-driver)"
)


def pytest_collection_modifyitems(config, items) -> None:
    """Skip browser tests up front without Chromium, before any server is started."""
    if CHROMIUM.exists():
        return
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=MISSING_CHROMIUM))


@pytest.fixture(scope="session")
def stub_assistant_url() -> Iterator[str]:
    """Base URL of the stub assistant (the real website channel, a fake bot)."""
    yield from run_stub(free_port())


if os.environ.get(STUB_ENV) == "1":

    @pytest.fixture(scope="session")
    def assistant_url(stub_assistant_url: str) -> str:
        """The stub instead of the real assistant (CLINIC_BROWSER_STUB=1)."""
        return stub_assistant_url


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium from Debian; the tests are skipped when it is not installed."""
    if not CHROMIUM.exists():
        pytest.skip(MISSING_CHROMIUM)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


class DialogLog(List[str]):
    """Messages of every alert/confirm/prompt the page opened (dismissed at once)."""


@pytest.fixture
def dialogs() -> DialogLog:
    return DialogLog()


@pytest.fixture
def new_page(browser, dialogs: DialogLog) -> Iterator[Callable[..., Any]]:
    """Factory: a page in a fresh context (own storage = a new visitor), dialogs recorded.

    Keyword arguments go to ``browser.new_context`` (viewport, bypass_csp, ...).
    """
    contexts = []

    def make(**options: Any):
        context = browser.new_context(**{"viewport": {"width": 1280, "height": 800}, **options})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)

        def record(dialog) -> None:
            dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", record)
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    """A desktop page with the demo's CSP bypassed: "no script ran" must hold without it."""
    return new_page(bypass_csp=True)

"""Shared fixtures: the real content, trackers, dispatchers, and the running assistant."""

import json
import os
import urllib.request
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from clinic_content.store import domain_intents, load_content

# PostgreSQL for the storage tests: a throwaway cluster, and the sqlite/postgresql parametrization.
from tests.pg_fixture import postgres_server, storage_backend  # noqa: F401
from tests.servers import MODEL, start_assistant

PROJECT_DIR = Path(__file__).resolve().parent.parent


class RunningElsewhere:
    """An assistant started outside the tests (see the ``assistant`` fixture)."""

    def __init__(self, base_url: str, env: Dict[str, str]) -> None:
        self.base_url = base_url
        self.env = {
            "CLINIC_OUTBOX_PATH": str(PROJECT_DIR / "var" / "outbox.db"),
            "CLINIC_UNANSWERED_PATH": str(PROJECT_DIR / "var" / "unanswered.db"),
            **env,
        }
        self.workdir = Path(self.env.get("CLINIC_TEST_ASSISTANT_DIR", PROJECT_DIR / "var"))


@pytest.fixture(autouse=True)
def _trained_model_for_needs_model(request):
    """A test marked ``needs_model`` fails without the trained model: it never skips."""
    if request.node.get_closest_marker("needs_model") and not MODEL.exists():
        pytest.fail(
            f"no trained model: run `make model` ({MODEL.relative_to(PROJECT_DIR)} "
            "is missing; `make test` trains it first)"
        )


@pytest.fixture
def runtime_changes(monkeypatch):
    """Applies clinic_runtime's changes in this test process; undoes them after the test.

    ``runtime_changes()`` applies all of them; ``runtime_changes("event_types")`` only those
    named (the others skipped through CLINIC_RUNTIME_SKIP, as an A/B run does).
    """
    import clinic_runtime

    def apply(*names):
        if names:
            monkeypatch.setenv(
                "CLINIC_RUNTIME_SKIP",
                ",".join(name for name in clinic_runtime.CHANGES if name not in names),
            )
        return clinic_runtime.install()

    yield apply
    clinic_runtime.uninstall()


@pytest.fixture(scope="session")
def content():
    """The repository's real content, checked against the domain's intents."""
    return load_content(known_intents=domain_intents())


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    """Collects what an action says."""
    return CollectingDispatcher()


def make_tracker(
    text: str = "",
    intent: Optional[str] = None,
    confidence: float = 0.9,
    entities: Optional[List[Dict[str, Any]]] = None,
    slots: Optional[Dict[str, Any]] = None,
    ranking: Optional[List[Dict]] = None,
    active_loop: Optional[str] = None,
    events: Optional[List[Dict]] = None,
) -> Tracker:
    """A tracker whose latest message is ``text`` parsed as ``intent``."""
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "entities": entities or [],
        "intent_ranking": ranking or [],
    }
    return Tracker(
        "visitor",
        slots or {},
        latest,
        events or [],
        False,
        None,
        {"name": active_loop} if active_loop else {},
        "action_listen",
    )


@pytest.fixture
def tracker_for():
    """Factory for trackers (see ``make_tracker``)."""
    return make_tracker


@pytest.fixture(scope="session")
def assistant(tmp_path_factory):
    """The real action server and Rasa server, started as `make run` starts them.

    While developing, ``CLINIC_TEST_ASSISTANT_URL=http://127.0.0.1:5005`` runs the tests against
    an assistant that is already running (``make run``), with its data files named by the same
    variables it was started with (``CLINIC_OUTBOX_PATH``, ...); CI never sets it.
    """
    url = os.environ.get("CLINIC_TEST_ASSISTANT_URL")
    if url:
        yield RunningElsewhere(url.rstrip("/"), dict(os.environ))
        return
    if not MODEL.exists():
        pytest.fail("No trained model: run `make model` (make test does it first).")
    running = start_assistant(tmp_path_factory.mktemp("assistant"))
    yield running
    running.stop()


@pytest.fixture(scope="session")
def assistant_url(assistant) -> str:
    """Base URL of the running Rasa server."""
    return assistant.base_url


def post_message(
    base_url: str, sender: str, text: str, timeout: float = 30
) -> List[Dict[str, Any]]:
    """Send one visitor message over the website (REST) channel; return the bot's messages."""
    body = json.dumps({"sender": sender, "message": text}).encode()
    request = urllib.request.Request(
        f"{base_url}/webhooks/website/webhook",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())

"""The staff page over HTTP: the login, its protections, and what each page shows and does.

One staff server per module (``python -m clinic_staff`` on a free 127.0.0.1 port) over
temporary stores seeded here: requests in every state, unanswered questions, conversations.
"""

import re
import shutil
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import create_engine

from clinic_requests import unanswered
from clinic_requests.channel_log import ChannelLog
from clinic_requests.handled_requests import HandledRequests
from clinic_requests.outbox import FAILED, PENDING, Outbox
from clinic_staff.figures import events_table
from tests.staff_server import PASSWORD, StaffClient, StaffServer, split_cookie, start_staff
from tests.stored import stored

PROJECT_DIR = Path(__file__).resolve().parents[2]
MARKUP_NAME = "<b>Jane</b><script>alert(1)</script>"
PAGES = ["/", "/requests", "/requests?show=all", "/questions", "/content", "/figures"]


@pytest.fixture(scope="module")
def stores(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("staff")
    content = folder / "content"
    shutil.copytree(PROJECT_DIR / "data" / "content", content)
    paths = {
        "outbox": folder / "outbox.db",
        "unanswered": folder / "unanswered.db",
        "tracker": folder / "tracker.db",
        "content": content,
    }
    outbox = Outbox(paths["outbox"])
    booking = outbox.add(
        "booking",
        {
            "name": "Anna Smith",
            "contact": "anna@example.com",
            "service": "4-D Facial",
            "transcript": [
                {"sender": "user", "text": "I'd like to book"},
                {"sender": "bot", "text": "Which treatment?"},
            ],
        },
    )
    markup = outbox.add(
        "handoff",
        {
            "name": MARKUP_NAME,
            "contact": "<i>x</i>@example.com",
            "transcript": [{"sender": "user", "text": "<img src=x onerror=alert(2)>"}],
        },
    )
    failed = outbox.add(
        "consultation", {"name": "Sam", "contact": "+1 212 555 0100", "conditions": ["pregnancy"]}
    )
    outbox.claim(failed.id, "test", 60)
    outbox.mark_failed(failed.id, "SMTP 554 5.7.1 Message rejected")
    ChannelLog(outbox.url).record(
        failed.id, "email", delivered=False, note="SMTP 554 5.7.1 Message rejected"
    )
    for text, outcome, intent in [
        ("how much is it", "unknown", "ask_price"),
        ("how much does it cost?", "unknown", "ask_price"),
        ("price please", "unknown", "ask_price"),
        ("do you sell gift cards", "out_of_scope", None),
        ("blorp zzk", "fallback", "nlu_fallback"),
    ]:
        unanswered.record(text, outcome, intent, path=paths["unanswered"])
    engine = create_engine(f"sqlite:///{paths['tracker']}")
    events_table.metadata.create_all(engine)
    now = datetime.now(timezone.utc).timestamp()
    with engine.begin() as connection:
        for number, (sender, intent) in enumerate(
            [
                ("a", "ask_price"),
                ("a", "greet"),
                ("b", "ask_history+ask_price"),
                ("c", "ask_history"),
                ("c", "nlu_fallback"),
            ]
        ):
            connection.execute(
                events_table.insert().values(
                    sender_id=sender,
                    type_name="user",
                    timestamp=now - 60 * number,
                    intent_name=intent,
                )
            )
            connection.execute(
                events_table.insert().values(
                    sender_id=sender, type_name="bot", timestamp=now - 60 * number + 1
                )
            )
    engine.dispose()
    return {**paths, "booking": booking, "markup": markup, "failed": failed}


@pytest.fixture(scope="module")
def staff(stores: dict, tmp_path_factory) -> Iterator[StaffServer]:
    server = start_staff(
        tmp_path_factory.mktemp("staff-server"),
        {
            "CLINIC_OUTBOX_PATH": str(stores["outbox"]),
            "CLINIC_UNANSWERED_PATH": str(stores["unanswered"]),
            "CLINIC_TRACKER_DB": str(stores["tracker"]),
            "CLINIC_CONTENT_DIR": str(stores["content"]),
            "CLINIC_ENDPOINTS_PATH": str(PROJECT_DIR / "endpoints.yml"),
        },
    )
    yield server
    server.stop()


@pytest.fixture
def client(staff: StaffServer) -> StaffClient:
    """Logged in as Maria."""
    client = StaffClient(staff.url)
    assert client.login().status == 303
    return client


# --- the login and its protections --------------------------------------------------------


def test_every_page_needs_a_login(staff: StaffServer, stores: dict) -> None:
    anonymous = StaffClient(staff.url)
    for path in [*PAGES, f"/requests/{stores['booking'].id}"]:
        reply = anonymous.get(path)
        assert (reply.status, reply.headers.get("location")) == (303, "/login"), path
        assert "Anna" not in reply.body


def test_every_action_refuses_without_a_session_and_changes_nothing(
    staff: StaffServer, stores: dict
) -> None:
    outbox = Outbox(stores["outbox"])
    failed_id = stores["failed"].id
    before = outbox.counts()
    anonymous = StaffClient(staff.url)
    for path, form in _actions(stores, csrf="anything"):
        reply = anonymous.post(path, form)
        assert reply.status == 403, path
        assert "Not done" in reply.body
    assert outbox.counts() == before
    assert stored(outbox, failed_id).state == FAILED
    assert HandledRequests(outbox.url).marks() == {}


def test_a_forged_csrf_token_or_another_origin_is_refused(
    client: StaffClient, stores: dict
) -> None:
    good = client.csrf()
    for path, form in _actions(stores, csrf="forged-" + good):
        assert client.post(path, form).status == 403, path
    for path, form in _actions(stores, csrf=good):
        if path != "/logout":
            assert client.post(path, form, origin="http://evil.example").status == 403, path
            assert client.post(path, form, origin=None).status == 403, path  # no Origin/Referer
    assert stored(Outbox(stores["outbox"]), stores["failed"].id).state == FAILED
    assert client.get("/requests").status == 200  # still logged in


def test_login_cookie_is_http_only_and_same_site_strict(staff: StaffServer) -> None:
    client = StaffClient(staff.url)
    reply = client.login()
    assert reply.headers["location"] == "/requests"
    _, attributes = split_cookie(reply.cookies["clinic_staff_session"])
    assert "httponly" in attributes and attributes["samesite"] == "Strict"
    assert attributes["path"] == "/"


def test_wrong_passwords_are_rate_limited(stores: dict, tmp_path: Path) -> None:
    # A server of its own: the limit would lock the other tests' logins out (one address).
    staff = start_staff(tmp_path, {"CLINIC_OUTBOX_PATH": str(stores["outbox"])})
    client = StaffClient(staff.url)
    try:
        _five_wrong_then_the_right_one(client)
    finally:
        staff.stop()


def _five_wrong_then_the_right_one(client: StaffClient) -> None:
    statuses = [client.login(password="not-the-password").status for _ in range(5)]
    assert statuses == [401] * 5
    blocked = client.login()  # even the right password waits now
    assert blocked.status == 429 and "Too many wrong passwords" in blocked.body
    assert "clinic_staff_session" not in client.cookies


def test_a_login_form_from_elsewhere_is_refused(staff: StaffServer) -> None:
    client = StaffClient(staff.url)
    reply = client.post("/login", {"login_token": "made-up", "name": "x", "password": PASSWORD})
    assert reply.status == 403 and "clinic_staff_session" not in client.cookies


def test_pages_forbid_scripts_and_framing(client: StaffClient) -> None:
    for path in ["/login", "/requests", "/questions", "/figures"]:
        headers = client.get(path).headers
        assert "script-src" not in headers["content-security-policy"]
        assert "default-src 'none'" in headers["content-security-policy"]
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"


def test_logout_ends_the_session(staff: StaffServer) -> None:
    client = StaffClient(staff.url)
    client.login()
    token = client.cookies["clinic_staff_session"]
    assert client.post("/logout", {"csrf": client.csrf()}).status == 303
    client.cookies["clinic_staff_session"] = token  # an old cookie is worth nothing now
    assert client.get("/requests").status == 303


# --- what the pages show and do ----------------------------------------------------------


def test_requests_are_listed_newest_first_with_their_state(
    client: StaffClient, stores: dict
) -> None:
    body = client.get("/requests?show=all").body
    order = [body.index(f"/requests/{stores[key].id}") for key in ("failed", "markup", "booking")]
    assert order == sorted(order)
    assert re.search(r'badge failed">failed', body) and "Anna Smith" in body
    assert "SMTP 554 5.7.1 Message rejected" in body


def test_visitor_markup_is_shown_as_text(client: StaffClient, stores: dict) -> None:
    for path in ["/requests?show=all", f"/requests/{stores['markup'].id}"]:
        body = client.get(path).body
        assert "<script>alert(1)" not in body and "<b>Jane" not in body and "<img" not in body
        assert "&lt;b&gt;Jane&lt;/b&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_a_request_shows_details_channels_and_transcript(client: StaffClient, stores: dict) -> None:
    body = client.get(f"/requests/{stores['failed'].id}").body
    assert "Consultation request" in body and "Health conditions (categories)" in body
    assert "pregnancy" in body and "E-mail" in body and "Retry sending" in body
    booking = client.get(f"/requests/{stores['booking'].id}").body
    assert "I&#39;d like to book" in booking and "Which treatment?" in booking
    assert client.get("/requests/" + "0" * 32).status == 404
    assert client.get("/requests/../../etc").status in (303, 404)


def test_retrying_a_failed_request_puts_it_back_to_pending(
    client: StaffClient, stores: dict
) -> None:
    outbox = Outbox(stores["outbox"])
    failed_id = stores["failed"].id
    reply = client.post(f"/requests/{failed_id}/retry", {"csrf": client.csrf()})
    assert reply.status == 303
    retried = stored(outbox, failed_id)
    assert (retried.state, retried.attempts) == (PENDING, 0)
    assert "will be sent again" in client.get(f"/requests/{failed_id}").body


def test_marking_a_request_handled_records_who_and_when(client: StaffClient, stores: dict) -> None:
    booking_id = stores["booking"].id
    reply = client.post(
        f"/requests/{booking_id}/handled", {"csrf": client.csrf(), "who": "Maria at the desk"}
    )
    assert reply.status == 303
    mark = HandledRequests(Outbox(stores["outbox"]).url).marks([booking_id])[booking_id]
    assert mark.handled_by == "Maria at the desk"
    assert datetime.now(timezone.utc) - mark.handled_at < timedelta(minutes=5)
    assert f"/requests/{booking_id}" not in client.get("/requests").body  # open ones only
    assert "handled by Maria at the desk" in client.get("/requests?show=all").body
    client.post(f"/requests/{booking_id}/reopen", {"csrf": client.csrf()})
    assert f"/requests/{booking_id}" in client.get("/requests").body


def test_unanswered_questions_are_grouped_and_a_group_can_be_marked_handled(
    client: StaffClient, stores: dict
) -> None:
    body = client.get("/questions").body
    assert "3×" in body and "how much does it cost?" in body and "gift cards" in body
    found = re.search(r'name="ids" value="([^"]+)"', body)
    assert found is not None, "the page has no group to mark"
    ids = found.group(1)
    assert len(ids.split()) == 3
    assert (
        client.post("/questions/handled", {"csrf": client.csrf(), "ids": ids, "days": "30"}).status
        == 303
    )
    after = client.get("/questions").body
    assert "how much" not in after and "gift cards" in after
    assert "3 question(s) marked handled." in after


def test_figures_are_drawn_as_inline_svg(client: StaffClient) -> None:
    body = client.get("/figures?days=7").body
    assert body.count("<svg") == 4
    assert "3</span> conversations" in body
    assert "price: asked 2 times" in body and "history: asked 2 times" in body
    assert "1 of 5 messages not understood" in body


def test_the_content_page_shows_overdue_answers_and_the_check(
    client: StaffClient, stores: dict
) -> None:
    answers = stores["content"] / "answers.yml"
    answers.write_text(
        re.sub(
            r"review_by: \d{4}-\d{2}-\d{2}",
            "review_by: 2001-01-01",
            answers.read_text(encoding="utf-8"),
            count=1,
        ),
        encoding="utf-8",
    )
    email = stores["content"] / "email.yml"
    email.write_text(
        email.read_text(encoding="utf-8").replace("{reference})", "{ref})"), encoding="utf-8"
    )
    body = client.get("/content").body
    assert "2001-01-01" in body
    deadline = time.monotonic() + 240
    while "Checking the current files" in body and time.monotonic() < deadline:
        time.sleep(2)
        body = client.get("/content").body
    assert "unknown placeholder &#39;{ref}&#39;" in body
    assert "email.yml:18" in body


def _actions(stores: dict, csrf: str) -> list:
    request_id = stores["failed"].id
    return [
        (f"/requests/{request_id}/retry", {"csrf": csrf}),
        (f"/requests/{request_id}/handled", {"csrf": csrf, "who": "x"}),
        (f"/requests/{request_id}/reopen", {"csrf": csrf}),
        ("/questions/handled", {"csrf": csrf, "ids": "1 2 3"}),
        ("/content/check", {"csrf": csrf}),
        ("/logout", {"csrf": csrf}),
    ]

"""The e-mail channel's pieces without a server: settings, the staff-edited template, the
message."""

import re
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict

import pytest
import yaml

from clinic_content.email import (
    EMAIL_FILE,
    EmailTemplateError,
    EmailTemplateStore,
    load_email_template,
)
from clinic_requests.config import ConfigError, DeliverySettings, load_delivery_settings
from clinic_requests.email_message import build_email
from clinic_requests.email_settings import EmailSettings
from clinic_requests.outbox import OutboxRequest
from tests.content_edit import rename_key, replace_in, set_text

CONTENT_DIR = Path(__file__).resolve().parents[2] / "data" / "content"
SMTP = {
    "CLINIC_SMTP_HOST": "smtp.example.com",
    "CLINIC_EMAIL_FROM": "assistant@clinic.example",
    "CLINIC_EMAIL_TO": "desk@clinic.example, manager@clinic.example",
}
SETTINGS = EmailSettings(
    host="smtp.example.com",
    port=587,
    security="starttls",
    from_address="assistant@clinic.example",
    to_addresses=("desk@clinic.example",),
)


def request(kind: str = "booking", **payload: Any) -> OutboxRequest:
    moment = datetime(2026, 5, 14, 9, 31, tzinfo=timezone.utc)
    return OutboxRequest(
        id="3f2b8c1e9d4a4b7f8e6c5d4b3a291817",
        kind=kind,
        service=None,
        payload=payload,
        created_at=moment,
        state="pending",
        attempts=0,
        next_attempt_at=moment,
        last_error=None,
        claimed_until=None,
        delivered_at=None,
    )


def text_and_html(message) -> tuple:
    return (message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content())


# --- settings ---------------------------------------------------------------------------


def test_email_is_off_without_an_smtp_host(tmp_path: Path) -> None:
    assert load_delivery_settings(tmp_path / "none.yml", environ={}).email is None


def test_email_settings_from_the_environment_with_defaults(tmp_path: Path) -> None:
    settings = load_delivery_settings(
        tmp_path / "none.yml",
        environ={**SMTP, "CLINIC_SMTP_USERNAME": "desk", "CLINIC_SMTP_PASSWORD": "app password"},
    )
    email = settings.email
    assert email is not None
    assert (email.host, email.port, email.security) == ("smtp.example.com", 587, "starttls")
    assert email.to_addresses == ("desk@clinic.example", "manager@clinic.example")
    assert (email.username, email.password) == ("desk", "app password")
    assert "app password" not in repr(settings) and "app password" not in repr(email)
    assert settings.lease_seconds >= 4 * (settings.timeout_seconds + email.timeout_seconds)


def test_email_settings_from_endpoints_yml(tmp_path: Path) -> None:
    path = tmp_path / "endpoints.yml"
    path.write_text(
        "clinic_delivery:\n  smtp_host: mail.example.com\n  smtp_security: tls\n"
        "  email_from: assistant@clinic.example\n"
        "  email_to: [desk@clinic.example]\n",
        encoding="utf-8",
    )
    email = load_delivery_settings(path, environ={}).email
    assert email is not None
    assert (email.port, email.security, email.to_addresses) == (
        465,
        "tls",
        ("desk@clinic.example",),
    )


@pytest.mark.parametrize(
    "environ, message",
    [
        ({**SMTP, "CLINIC_SMTP_SECURITY": "ssl"}, "CLINIC_SMTP_SECURITY: expected one of"),
        ({**SMTP, "CLINIC_SMTP_PORT": "smtp"}, "CLINIC_SMTP_PORT: expected a port"),
        ({**SMTP, "CLINIC_EMAIL_TO": "desk at clinic"}, "CLINIC_EMAIL_TO: 'desk at clinic' is not"),
        (
            {"CLINIC_SMTP_HOST": "smtp.example.com", "CLINIC_EMAIL_TO": "a@b.example"},
            "needs email_from",
        ),
        ({"CLINIC_EMAIL_TO": "a@b.example"}, "smtp_host is not"),
        ({**SMTP, "CLINIC_SMTP_USERNAME": "desk"}, "needs the password in the environment"),
        ({**SMTP, "CLINIC_SMTP_PASSWORD": "x"}, "smtp_username is not"),
        (
            {
                **SMTP,
                "CLINIC_SMTP_SECURITY": "none",
                "CLINIC_SMTP_USERNAME": "desk",
                "CLINIC_SMTP_PASSWORD": "x",
            },
            "unencrypted",
        ),
    ],
)
def test_bad_email_settings_are_reported_with_their_source(
    tmp_path: Path, environ: Dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_delivery_settings(tmp_path / "none.yml", environ=environ)


def test_a_local_relay_may_take_a_password_without_tls(tmp_path: Path) -> None:
    settings = load_delivery_settings(
        tmp_path / "none.yml",
        environ={
            **SMTP,
            "CLINIC_SMTP_HOST": "127.0.0.1",
            "CLINIC_SMTP_SECURITY": "none",
            "CLINIC_SMTP_USERNAME": "desk",
            "CLINIC_SMTP_PASSWORD": "x",
        },
    )
    assert settings.email is not None and settings.email.port == 25


def test_default_settings_have_no_email() -> None:
    assert DeliverySettings().email is None


# --- the template (data/content/email.yml) -----------------------------------------------


@pytest.fixture
def content_copy(tmp_path: Path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, target)
    return target


def test_the_shipped_template_is_valid() -> None:
    template = load_email_template(CONTENT_DIR)
    shipped = yaml.safe_load((CONTENT_DIR / EMAIL_FILE).read_text(encoding="utf-8"))
    assert template.kind_label("handoff") == shipped["kinds"]["handoff"]  # the staff's label
    assert template.kind_label("brand_new_kind") == "Brand new kind"  # none: made from the name


def edit_text(change: Any) -> Any:
    """An edit of the whole file's text (for breaks of its layout, not of any wording)."""
    return lambda path: path.write_text(change(path.read_text(encoding="utf-8")), encoding="utf-8")


# Each mistake is made by key or by layout, never by the staff's wording.
@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda path: rename_key(path, ("subject",), "subjct"), "unknown key 'subjct'"),
        (
            lambda path: replace_in(path, ("subject",), "{reference}", "{referense}"),
            "unknown placeholder '{referense}'",
        ),
        (
            edit_text(lambda text: text.replace("kinds:\n", "kinds: Booking\nx:\n")),
            "'kinds' must be",
        ),
        (
            edit_text(lambda text: re.sub(r"^intro:\n", "intro: [\n", text, count=1, flags=re.M)),
            "found",
        ),
    ],
    ids=["key", "placeholder", "kinds", "yaml"],
)
def test_template_mistakes_are_reported_with_file_and_line(
    content_copy: Path, edit: Any, message: str
) -> None:
    path = content_copy / EMAIL_FILE
    edit(path)
    with pytest.raises(EmailTemplateError) as caught:
        load_email_template(content_copy)
    assert message in str(caught.value)
    assert all("email.yml" in problem for problem in caught.value.problems)


def test_the_store_keeps_the_last_correct_template_while_the_file_is_broken(
    content_copy: Path,
) -> None:
    store = EmailTemplateStore(content_copy)
    path = content_copy / EMAIL_FILE
    good = store.get()
    rename_key(path, ("subject",), "subjct")
    assert store.get() == good
    rename_key(path, ("subjct",), "subject")
    set_text(path, ("subject",), "{kind} [{reference}]")
    assert store.get().subject == "{kind} [{reference}]"


# --- the message -------------------------------------------------------------------------


def test_any_kind_and_any_field_is_shown_known_ones_with_their_labels() -> None:
    template = load_email_template(CONTENT_DIR)
    message = build_email(
        request(
            "a_new_kind",
            name="Anna",
            contact="+1 212 555 0100",
            reason="appointment_change",
            topic="reschedule",
            party_size=2,
            loyalty_card="no",
            conditions=["pregnancy", "new_thing"],
        ),
        template,
        SETTINGS,
        CONTENT_DIR,
    )
    text, html = text_and_html(message)
    assert message["Subject"].startswith(template.kind_label("a_new_kind"))
    assert "Anna" in message["Subject"] and "3f2b8c1e" in message["Subject"]
    lines = text.splitlines()
    reason = f"{template.field_label('reason')}: {template.reason_label('appointment_change')}"
    topic = f"{template.field_label('topic')}: reschedule"
    people = f"{template.field_label('party_size')}: 2"
    assert (
        lines.index(reason)
        < lines.index(topic)
        < lines.index(people)
        < lines.index("loyalty_card: no")
    )
    assert any(
        line.startswith(template.field_label("conditions")) and "new_thing" in line
        for line in lines
    )
    assert "Reply-To" not in message  # a phone number is no address to reply to
    assert "<th" in html and "loyalty_card" in html


def test_visitor_markup_is_text_in_the_html_part_and_headers_stay_one_line() -> None:
    message = build_email(
        request(
            name="<b>Jane</b>\r\nBcc: all@example.com <script>x</script>",
            contact="jane@example.com",
            transcript=[{"sender": "user", "text": "<img src=x onerror=y>"}],
        ),
        load_email_template(CONTENT_DIR),
        SETTINGS,
        CONTENT_DIR,
    )
    text, html = text_and_html(message)
    assert "\n" not in message["Subject"] and message["Bcc"] is None
    assert "<script>" not in html and "<img" not in html and "<b>Jane" not in html
    assert "&lt;img src=x onerror=y&gt;" in html
    template = load_email_template(CONTENT_DIR)
    assert f"{template.speaker('user')}: <img src=x onerror=y>" in text
    assert message["Reply-To"] == "jane@example.com"
    assert message["Message-ID"] == "<3f2b8c1e9d4a4b7f8e6c5d4b3a291817@clinic.example>"


def test_the_same_request_gives_the_same_message_every_time() -> None:
    template = load_email_template(CONTENT_DIR)
    first = build_email(request(name="Anna"), template, SETTINGS, CONTENT_DIR)
    again = build_email(request(name="Anna"), template, SETTINGS, CONTENT_DIR)
    assert (first["Message-ID"], first["Date"], text_and_html(first)) == (
        again["Message-ID"],
        again["Date"],
        text_and_html(again),
    )

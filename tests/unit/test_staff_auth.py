"""The staff page's login pieces: password hashing, sessions that expire, the login limit,
the settings (with a clock the tests move instead of waiting)."""

from pathlib import Path

import pytest

from clinic_staff.login_limit import LoginLimiter
from clinic_staff.passwords import PasswordError, hash_password, parse_password
from clinic_staff.security import same_origin
from clinic_staff.sessions import SessionStore, same_token
from clinic_staff.settings import StaffSettingsError, load_staff_settings, password_configured


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_password_is_kept_only_as_a_salted_hash() -> None:
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first.salt != second.salt and first.digest != second.digest
    assert first.matches("correct horse") and not first.matches("correct hors")
    assert "correct horse" not in first.line()
    again = parse_password(first.line())
    assert again.matches("correct horse") and again == first


def test_short_passwords_and_broken_hash_lines_are_refused() -> None:
    with pytest.raises(PasswordError, match="at least 10"):
        hash_password("short")
    with pytest.raises(PasswordError, match="malformed"):
        parse_password("pbkdf2_sha256$x$y")


def test_sessions_end_after_idle_time_and_after_the_maximum() -> None:
    clock = Clock()
    store = SessionStore(idle_seconds=60, max_seconds=300, clock=clock)
    session = store.create("Maria")
    for _ in range(5):  # used every 50 s: stays alive ...
        clock.now += 50
        assert store.get(session.token) is session
    clock.now += 51  # ... until the absolute maximum (300 s)
    assert store.get(session.token) is None
    idle = store.create("Tom")
    clock.now += 61
    assert store.get(idle.token) is None
    assert store.get(None) is None and store.get("made-up") is None


def test_each_session_has_its_own_csrf_token() -> None:
    store = SessionStore(60, 300)
    one, two = store.create("a"), store.create("b")
    assert one.csrf != two.csrf and one.token != two.token
    assert same_token(one.csrf, one.csrf) and not same_token(one.csrf, two.csrf)
    assert not same_token(one.csrf, None) and not same_token(None, None)


def test_the_login_limit_per_address_and_overall() -> None:
    clock = Clock()
    limiter = LoginLimiter(per_address=3, overall=5, window_seconds=100, clock=clock)
    for _ in range(3):
        assert limiter.wait_seconds("1.1.1.1") == 0
        limiter.failed("1.1.1.1")
    assert limiter.wait_seconds("1.1.1.1") == 100
    assert limiter.wait_seconds("2.2.2.2") == 0
    limiter.failed("2.2.2.2")
    limiter.failed("3.3.3.3")
    assert limiter.wait_seconds("4.4.4.4") == 100  # five failures from anywhere
    clock.now += 101
    assert limiter.wait_seconds("1.1.1.1") == 0 and limiter.wait_seconds("4.4.4.4") == 0
    limiter.failed("5.5.5.5")
    limiter.succeeded("5.5.5.5")
    assert limiter.wait_seconds("5.5.5.5") == 0


def test_same_origin_needs_the_page_own_origin() -> None:
    own = "http://127.0.0.1:5006"
    assert same_origin(own, None, own)
    assert same_origin(None, own + "/requests", own)
    assert not same_origin("http://evil.example", own + "/x", own)
    assert not same_origin("null", None, own)
    assert not same_origin(None, None, own)


def test_settings_need_a_password_from_env_or_file(tmp_path: Path) -> None:
    missing = {"CLINIC_STAFF_PASSWORD_FILE": str(tmp_path / "none")}
    assert not password_configured(missing)
    with pytest.raises(StaffSettingsError, match="no staff password"):
        load_staff_settings(missing)
    file = tmp_path / "staff-password"
    file.write_text(hash_password("from the file").line() + "\n")
    file.chmod(0o644)
    settings = load_staff_settings({"CLINIC_STAFF_PASSWORD_FILE": str(file)})
    assert settings.password.matches("from the file")
    assert (settings.host, settings.port) == ("127.0.0.1", 5006)
    assert "chmod 600" in (settings.warning or "")
    from_env = load_staff_settings(
        {"CLINIC_STAFF_PASSWORD": "from the environment", "CLINIC_STAFF_PASSWORD_FILE": str(file)}
    )
    assert from_env.password.matches("from the environment") and from_env.warning is None


@pytest.mark.parametrize(
    "environ, message",
    [
        ({"CLINIC_STAFF_PASSWORD": "short"}, "at least 10"),
        ({"CLINIC_STAFF_PASSWORD": "long enough pw", "CLINIC_STAFF_PORT": "web"}, "port"),
        (
            {"CLINIC_STAFF_PASSWORD": "long enough pw", "CLINIC_STAFF_ORIGIN": "staff.example"},
            "scheme://host",
        ),
        (
            {"CLINIC_STAFF_PASSWORD": "long enough pw", "CLINIC_STAFF_SESSION_MINUTES": "0"},
            "greater than 0",
        ),
    ],
)
def test_bad_staff_settings_are_named(environ: dict, message: str) -> None:
    with pytest.raises(StaffSettingsError, match=message):
        load_staff_settings(environ)

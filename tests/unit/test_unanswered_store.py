"""Tests for clinic_requests/unanswered.py on real SQLite files: what staff find in the store."""

from pathlib import Path

import pytest

from clinic_requests import database, unanswered


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "var" / "unanswered.db"


def texts(store: Path):
    return [row[2] for row in unanswered.entries(path=store)]


def test_a_recorded_question_is_stored_without_contact_details(store: Path) -> None:
    unanswered.record(
        "how much does it cost? mail me at anna@example.com", "unknown", "ask_price", path=store
    )

    [(_id, created_at, text, outcome, intent, handled)] = unanswered.entries(path=store)
    assert text == "how much does it cost? mail me at [email]"
    assert (outcome, intent, handled) == ("unknown", "ask_price", 0)
    assert created_at.endswith("+00:00")


def test_every_commit_is_synced(store: Path) -> None:
    unanswered.record("how much does it cost?", "unknown", "ask_price", path=store)

    engine = database.engine_for(unanswered._url(store))
    full = 2  # PRAGMA synchronous: 0 OFF, 1 NORMAL, 2 FULL
    with database.write(engine) as connection:
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == full
    with database.read(engine) as connection:
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == full


def test_a_deleted_file_is_created_again(store: Path) -> None:
    unanswered.record("is there parking?", "out_of_scope", None, path=store)
    store.unlink()

    unanswered.record("how much does it cost?", "unknown", "ask_price", path=store)

    assert texts(store) == ["how much does it cost?"]


def test_an_empty_file_put_in_its_place_gets_the_table(store: Path) -> None:
    unanswered.record("is there parking?", "out_of_scope", None, path=store)
    store.unlink()
    store.touch()  # may well get the deleted file's inode number

    unanswered.record("how much does it cost?", "unknown", "ask_price", path=store)

    assert texts(store) == ["how much does it cost?"]


def test_the_table_is_prepared_once_per_file(store: Path, monkeypatch) -> None:
    prepared = []
    create_schema = unanswered._create_schema

    def counted(engine):
        prepared.append(1)
        return create_schema(engine)

    monkeypatch.setattr(unanswered, "_create_schema", counted)

    for _ in range(3):
        unanswered.record("how much does it cost?", "unknown", "ask_price", path=store)
    assert len(prepared) == 1
    store.unlink()
    unanswered.record("how much does it cost?", "unknown", "ask_price", path=store)
    assert len(prepared) == 2
